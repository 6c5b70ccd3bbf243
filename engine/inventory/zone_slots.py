"""Each host's number in its zone (``Host.zone_slot``): exactly ``0 .. host_count - 1`` per zone.

``random`` placement draws a number below the zone's stored host count and
reads the host holding it, a seek of the unique ``(zone_id, zone_slot)``
index (:mod:`engine.allocation.sql_placement`). For every host to be drawn
with the same chance, the numbers of a zone's hosts must be exactly
``0 .. host_count - 1`` at every commit: no gap (a draw that finds no host)
and none past the count (a host never drawn).

The numbers move with the count, in the same transaction and under the
same lock (:mod:`engine.inventory.host_counts` calls :func:`vacate` after
its ``UPDATE`` of the zone's count has locked the zone's row, in zone id
order, so two transactions changing one zone's hosts are serialised):

* a host joining a zone (added, or moved in) takes the first number past
  those the zone keeps: the count before it, read back from the database
  under the lock, never an ORM value that may be stale;
* a host leaving a zone (deleted, or moved out) gives its number to the
  zone's host holding the last number, which moves into it; its own is
  cleared first, so that no statement ever sees two hosts of a zone with
  one number.

:func:`broken_slots` finds the zones whose numbers are not ``0 .. n - 1``,
and :func:`renumber` numbers a zone's hosts again in (created, id) order;
the recount of :mod:`engine.inventory.host_counts` uses both.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.inventory.models import Host

#: Gives one host a number (executemany): ``{"host_id": ..., "slot": ...}``.
_SET_SLOT = (
    sa.update(Host)
    .where(Host.id == sa.bindparam("host_id"))
    .values(zone_slot=sa.bindparam("slot"))
    .execution_options(synchronize_session=False)
)


def vacate(session: Session, zone_id: str, before: int, leaving: Collection[str]) -> int:
    """Clear the numbers of the hosts leaving a zone and fill their gaps; return the next number.

    Called with the zone's row locked (its count moved) and before the
    flush writes any host row: the leaving hosts are still in the zone.
    The hosts holding the zone's last ``len(leaving)`` numbers that stay
    move into the gaps the leaving ones leave below them. Copies in the
    session of the hosts moved and of the leaving ones (cleared) get their
    numbers as committed (a host moved out is given its new zone's number
    by the caller).

    :param before: the zone's host count before this flush's changes.
    :param leaving: the ids of the hosts that leave it.
    :returns: how many hosts stay, the first number for hosts that join.
    """
    kept = before - len(leaving)
    if not leaving:
        return kept
    connection = session.connection()
    # Locking reads (the latest committed numbers, whatever the isolation),
    # each off an index: the leaving hosts by id, the last numbers by the
    # zone's (zone_id, zone_slot) range.
    leaving_slots = connection.scalars(
        sa.select(Host.zone_slot)
        .where(Host.id.in_(sorted(leaving)), Host.zone_id == zone_id)
        .with_for_update()
    ).all()
    holders = connection.execute(
        sa.select(Host.zone_slot, Host.id)
        .where(Host.zone_id == zone_id, Host.zone_slot >= kept)
        .order_by(Host.zone_slot)
        .with_for_update()
    ).all()
    gaps = sorted(slot for slot in leaving_slots if slot is not None and slot < kept)
    last = [(slot, host) for slot, host in holders if host not in leaving]
    connection.execute(
        sa.update(Host)
        .where(Host.id.in_(sorted(leaving)))
        .values(zone_slot=None)
        .execution_options(synchronize_session=False)
    )
    for host in leaving:
        _set_loaded(session, host, None)
    moves = [(host, gap) for gap, (_slot, host) in zip(gaps, last, strict=False)]
    if moves:
        connection.execute(_SET_SLOT, [{"host_id": host, "slot": gap} for host, gap in moves])
        for host, gap in moves:
            _set_loaded(session, host, gap)
    return kept


def _set_loaded(session: Session, host_id: str, slot: int | None) -> None:
    """Give a copy of the host in the session the number the database now holds."""
    loaded = session.identity_map.get(sa.inspect(Host).identity_key_from_primary_key((host_id,)))
    if loaded is not None:
        set_committed_value(loaded, "zone_slot", slot)


def broken_slots(session: Session, zone_ids: Collection[str] | None = None) -> set[str]:
    """The zones whose hosts' numbers are not exactly ``0 .. n - 1`` (``n`` hosts counted).

    The unique index makes a zone's numbers distinct, so ``n`` numbers
    (none missing) from 0 to ``n - 1`` are exactly those.

    :param zone_ids: only these zones (default: every zone with hosts).
    """
    query = sa.select(
        Host.zone_id,
        sa.func.count(),
        sa.func.count(Host.zone_slot),
        sa.func.min(Host.zone_slot),
        sa.func.max(Host.zone_slot),
    ).where(Host.zone_id.is_not(None))
    if zone_ids is not None:
        query = query.where(Host.zone_id.in_(sorted(zone_ids)))
    return {
        str(zone_id)
        for zone_id, hosts, numbered, lowest, highest in session.execute(
            query.group_by(Host.zone_id)
        )
        if (numbered, lowest, highest) != (hosts, 0, hosts - 1)
    }


def renumber(session: Session, zone_ids: Sequence[str]) -> None:
    """Number the hosts of each zone ``0 .. n - 1`` again, in (created, id) order.

    The caller holds the zones' row locks (every writer of a zone's hosts
    takes it first), so the hosts read are all the zone has until commit.
    """
    connection = session.connection()
    for zone_id in zone_ids:
        hosts = connection.scalars(
            sa.select(Host.id)
            .where(Host.zone_id == zone_id)
            .order_by(Host.created, Host.id)
            .with_for_update()
        ).all()
        connection.execute(
            sa.update(Host)
            .where(Host.zone_id == zone_id)
            .values(zone_slot=None)
            .execution_options(synchronize_session=False)
        )
        if hosts:
            connection.execute(
                _SET_SLOT, [{"host_id": host, "slot": slot} for slot, host in enumerate(hosts)]
            )
        for slot, host in enumerate(hosts):
            _set_loaded(session, host, slot)


__all__ = ["broken_slots", "renumber", "vacate"]
