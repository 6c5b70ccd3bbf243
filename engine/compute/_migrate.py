"""Moving one guest to another host: what keeps it where it is, and the job that moves it.

Used by host maintenance (:mod:`engine.compute.maintenance`). A guest moves
only if every disk it has is in a storage pool the destination reaches: its
root disk and its volumes must be in the cluster's *shared* pools, never in
the source host's local pool (which goes down with the host). The move is a
``compute.migrate`` job whose destination was chosen, and its capacity
claimed, by the drain that queued it:

* between two QEMU hosts the guest moves **live** (libvirt migration; a
  running guest keeps running, a paused one stays paused);
* otherwise it moves **cold**: stopped on the source (gracefully, then by
  force), defined on the destination from the database (the source of truth
  for what a guest is), started there if it was running, and undefined on
  the source. Its disks stay where they are.

The compute keeps its state (``running``, ``stopped``, ``paused``) throughout,
with a state message saying it is moving; its source host's capacity is
given back when the move is recorded. The handler is idempotent: re-run
after a crash, it finds the guest already on the destination and only
records that.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.service import AllocationService
from engine.compute._guest import check_power, guest_spec
from engine.compute._handler_base import (
    MESSAGE_LENGTH,
    load_compute,
    power_values,
)
from engine.compute.models import Compute
from engine.compute.state import change_state, emit_compute
from engine.drivers.specs import PowerState
from engine.errors import Conflict, DriverError, NotFound
from engine.inventory.models import Host, StoragePool
from engine.jobs.worker import JobContext
from engine.lifecycle import Kind, State
from engine.storage.models import StorageAttachment, Volume

#: The job that moves one guest.
MIGRATE = "compute.migrate"
#: States in which a guest can move (others wait for their job, or their owner).
MOVABLE = frozenset({State.RUNNING, State.STOPPED, State.PAUSED})
#: The message a moving compute shows (no host named: tenants never learn hosts).
MOVING = "moving to another host for host maintenance"
#: Seconds a guest is given to shut down cleanly before a cold move forces it off.
STOP_TIMEOUT = 60.0


def blocker(session: Session, compute: Compute, host: Host) -> str | None:
    """Why ``compute`` cannot leave ``host`` whatever the destination, or None.

    The reasons are for the operator (they name pools and volumes).
    """
    state = State(compute.state)
    if state is State.SUSPENDED:
        return "it is suspended (its saved memory is on the host): resume or stop it first"
    if state is State.ERROR:
        return "it is in error: its owner must force-stop or delete it first"
    if state not in MOVABLE:
        return f"it is {state.value} (a job is working on it): drain again once that is done"
    local = {
        pool.id: pool.name
        for pool in session.scalars(sa.select(StoragePool).where(StoragePool.host_id == host.id))
    }
    if compute.root_pool_id in local:
        return f"its root disk is on the host's local storage pool {local[compute.root_pool_id]}"
    volumes = session.execute(
        sa.select(Volume.name, Volume.pool_id)
        .join(StorageAttachment, StorageAttachment.volume_id == Volume.id)
        .where(
            StorageAttachment.compute_id == compute.id,
            StorageAttachment.state.in_(("attaching", "attached")),
        )
        .order_by(Volume.name)
    )
    for name, pool_id in volumes:
        if pool_id in local:
            return f"volume {name} is on the host's local storage pool {local[pool_id]}"
    return None


def disk_pools(session: Session, compute: Compute) -> list[str | None]:
    """The pools of the guest's root disk and attached volumes (for placement's reach)."""
    pools: list[str | None] = [compute.root_pool_id]
    pools += session.scalars(
        sa.select(Volume.pool_id)
        .join(StorageAttachment, StorageAttachment.volume_id == Volume.id)
        .where(StorageAttachment.compute_id == compute.id)
    )
    return pools


class MigrateHandler:
    """``compute.migrate``: move a guest to the destination its drain chose."""

    action = MIGRATE

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Move the guest (live or cold) and record it on its new host.

        :raises Conflict: the compute left its source or its movable states.
        :raises DriverError: a hypervisor step failed.
        """
        compute = load_compute(ctx)
        source, destination = _hosts(ctx)
        live = bool(ctx.job.parameters.get("live"))
        if compute.host_id == destination.id:
            return {"host_id": destination.id, "live": live, "already": True}
        if compute.host_id != source.id:
            raise Conflict(
                "the compute is no longer on the host being drained",
                subject=Kind.COMPUTE.value,
                reason="moved",
            )
        state = State(compute.state)
        if state not in MOVABLE:
            raise Conflict(
                f"the compute is {state.value}: it cannot move now",
                kind=Kind.COMPUTE.value,
                state=state.value,
            )
        src, dst = ctx.drivers(source.uri), ctx.drivers(destination.uri)
        guest = compute.guest_id  # what the hosts know the guest by
        on_source = guest in src.list_guests()
        if on_source:
            if guest in dst.list_guests():
                # A copy a failed cold move left behind; the source's is the real one.
                dst.destroy_guest(guest)
            if live and state in (State.RUNNING, State.PAUSED):
                src.migrate_live(guest, destination.uri)
            else:
                if src.guest_state(guest) is not PowerState.SHUTOFF:
                    src.stop(guest, force=False, timeout=STOP_TIMEOUT)
                    if src.guest_state(guest) is not PowerState.SHUTOFF:
                        src.stop(guest, force=True)
                dst.define_guest(guest_spec(ctx.session, compute, dst)[0])
                if state is State.RUNNING:
                    dst.start(guest)
                src.destroy_guest(guest)
        elif guest not in dst.list_guests():
            raise DriverError("the guest is on neither its host nor the destination")
        power = check_power(dst, guest, state)
        AllocationService(ctx.session).release_host(source.id, compute.vcpus, compute.memory_mib)
        change_state(
            ctx.session,
            compute,
            state,
            state,
            message=None,
            host_id=destination.id,
            last_host_id=destination.id,
            **power_values(power),
        )
        emit_compute(
            ctx.session,
            compute,
            "compute.migrated",
            previous_state=state.value,
            job_id=ctx.job.id,
            source_host_id=source.id,
            destination_host_id=destination.id,
            live=live and on_source and state is not State.STOPPED,
        )
        return {"host_id": destination.id, "live": live}

    def failed(self, ctx: JobContext, message: str) -> None:
        """Give the destination's claim back and say why the guest did not move."""
        compute = ctx.session.get(Compute, ctx.job.target_id, populate_existing=True)
        destination_id = str(ctx.job.parameters.get("destination", ""))
        if compute is None or compute.host_id == destination_id:
            return
        AllocationService(ctx.session).release_host(
            destination_id, compute.vcpus, compute.memory_mib
        )
        if compute.state_message == MOVING:
            compute.state_message = None
        ctx.session.flush()
        emit_compute(
            ctx.session,
            compute,
            f"{MIGRATE}.failed",
            previous_state=compute.state,
            job_id=ctx.job.id,
            message=message[:MESSAGE_LENGTH],
            destination_host_id=destination_id,
        )


def _hosts(ctx: JobContext) -> tuple[Host, Host]:
    hosts = []
    for key in ("source", "destination"):
        host = ctx.session.get(Host, str(ctx.job.parameters.get(key, "")))
        if host is None:
            raise NotFound(f"the {key} host no longer exists", subject="host")
        hosts.append(host)
    return hosts[0], hosts[1]


__all__ = ["MIGRATE", "MOVING", "MigrateHandler", "blocker", "disk_pools"]
