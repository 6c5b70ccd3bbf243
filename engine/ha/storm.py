"""The storm guard: when many hosts of a zone fail at once, stop and ask an operator.

One host failing is a host problem; a large share of a zone's hosts failing
within minutes is almost always something else (a switch, the storage, the
management network, Concord's own database link), and fencing them all would
turn a partial outage into a total one (CloudStack's
``kvm.ha.accepted.problematic.hosts.ratio``, reference/engine.md §1.4). So
when more than ``storm_share`` of a zone's hosts were declared down within
``storm_window`` seconds, the items of the zone's newly failed hosts are
*held*: nothing is fenced or restarted automatically, and the alert
``ha:storm:<zone id>`` says so. An operator then fences hosts one by one
(``concord host fence HOST --confirm``) or releases the zone
(``concord ha resume ZONE``), which clears the alert.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.ha.models import HaItem, HaItemKind
from engine.inventory.models import Zone


def zone_hosts(session: Session, zone_id: str) -> int:
    """How many hosts the zone has (in any state).

    The zone's stored count, kept in every transaction that adds, removes or
    moves a host (:mod:`engine.inventory.host_counts`): one row read, not a
    count of the zone's hosts each time a host goes down.
    """
    return int(session.scalar(sa.select(Zone.host_count).where(Zone.id == zone_id)) or 0)


def recent_failures(session: Session, zone_id: str, window: float, now: dt.datetime) -> int:
    """How many of the zone's hosts were declared down within the last ``window`` seconds."""
    return int(
        session.scalar(
            sa.select(sa.func.count(sa.distinct(HaItem.host_id))).where(
                HaItem.kind == HaItemKind.HOST,
                HaItem.zone_id == zone_id,
                HaItem.created >= now - dt.timedelta(seconds=window),
            )
        )
        or 0
    )


def in_storm(
    session: Session, zone_id: str, share: float, window: float, now: dt.datetime | None = None
) -> tuple[bool, int, int]:
    """Whether the zone is in a failure storm: (storm, failed hosts, hosts).

    Counts the host items opened in the window, the one just opened included.
    """
    now = now or utcnow()
    failed = recent_failures(session, zone_id, window, now)
    total = zone_hosts(session, zone_id)
    return (total > 0 and failed / total > share), failed, total


def storm_key(zone_id: str) -> str:
    """The alert key of a zone's storm."""
    return f"ha:storm:{zone_id}"


__all__ = ["in_storm", "recent_failures", "storm_key", "zone_hosts"]
