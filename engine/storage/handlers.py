"""Job handlers of volumes and volume attachments: one per action, each idempotent.

A worker runs :meth:`run` in one transaction with the job's success: the
hypervisor step first, then the new state and its event, committed
together. If anything raises, that transaction rolls back and the worker
calls :meth:`failed` in a new one, which records where the lifecycle table
puts a failed job (:func:`engine.lifecycle.fail` from
``job.parameters['previous']``, or :func:`engine.lifecycle.fail_creation`),
the message in ``state_message``, gives back what the request reserved and
records a ``<kind>.<action>.failed`` event.

Idempotency (a job is run again when its worker died before committing):

* ``volume.create`` accepts a volume of the same name already in the pool
  with the requested size (growing it if an earlier attempt was cut short);
* ``volume.resize`` to the size the volume already has does nothing;
* ``volume.delete`` and ``storage_attachment.detach`` accept that the volume
  or disk is gone already;
* ``storage_attachment.attach`` accepts the disk already in the guest's
  definition with the volume's path.

A volume lives in its pool's host (a host-local pool) or in any up host of
its cluster (a shared pool); the driver of that host does the work.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.allocation.service import AllocationService
from engine.drivers.base import HypervisorDriver
from engine.errors import Conflict, DriverError, DriverUnavailable, EngineError, NotFound
from engine.inventory.models import Host, HostState, StoragePool
from engine.jobs.worker import HandlerRegistry, JobContext, JobHandler
from engine.lifecycle import Action, Kind, State
from engine.resources.state import MESSAGE_LENGTH, change_state
from engine.scope import Owner
from engine.storage.models import Volume
from engine.storage.state import emit_volume, gib, quota_amounts
from engine.tenancy.models import ResourceType
from engine.tenancy.quotas import QuotaService

log = logging.getLogger("engine.storage.handlers")


def pool_host(session: Session, pool: StoragePool) -> Host:
    """The host whose libvirt holds ``pool``: its own host, or an up host of its cluster.

    :raises DriverUnavailable: a shared pool whose cluster has no host up.
    """
    if pool.host_id is not None:
        host = session.get(Host, pool.host_id)
    else:
        host = session.scalar(
            sa.select(Host)
            .where(Host.cluster_id == pool.cluster_id, Host.state == HostState.UP)
            .order_by(Host.created, Host.id)
            .limit(1)
        )
    if host is None:
        raise DriverUnavailable("no host that reaches the volume's storage pool is up")
    return host


def load_volume(ctx: JobContext) -> Volume:
    """The job's volume, freshly read.

    :raises NotFound: it no longer exists.
    """
    volume = ctx.session.get(Volume, ctx.job.target_id, populate_existing=True)
    if volume is None:
        raise NotFound("the job's volume no longer exists", subject=Kind.VOLUME.value)
    return volume


def _pool_of(ctx: JobContext, volume: Volume) -> tuple[StoragePool, Host, HypervisorDriver]:
    pool = ctx.session.get(StoragePool, volume.pool_id) if volume.pool_id else None
    if pool is None or volume.volume_name is None:
        raise Conflict(
            "the volume is in no storage pool", subject=Kind.VOLUME.value, reason="not_placed"
        )
    host = pool_host(ctx.session, pool)
    return pool, host, ctx.drivers(host.uri)


def release_volume(session: Session, volume: Volume) -> dict[str, Any]:
    """Give back a volume's pool space and quota, once; return the column values to set."""
    if volume.quota_held:
        # Quota counters before capacity rows, as when charging (engine.tenancy.quotas).
        QuotaService(session).release(Owner.of(volume), quota_amounts(volume))
        if volume.pool_id is not None:
            AllocationService(session).release_pool(volume.pool_id, volume.size_bytes)
    return {"quota_held": False}


class CreateVolumeHandler:
    """``volume.create``: create the volume in its pool; it becomes ``available``."""

    action = "volume.create"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Create (or find) the pool volume, record its path."""
        volume = load_volume(ctx)
        if volume.state != State.CREATING:
            raise Conflict(
                f"the volume is {volume.state}, not being created",
                kind=Kind.VOLUME.value,
                state=volume.state,
                expected=[State.CREATING.value],
            )
        pool, host, driver = _pool_of(ctx, volume)
        name = volume.volume_name or ""
        existing = {v.name: v for v in driver.list_volumes(pool.pool_name)}.get(name)
        if existing is None:
            info = driver.create_volume(pool.pool_name, name, volume.size_bytes)
        elif existing.capacity_bytes < volume.size_bytes:
            info = driver.resize_volume(pool.pool_name, name, volume.size_bytes)
        elif existing.capacity_bytes == volume.size_bytes:
            info = existing  # an earlier attempt made it before its worker died
        else:
            raise Conflict(
                "a larger volume of the same name is already in the pool",
                subject=Kind.VOLUME.value,
                reason="unusable",
            )
        new = lifecycle.complete_creation(Kind.VOLUME, State.CREATING, started=True)
        change_state(ctx.session, volume, State.CREATING, new, path=info.path)
        emit_volume(
            ctx.session,
            volume,
            "volume.provisioned",
            previous_state="creating",
            job_id=ctx.job.id,
            path=info.path,
        )
        return {"state": new.value, "path": info.path, "pool_id": pool.id, "host_id": host.id}

    def failed(self, ctx: JobContext, message: str) -> None:
        """The volume goes to ``error``; the pool volume, space and quota are given back."""
        volume = ctx.session.get(Volume, ctx.job.target_id, populate_existing=True)
        if volume is None:
            return
        message = message[:MESSAGE_LENGTH]
        if volume.state != State.CREATING:
            volume.state_message = message
            ctx.session.flush()
            return
        try:
            pool, _host, driver = _pool_of(ctx, volume)
            driver.delete_volume(pool.pool_name, volume.volume_name or "")
        except EngineError:
            # Best effort: reconciliation reports a volume left behind.
            log.warning("could not remove the pool volume of failed volume %s", volume.id)
        values = release_volume(ctx.session, volume)
        new = lifecycle.fail_creation(Kind.VOLUME, State.CREATING)
        change_state(ctx.session, volume, State.CREATING, new, message=message, **values)
        emit_volume(
            ctx.session,
            volume,
            "volume.create.failed",
            previous_state="creating",
            job_id=ctx.job.id,
            message=message,
        )


class VolumeHandler:
    """What the volume action handlers share: their action and the failure path.

    :param verb: the lifecycle action the job carries out.
    """

    def __init__(self, verb: Action) -> None:
        self.verb = verb
        self.action = f"volume.{verb.value}"

    def run(self, ctx: JobContext) -> dict[str, Any] | None:
        """Carry the job out (see the subclasses)."""
        raise NotImplementedError

    def undo(self, ctx: JobContext, volume: Volume) -> None:
        """Give back what the request reserved for the job (nothing by default)."""

    def failed(self, ctx: JobContext, message: str) -> None:
        """Leave the volume where the lifecycle puts a failed job, with ``message``."""
        volume = ctx.session.get(Volume, ctx.job.target_id, populate_existing=True)
        if volume is None:
            return
        message = message[:MESSAGE_LENGTH]
        current = State(volume.state)
        try:
            previous = State(ctx.job.parameters["previous"])
            new = lifecycle.fail(Kind.VOLUME, current, self.verb, previous)
        except (EngineError, KeyError, ValueError):
            # The record moved on (reconciliation forced a state): keep it.
            volume.state_message = message
            ctx.session.flush()
            return
        self.undo(ctx, volume)
        change_state(ctx.session, volume, current, new, message=message)
        emit_volume(
            ctx.session,
            volume,
            f"volume.{self.verb.value}.failed",
            previous_state=current.value,
            job_id=ctx.job.id,
            message=message,
        )


class ResizeVolumeHandler(VolumeHandler):
    """``volume.resize``: grow the pool volume (attached or not) to the requested size."""

    def __init__(self) -> None:
        super().__init__(Action.RESIZE)

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Grow the volume, record its new size."""
        volume = load_volume(ctx)
        current = State(volume.state)
        target = lifecycle.complete(Kind.VOLUME, current, Action.RESIZE)
        size = int(ctx.job.parameters["size_bytes"])
        pool, _host, driver = _pool_of(ctx, volume)
        info = driver.resize_volume(pool.pool_name, volume.volume_name or "", size)
        if info.capacity_bytes < size:
            raise DriverError("the pool volume did not grow to the requested size")
        previous_size = volume.size_bytes
        change_state(ctx.session, volume, current, target, size_bytes=size, path=info.path)
        emit_volume(
            ctx.session,
            volume,
            "volume.resized",
            previous_state=ctx.job.parameters.get("previous"),
            job_id=ctx.job.id,
            previous_size_bytes=previous_size,
        )
        return {"state": target.value, "size_bytes": size}

    def undo(self, ctx: JobContext, volume: Volume) -> None:
        """Give back the quota and pool space the request charged for the growth."""
        size = int(ctx.job.parameters.get("size_bytes", volume.size_bytes))
        grown = size - volume.size_bytes
        if grown <= 0 or not volume.quota_held:
            return
        # Quota counters before capacity rows, as when charging (engine.tenancy.quotas).
        QuotaService(ctx.session).release(
            Owner.of(volume), {ResourceType.PRIMARY_STORAGE: gib(size) - gib(volume.size_bytes)}
        )
        if volume.pool_id is not None:
            AllocationService(ctx.session).release_pool(volume.pool_id, grown)


class AvailabilityHandler(VolumeHandler):
    """``volume.online`` and ``volume.offline`` (GFD.224 §3.3 Fig. 5).

    Offline is the engine's word only: nothing changes in the pool, but the
    volume cannot be attached. Online first checks that the pool volume is
    still there, so that a volume brought online is usable.
    """

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Check the pool volume (online) and record the new state."""
        volume = load_volume(ctx)
        current = State(volume.state)
        target = lifecycle.complete(Kind.VOLUME, current, self.verb)
        if self.verb is Action.ONLINE:
            pool, _host, driver = _pool_of(ctx, volume)
            if volume.volume_name not in {v.name for v in driver.list_volumes(pool.pool_name)}:
                raise DriverError("the volume is missing from its storage pool")
        change_state(ctx.session, volume, current, target)
        emit_volume(
            ctx.session,
            volume,
            f"volume.{self.verb.value}",
            previous_state=ctx.job.parameters.get("previous"),
            job_id=ctx.job.id,
        )
        return {"state": target.value}


class DeleteVolumeHandler(VolumeHandler):
    """``volume.delete``: remove the pool volume, give space and quota back, keep the row."""

    def __init__(self) -> None:
        super().__init__(Action.DELETE)

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Delete the pool volume (if its host is not fenced) and record ``deleted``."""
        volume = load_volume(ctx)
        current = State(volume.state)
        target = lifecycle.complete(Kind.VOLUME, current, Action.DELETE)
        removed = False
        pool = ctx.session.get(StoragePool, volume.pool_id) if volume.pool_id else None
        if pool is not None and volume.volume_name is not None:
            host = pool_host(ctx.session, pool)
            # A host confirmed down has lost its local volumes with it.
            if host.state is not HostState.DOWN:
                driver = ctx.drivers(host.uri)
                try:
                    removed = driver.delete_volume(pool.pool_name, volume.volume_name)
                except NotFound:
                    # A volume whose creation never completed (no path) may have
                    # no pool to be in either; one that was created must be found.
                    if volume.path is not None:
                        raise
        values = release_volume(ctx.session, volume)
        change_state(ctx.session, volume, current, target, **values)
        emit_volume(
            ctx.session,
            volume,
            "volume.deleted",
            previous_state=ctx.job.parameters.get("previous"),
            job_id=ctx.job.id,
        )
        return {"state": target.value, "pool_volume_removed": removed}


#: Every storage handler, one per job action.
HANDLERS: tuple[JobHandler, ...] = (
    CreateVolumeHandler(),
    ResizeVolumeHandler(),
    AvailabilityHandler(Action.ONLINE),
    AvailabilityHandler(Action.OFFLINE),
    DeleteVolumeHandler(),
)


def register(registry: HandlerRegistry) -> None:
    """Register every storage handler not yet in ``registry`` (safe to call twice)."""
    registry.register_missing(HANDLERS)


__all__ = [
    "HANDLERS",
    "AvailabilityHandler",
    "CreateVolumeHandler",
    "DeleteVolumeHandler",
    "ResizeVolumeHandler",
    "VolumeHandler",
    "load_volume",
    "pool_host",
    "register",
    "release_volume",
]
