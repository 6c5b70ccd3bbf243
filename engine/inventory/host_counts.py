"""Each zone's host count (``Zone.host_count``), kept in the transaction that changes its hosts.

``random`` placement draws a host at a random offset of the zone's
``(zone, created, id)`` index (:mod:`engine.allocation.sql_placement`) and
needs the range it draws in. Counting the zone's hosts on every placement
walks an index (about 1.3 ms on SQLite and up to 6 ms on MariaDB at 10,000
hosts, bench/RESULTS.md); the count is stored on the zone's row instead and
read with the zone's policy, for nothing.

How it stays equal to a recount:

* A ``before_flush`` hook of every session moves the counts of the zones
  whose hosts the flush inserts (+1), deletes (-1) or moves to another zone
  (-1 and +1), so whatever writes hosts through the ORM (the inventory
  service's ``add_host`` and ``remove_host``, a test's rows) keeps them.
  Each zone's count moves by one relative ``UPDATE`` (``host_count =
  host_count + :delta``) on the flush's own connection: in the same
  transaction as the host rows, and exact under concurrency, since the
  database applies the change to the latest committed count under the
  row's lock (as the quota counters do, :mod:`engine.tenancy.quota_counters`),
  never a value read and written back in Python. Zones are updated in id
  order, before the host rows are written, in every transaction alike.
* Writers that bypass the ORM (``bench/allocation.py``'s bulk insert) go
  through :func:`insert_hosts`, which counts what it inserts the same way.
* :func:`host_count_drift` compares the stored counts with a recount (a
  check), and :func:`recount_zone_hosts` corrects them; the server recounts
  at start, after reconciliation (``concord.background``).

A host's zone is the one :mod:`engine.inventory.limits` stores on it, in its
own ``before_flush`` hook; this module imports that one first so that its
hook, registered after it, runs after it and sees the zone of a new or moved
host.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

# Registers limits' before_flush hook before this module's (listeners run in
# the order they were registered): a new or moved host's zone_id is set by it.
from engine.inventory import limits as _limits  # noqa: F401
from engine.inventory.models import Host, Zone

log = logging.getLogger(__name__)


def _deltas(session: Session) -> Counter[str]:
    """How many hosts each zone gains (or loses) in the session's pending flush."""
    deltas: Counter[str] = Counter()
    for obj in session.new:
        if isinstance(obj, Host) and obj.zone_id is not None:
            deltas[obj.zone_id] += 1
    for obj in session.deleted:
        if isinstance(obj, Host):
            # The row is still there: an expired zone_id loads from it.
            zone_id = sa.inspect(obj).attrs.zone_id.history.deleted or [obj.zone_id]
            if zone_id[0] is not None:
                deltas[zone_id[0]] -= 1
    for obj in session.dirty:
        if isinstance(obj, Host):
            # zone_id has active history: its old value is loaded before a change.
            history = sa.inspect(obj).attrs.zone_id.history
            if history.added or history.deleted:
                for before in history.deleted:
                    if before is not None:
                        deltas[before] -= 1
                for after in history.added:
                    if after is not None:
                        deltas[after] += 1
    return deltas


def _move(session: Session, deltas: Mapping[str, int]) -> None:
    """Add each zone's delta to its stored count, in zone id order, in the session's transaction.

    A zone inserted by the same flush (not yet a row) gets its count on the
    object; a persistent zone by a relative ``UPDATE``, after which a copy
    of it in the session reads its count again.
    """
    pending = {z.id: z for z in session.new if isinstance(z, Zone)}
    for zone_id in sorted(deltas):
        delta = deltas[zone_id]
        if not delta:
            continue
        zone = pending.get(zone_id)
        if zone is not None:
            zone.host_count = (zone.host_count or 0) + delta
            continue
        session.connection().execute(
            sa.update(Zone)
            .where(Zone.id == zone_id)
            .values(host_count=Zone.host_count + delta)
            .execution_options(synchronize_session=False)
        )
        _expire_count(session, zone_id)


def _expire_count(session: Session, zone_id: str) -> None:
    """Make a copy of the zone in the session read its count again (an UPDATE moved it)."""
    loaded = session.identity_map.get(sa.inspect(Zone).identity_key_from_primary_key((zone_id,)))
    if loaded is not None:
        session.expire(loaded, ["host_count"])


@event.listens_for(Session, "before_flush")
def _count_hosts(session: Session, _context: Any, _instances: Any) -> None:
    deltas = _deltas(session)
    if deltas:
        _move(session, deltas)


def insert_hosts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert host rows in bulk (one ``executemany``), counted in their zones' ``host_count``.

    For writers that bypass the ORM (``bench/``): each row is a ``hosts``
    row with its ``zone_id``, its limits already set (the ORM hook of
    :mod:`engine.inventory.limits` does not run either).

    :raises KeyError: a row has no ``zone_id``.
    """
    if not rows:
        return
    _move(session, Counter(str(row["zone_id"]) for row in rows))
    session.execute(sa.insert(Host), list(rows))


def _counted() -> sa.ScalarSelect[int]:
    """How many hosts the zone of the enclosing statement's row has, counted."""
    return (
        sa.select(sa.func.count())
        .select_from(Host)
        .where(Host.zone_id == Zone.id)
        .correlate(Zone)
        .scalar_subquery()
    )


def host_count_drift(
    session: Session, zone_ids: Collection[str] | None = None
) -> dict[str, tuple[int, int]]:
    """The zones whose stored host count differs from a recount: ``{zone: (stored, counted)}``.

    A read only (the check); empty when every count is right.

    :param zone_ids: only these zones (default: every zone).
    """
    counted = _counted()
    query = sa.select(Zone.id, Zone.host_count, counted).where(Zone.host_count != counted)
    if zone_ids is not None:
        query = query.where(Zone.id.in_(sorted(zone_ids)))
    return {
        zone_id: (int(stored), int(count))
        for zone_id, stored, count in session.execute(query.order_by(Zone.id))
    }


def recount_zone_hosts(
    session: Session, zone_ids: Collection[str] | None = None
) -> dict[str, tuple[int, int]]:
    """Set every drifted zone's host count to a recount; return the drift it corrected.

    The drifted zones' rows are locked first (in id order, as the flush hook
    takes them): a transaction that changes a zone's hosts moves its count
    first, so once the lock is held none is half done, and the ``UPDATE``
    that follows counts every host committed (it is a statement of its own,
    so on MariaDB's READ COMMITTED it reads them all), never a number
    carried over from Python. The caller commits.

    :param zone_ids: only these zones (default: every zone).
    :returns: ``{zone: (stored, counted)}`` as the check found them.
    """
    drift = host_count_drift(session, zone_ids)
    if not drift:
        return drift
    session.execute(
        sa.select(Zone.id).where(Zone.id.in_(sorted(drift))).order_by(Zone.id).with_for_update()
    )
    session.execute(
        sa.update(Zone)
        .where(Zone.id.in_(sorted(drift)))
        .values(host_count=_counted())
        .execution_options(synchronize_session=False)
    )
    for zone_id, (stored, count) in drift.items():
        _expire_count(session, zone_id)
        log.warning("zone %s had a stored host count of %s, recounted %s", zone_id, stored, count)
    return drift


__all__ = ["host_count_drift", "insert_hosts", "recount_zone_hosts"]
