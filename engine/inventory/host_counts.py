"""Each zone's host count (``Zone.host_count``) and its hosts' numbers, kept in one transaction.

``random`` placement draws a number below the zone's count and reads the
host holding it (:mod:`engine.allocation.sql_placement`): it needs the
count, and every host of the zone numbered exactly ``0 .. count - 1``
(``Host.zone_slot``, :mod:`engine.inventory.zone_slots`). Counting the
zone's hosts on every placement walks an index (about 1.3 ms on SQLite and
up to 6 ms on MariaDB at 10,000 hosts, bench/RESULTS.md); the count is
stored on the zone's row instead and read with the zone's policy, for
nothing.

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
* Under that lock, the hosts' numbers move with the count
  (:func:`~engine.inventory.zone_slots.vacate`): a joining host takes the
  count before it, read back from the database; a leaving host's number
  goes to the host holding the zone's last one. A zone that only swaps
  hosts (one out, one in) is still "updated" by 0, for the lock.
* Writers that bypass the ORM (``bench/allocation.py``'s bulk insert) go
  through :func:`insert_hosts`, which counts and numbers what it inserts
  the same way.
* :func:`host_count_drift` compares the stored counts with a recount and
  checks the numbers (a check), and :func:`recount_zone_hosts` corrects
  them; the server recounts at start, after reconciliation
  (``concord.background``).

A host's zone is the one :mod:`engine.inventory.limits` stores on it, in its
own ``before_flush`` hook; this module imports that one first so that its
hook, registered after it, runs after it and sees the zone of a new or moved
host.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

# Registers limits' before_flush hook before this module's (listeners run in
# the order they were registered): a new or moved host's zone_id is set by it.
from engine.inventory import limits as _limits  # noqa: F401
from engine.inventory.models import Host, Zone
from engine.inventory.zone_slots import broken_slots, renumber, vacate

log = logging.getLogger(__name__)


class _Change:
    """The hosts that leave one zone and join it in a flush (or a bulk insert)."""

    def __init__(self) -> None:
        #: The ids of the hosts deleted or moved out.
        self.leaving: list[str] = []
        #: The hosts added or moved in: ORM objects, or ``insert_hosts``' rows.
        self.joining: list[Host | dict[str, Any]] = []


def _changes(session: Session) -> dict[str, _Change]:
    """Which hosts leave and join each zone in the session's pending flush."""
    changes: defaultdict[str, _Change] = defaultdict(_Change)
    for obj in session.new:
        if isinstance(obj, Host) and obj.zone_id is not None:
            changes[obj.zone_id].joining.append(obj)
    for obj in session.deleted:
        if isinstance(obj, Host):
            # The row is still there: an expired zone_id loads from it.
            zone_id = sa.inspect(obj).attrs.zone_id.history.deleted or [obj.zone_id]
            if zone_id[0] is not None:
                changes[zone_id[0]].leaving.append(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Host):
            # zone_id has active history: its old value is loaded before a change.
            history = sa.inspect(obj).attrs.zone_id.history
            if list(history.deleted) == list(history.added):
                continue
            for before in history.deleted:
                if before is not None:
                    changes[before].leaving.append(obj.id)
            for after in history.added:
                if after is not None:
                    changes[after].joining.append(obj)
    return dict(changes)


def _move(session: Session, changes: Mapping[str, _Change]) -> None:
    """Move each zone's count and its hosts' numbers, in zone id order, in one transaction.

    A zone inserted by the same flush (not yet a row) gets its count on the
    object; a persistent zone by a relative ``UPDATE`` (even by 0: it takes
    the row's lock, which serialises the numbering), after which its count
    is read back under that lock (the count before the flush is the one
    joining hosts number from) and a copy of it in the session reads it
    again. The joining hosts get their numbers last, once every zone has
    cleared its leaving hosts' (a host moved out of one zone and into
    another takes the new zone's number whichever zone comes first).
    """
    pending = {z.id: z for z in session.new if isinstance(z, Zone)}
    numbered: list[tuple[Host | dict[str, Any], int | None]] = []
    for zone_id in sorted(changes):
        change = changes[zone_id]
        delta = len(change.joining) - len(change.leaving)
        zone = pending.get(zone_id)
        if zone is not None:
            before: int | None = zone.host_count or 0
            zone.host_count = (zone.host_count or 0) + delta
        else:
            connection = session.connection()
            connection.execute(
                sa.update(Zone)
                .where(Zone.id == zone_id)
                .values(host_count=Zone.host_count + delta)
                .execution_options(synchronize_session=False)
            )
            after = connection.scalar(
                sa.select(Zone.host_count).where(Zone.id == zone_id).with_for_update()
            )
            before = None if after is None else after - delta
            _expire_count(session, zone_id)
        # No zone row (a host of a zone that does not exist): nothing to number.
        first = None if before is None else vacate(session, zone_id, before, change.leaving)
        numbered.extend(
            (host, None if first is None else first + offset)
            for offset, host in enumerate(change.joining)
        )
    for host, slot in numbered:
        if isinstance(host, dict):
            host["zone_slot"] = slot
            continue
        if sa.inspect(host).persistent:
            # Moved in: its number in the zone it left was cleared in the
            # database; recorded so, the new one is always written.
            set_committed_value(host, "zone_slot", None)
        host.zone_slot = slot


def _expire_count(session: Session, zone_id: str) -> None:
    """Make a copy of the zone in the session read its count again (an UPDATE moved it)."""
    loaded = session.identity_map.get(sa.inspect(Zone).identity_key_from_primary_key((zone_id,)))
    if loaded is not None:
        session.expire(loaded, ["host_count"])


@event.listens_for(Session, "before_flush")
def _count_hosts(session: Session, _context: Any, _instances: Any) -> None:
    changes = _changes(session)
    if changes:
        _move(session, changes)


def insert_hosts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert host rows in bulk (one ``executemany``), counted and numbered in their zones.

    For writers that bypass the ORM (``bench/``): each row is a ``hosts``
    row with its ``zone_id``, its limits already set (the ORM hook of
    :mod:`engine.inventory.limits` does not run either). Each row is given
    its ``zone_slot`` (copies: the rows passed are not changed).

    :raises KeyError: a row has no ``zone_id``.
    """
    if not rows:
        return
    copies = [dict(row) for row in rows]
    changes: defaultdict[str, _Change] = defaultdict(_Change)
    for row in copies:
        changes[str(row["zone_id"])].joining.append(row)
    _move(session, changes)
    session.execute(sa.insert(Host), copies)


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
    """The zones whose stored host count or hosts' numbers are wrong: ``{zone: (stored, counted)}``.

    A read only (the check); empty when every count is right and every
    zone's hosts are numbered exactly ``0 .. count - 1``. A zone whose count
    is right but whose numbers are not appears with equal numbers.

    :param zone_ids: only these zones (default: every zone).
    """
    counted = _counted()
    query = sa.select(Zone.id, Zone.host_count, counted).where(Zone.host_count != counted)
    if zone_ids is not None:
        query = query.where(Zone.id.in_(sorted(zone_ids)))
    drift = {
        zone_id: (int(stored), int(count)) for zone_id, stored, count in session.execute(query)
    }
    misnumbered = broken_slots(session, zone_ids) - drift.keys()
    if misnumbered:
        drift.update(
            (zone_id, (int(stored), int(stored)))
            for zone_id, stored in session.execute(
                sa.select(Zone.id, Zone.host_count).where(Zone.id.in_(sorted(misnumbered)))
            )
        )
    return dict(sorted(drift.items()))


def recount_zone_hosts(
    session: Session, zone_ids: Collection[str] | None = None
) -> dict[str, tuple[int, int]]:
    """Recount and renumber the hosts of every drifted zone; return the drift it corrected.

    The drifted zones' rows are locked first (in id order, as the flush hook
    takes them): a transaction that changes a zone's hosts moves its count
    first, so once the lock is held none is half done, and the ``UPDATE``
    that follows counts every host committed (it is a statement of its own,
    so on MariaDB's READ COMMITTED it reads them all), never a number
    carried over from Python. Their hosts are then numbered again, in
    (created, id) order (:func:`~engine.inventory.zone_slots.renumber`).
    The caller commits.

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
    renumber(session, sorted(drift))
    for zone_id, (stored, count) in drift.items():
        _expire_count(session, zone_id)
        if stored == count:
            log.warning("zone %s had hosts numbered out of 0..%s, renumbered", zone_id, count - 1)
        else:
            log.warning(
                "zone %s had a stored host count of %s, recounted %s", zone_id, stored, count
            )
    return drift


__all__ = ["host_count_drift", "insert_hosts", "recount_zone_hosts"]
