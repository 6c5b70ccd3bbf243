"""What an operator does with HA: fencing configuration, manual fences, status and history.

The ``concord host fence-config``, ``concord host fence``, ``concord ha
status``, ``concord ha history`` and ``concord ha resume`` commands call
these functions, as the system scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.drivers.fencing.registry import check_options
from engine.errors import Conflict, InvalidInput, NotFound
from engine.events.alerts import clear_alert
from engine.events.service import DomainEvent, emit
from engine.ha import queue
from engine.ha.fenced import DEFAULT_FENCER, mark_fenced
from engine.ha.models import (
    FenceConfig,
    HaHealth,
    HaHistory,
    HaItem,
    HaItemKind,
    HaStep,
    HostHealth,
)
from engine.ha.storm import storm_key
from engine.inventory.models import Cluster, Host, HostState, Pod, Zone
from engine.scope import Owner

_SYSTEM = Owner(None, None, None)


def _host(session: Session, name_or_id: str) -> Host:
    host = session.scalar(
        sa.select(Host).where(sa.or_(Host.name == name_or_id, Host.id == name_or_id))
    )
    if host is None:
        raise NotFound(f"no host {name_or_id!r}", subject="host", name=name_or_id)
    return host


def _zone_of(session: Session, host: Host) -> str:
    zone_id = session.scalar(
        sa.select(Pod.zone_id)
        .join(Cluster, Cluster.pod_id == Pod.id)
        .where(Cluster.id == host.cluster_id)
    )
    if zone_id is None:
        raise NotFound(f"host {host.name} is in no zone", subject="zone")
    return zone_id


def set_fence_config(
    session: Session, host_name: str, fencer: str, options: Mapping[str, str]
) -> FenceConfig:
    """Store how a host is fenced (replacing its previous configuration).

    :raises NotFound: no such host.
    :raises InvalidInput: an unknown fencer, an unknown option or a missing one.
    """
    host = _host(session, host_name)
    try:
        check_options(fencer, options)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="fence", reason="format") from None
    config = session.get(FenceConfig, host.id)
    if config is None:
        config = FenceConfig(host_id=host.id, fencer=fencer, options=dict(options))
        session.add(config)
    else:
        config.fencer, config.options = fencer, dict(options)
    session.flush()
    return config


def fence_config(session: Session, host_name: str) -> tuple[str, dict[str, str], bool]:
    """A host's fencer, its options, and whether they were configured (else the default)."""
    host = _host(session, host_name)
    config = session.get(FenceConfig, host.id)
    if config is None:
        return DEFAULT_FENCER, {}, False
    return config.fencer, dict(config.options), True


def open_item(session: Session, host_name: str, why: str) -> HaItem:
    """Declare a host down now (an operator's decision): it is fenced and recovered as usual.

    :raises Conflict: the host already has an open item.
    """
    host = _host(session, host_name)
    now = utcnow()
    health = session.get(HostHealth, host.id)
    item = HaItem(
        kind=HaItemKind.HOST,
        host_id=host.id,
        zone_id=_zone_of(session, host),
        step=HaStep.DETECTED,
        last_ok=health.last_ok if health else now,
        created=now,
    )
    if not queue.open_host_item(session, item):
        raise Conflict(
            f"host {host.name} is already being handled by HA",
            subject="host",
            name=host.name,
            reason="state",
        )
    host.state = HostState.DOWN
    if health is not None:
        health.state, health.since = HaHealth.DOWN, now
    queue.record(session, item, HaStep.DETECTED, why, now)
    emit(session, DomainEvent("host.down", "host", host.id, _SYSTEM, {"detail": why}))
    return item


def confirm_fenced(session: Session, host_name: str) -> HaItem:
    """An operator's word that a host is off: recover its guests now.

    For a host waiting for an operator (its fence unconfirmed, or held by the
    storm guard), or one HA has not declared down at all (the operator
    declares it and confirms at once). The operator must have made sure
    nothing of the host runs (power cut, BMC off): HA restarts its HA guests
    elsewhere at once.

    :raises Conflict: the host is already fenced (its guests are being or were recovered).
    """
    host = _host(session, host_name)
    item = session.scalar(sa.select(HaItem).where(HaItem.active_key == queue.host_key(host.id)))
    if item is None:
        item = open_item(session, host_name, "declared down by an operator")
    elif item.step in (HaStep.FENCED, HaStep.DONE):
        raise Conflict(
            f"host {host.name} is already fenced", subject="host", name=host.name, reason="state"
        )
    mark_fenced(session, item, "confirmed off by an operator")
    return item


def resume_zone(session: Session, zone_name: str) -> int:
    """Release a zone held by the storm guard: its held hosts are fenced and recovered.

    Clears the storm alert; returns how many held hosts were released.
    """
    zone = session.scalar(
        sa.select(Zone).where(sa.or_(Zone.name == zone_name, Zone.id == zone_name))
    )
    if zone is None:
        raise NotFound(f"no zone {zone_name!r}", subject="zone", name=zone_name)
    held = session.scalars(
        sa.select(HaItem).where(HaItem.zone_id == zone.id, HaItem.step == HaStep.HELD)
    ).all()
    for item in held:
        queue.record(session, item, HaStep.DETECTED, "released by an operator")
    clear_alert(session, key=storm_key(zone.id), message="released by an operator")
    return len(held)


@dataclass(frozen=True)
class HostStatus:
    """One host as ``concord ha status`` shows it."""

    name: str
    state: str
    health: str
    last_ok: dt.datetime | None
    fencer: str
    item_step: str | None
    message: str | None


def status(session: Session) -> list[HostStatus]:
    """Every host's inventory state, health, fencer and open HA item."""
    health = {h.host_id: h for h in session.scalars(sa.select(HostHealth))}
    fencers = {c.host_id: c.fencer for c in session.scalars(sa.select(FenceConfig))}
    items = {
        i.host_id: i
        for i in session.scalars(sa.select(HaItem).where(HaItem.active_key.is_not(None)))
    }
    rows = []
    for host in session.scalars(sa.select(Host).order_by(Host.name)):
        h, item = health.get(host.id), items.get(host.id)
        rows.append(
            HostStatus(
                name=host.name,
                state=host.state.value,
                health=h.state.value if h else "unknown",
                last_ok=h.last_ok if h else None,
                fencer=fencers.get(host.id, DEFAULT_FENCER),
                item_step=item.step.value if item else None,
                message=item.message if item else None,
            )
        )
    return rows


def host_names(session: Session) -> dict[str, str]:
    """Every host's name by id."""
    rows = session.execute(sa.select(Host.id, Host.name))
    return {host_id: name for host_id, name in rows}  # noqa: C416  (rows, not pairs, to mypy)


def history(
    session: Session, host_name: str | None = None, limit: int = 50
) -> list[tuple[HaItem, list[HaHistory]]]:
    """The most recent HA items, newest first, each with its steps (of one host if given)."""
    query = sa.select(HaItem)
    if host_name is not None:
        query = query.where(HaItem.host_id == _host(session, host_name).id)
    items = session.scalars(query.order_by(HaItem.created.desc(), HaItem.id).limit(limit)).all()
    return [(item, queue.history_of(session, item.id)) for item in items]


@dataclass(frozen=True)
class Timings:
    """Sums and counts of the HA timings, for ``/metrics``."""

    detection_sum: float
    detection_count: int
    recovery_sum: float
    recovery_count: int


def counts(session: Session) -> dict[tuple[str, str], int]:
    """HA items by (kind, step): bounded labels for ``/metrics``."""
    rows = session.execute(
        sa.select(HaItem.kind, HaItem.step, sa.func.count()).group_by(HaItem.kind, HaItem.step)
    )
    return {(kind.value, step.value): count for kind, step, count in rows}


def health_counts(session: Session) -> dict[str, int]:
    """Hosts by health."""
    rows = session.execute(sa.select(HostHealth.state, sa.func.count()).group_by(HostHealth.state))
    return {state.value: count for state, count in rows}


def timings(session: Session) -> Timings:
    """Detection (last answer to declared down) and recovery (declared down to done) times.

    Over every host item: detection for all of them, recovery for those done.
    """
    detection_sum = recovery_sum = 0.0
    detection_count = recovery_count = 0
    rows = session.execute(
        sa.select(HaItem.last_ok, HaItem.created, HaItem.finished, HaItem.step).where(
            HaItem.kind == HaItemKind.HOST
        )
    )
    for last_ok, created, finished, step in rows:
        if last_ok is not None:
            detection_sum += max((created - last_ok).total_seconds(), 0.0)
            detection_count += 1
        if step is HaStep.DONE and finished is not None:
            recovery_sum += max((finished - created).total_seconds(), 0.0)
            recovery_count += 1
    return Timings(detection_sum, detection_count, recovery_sum, recovery_count)


__all__ = [
    "HostStatus",
    "Timings",
    "confirm_fenced",
    "counts",
    "fence_config",
    "health_counts",
    "history",
    "host_names",
    "open_item",
    "resume_zone",
    "set_fence_config",
    "status",
    "timings",
]
