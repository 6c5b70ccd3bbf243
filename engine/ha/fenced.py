"""A fenced host: its fencer, and what happens to its guests once it is fenced.

:func:`mark_fenced` is the ``fencing -> fenced`` step of a host item
(:mod:`engine.ha.recovery`), also taken by an operator's
``concord host fence --confirm`` (:mod:`engine.ha.operator`): in the caller's
transaction, the host's HA guests get guest items, its running guests
without HA become ``error``, and its stopped HA guests are released.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.service import AllocationService
from engine.compute.models import Compute
from engine.compute.restarts import existing_request
from engine.compute.state import change_state, emit_compute
from engine.drivers.fencing.base import FenceTarget
from engine.errors import Conflict
from engine.events.alerts import clear_alert
from engine.events.service import DomainEvent, emit
from engine.ha import queue
from engine.ha.models import FenceConfig, HaHistory, HaItem, HaItemKind, HaStep
from engine.ha.restart import RESTARTABLE
from engine.inventory.models import Host
from engine.jobs.service import targets_with_pending_jobs
from engine.lifecycle import State
from engine.scope import Owner

#: The fencer of a host without a fencing configuration.
DEFAULT_FENCER = "libvirt"
LOST_MESSAGE = (
    "its host failed; the compute is not highly available, so it was not restarted "
    "elsewhere (force_stop and start it, or delete it)"
)
RELEASED_MESSAGE = (
    "its host failed while it was stopped; it will be placed on another host when it starts"
)
#: The owner of the events HA records itself (no tenant).
SYSTEM = Owner(None, None, None)


def fence_key(host_id: str) -> str:
    """The alert key of a host whose fence is unconfirmed."""
    return f"ha:fence:{host_id}"


def fence_target(session: Session, host: Host) -> tuple[str, FenceTarget]:
    """The fencer name and target of a host, from its fencing configuration."""
    config = session.get(FenceConfig, host.id)
    name = config.fencer if config else DEFAULT_FENCER
    options = {str(k): str(v) for k, v in (config.options if config else {}).items()}
    return name, FenceTarget(host.id, host.name, host.uri, options)


def fence_attempts(session: Session, item_id: str) -> int:
    """How many times the item's host was fenced so far (its ``fencing`` steps)."""
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(HaHistory)
            .where(HaHistory.item_id == item_id, HaHistory.step == HaStep.FENCING.value)
        )
        or 0
    )


def mark_fenced(session: Session, item: HaItem, how: str) -> tuple[int, int]:
    """Record ``item``'s host as fenced and hand out its guests, in the caller's transaction.

    HA guests that were meant to run get a guest item (in priority order);
    guests without HA that were running become ``error`` with
    :data:`LOST_MESSAGE`; stopped HA guests are released from the host
    (:func:`release_stopped`). Returns (guest items, guests in error).
    """
    queue.record(session, item, HaStep.FENCED, how)
    item.retry_at = None
    clear_alert(session, key=fence_key(item.host_id), message="the host is fenced")
    host = session.get(Host, item.host_id)
    emit(session, DomainEvent("host.fenced", "host", item.host_id, SYSTEM, {"detail": how}))
    computes = session.scalars(
        sa.select(Compute)
        .where(Compute.host_id == item.host_id, Compute.state != State.DELETED.value)
        .order_by(Compute.ha_priority.desc(), Compute.created, Compute.id)
    ).all()
    busy = targets_with_pending_jobs(session, [c.id for c in computes])
    queued = lost = released = 0
    for compute in computes:
        state = State(compute.state)
        if compute.ha_enabled and (state in RESTARTABLE or compute.id in busy):
            guest = HaItem(
                kind=HaItemKind.GUEST,
                host_id=item.host_id,
                zone_id=item.zone_id,
                compute_id=compute.id,
                parent_id=item.id,
                step=HaStep.QUEUED,
                priority=compute.ha_priority,
                last_ok=item.last_ok,
            )
            session.add(guest)
            session.flush()
            queue.record(
                session, guest, HaStep.QUEUED, f"its host {host.name if host else ''} is fenced"
            )
            queued += 1
        elif not compute.ha_enabled and state in RESTARTABLE and compute.id not in busy:
            change_state(session, compute, state, State.ERROR, message=LOST_MESSAGE)
            emit_compute(session, compute, "compute.ha.lost", previous_state=state.value)
            lost += 1
        elif compute.ha_enabled and state is State.STOPPED and compute.id not in busy:
            released += release_stopped(session, compute, item.host_id)
    queue.note(
        session,
        item,
        "guests",
        f"{queued} HA guest(s) to restart, {lost} guest(s) without HA in error, "
        f"{released} stopped HA guest(s) released from the host",
    )
    return queued, lost


def release_stopped(session: Session, compute: Compute, failed_host: str) -> int:
    """Take a stopped HA guest off its failed host (1), unless its disks keep it there (0).

    Its capacity there is given back and it is placed again when it next
    starts (:meth:`ComputeService.perform`), so it does not wait for a dead
    host. A guest whose root disk or a volume is in the failed host's local
    pool can run nowhere else: it stays.
    """
    try:
        reach = existing_request(session, compute)
    except Conflict:
        return 0
    if failed_host in reach.on_hosts:
        return 0
    AllocationService(session).release_host(failed_host, compute.vcpus, compute.memory_mib)
    change_state(
        session, compute, State.STOPPED, State.STOPPED, message=RELEASED_MESSAGE, host_id=None
    )
    emit_compute(session, compute, "compute.ha.released", previous_state=State.STOPPED.value)
    return 1


__all__ = [
    "DEFAULT_FENCER",
    "LOST_MESSAGE",
    "RELEASED_MESSAGE",
    "SYSTEM",
    "fence_attempts",
    "fence_key",
    "fence_target",
    "mark_fenced",
    "release_stopped",
]
