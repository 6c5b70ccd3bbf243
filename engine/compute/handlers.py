"""Job handlers of computes: one per action, each idempotent.

A worker runs :meth:`run` in one transaction with the job's success: the
hypervisor step first, then the compute's new state, its power state and its
event, all committed together. If anything raises, that transaction rolls
back and the worker calls :meth:`failed` in a new one, which records where
the lifecycle table says a failed job leaves the compute
(:func:`engine.lifecycle.fail`, from ``job.parameters['previous']``) and the
message.

Idempotency: a job is re-run when its worker died after the hypervisor
step but before the commit. Every step therefore looks at the guest's power
state first and does only what is missing (:mod:`engine.compute._guest`);
deletion tolerates a guest that is already gone; capture
(:mod:`engine.compute.capture`) reuses the copy an earlier attempt made.

Events: ``compute.provisioned`` (and ``compute.started``) when a creation
job succeeds, ``compute.<past tense>`` when an action's does
(``compute.stopped`` for stop and force_stop, with ``forced``),
``compute.<action>.failed`` / ``compute.create.failed`` when one fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from engine import lifecycle
from engine.compute._attachment_handlers import (
    AttachHandler,
    DetachHandler,
    complete_prepared_attachments,
    fail_prepared_attachments,
)
from engine.compute._guest import (
    SpecFactory,
    alert_name_clash,
    bring_down,
    bring_up,
    check_power,
    claim_guest,
    guest_is_own,
    guest_spec,
)
from engine.compute._handler_base import (
    MESSAGE_LENGTH,
    ComputeHandler,
    Step,
    load_compute,
    log,
    placed_host,
    power_values,
    release_resources,
    spec_factory,
)
from engine.compute._interface_handlers import (
    AttachInterfaceHandler,
    DetachInterfaceHandler,
    complete_prepared_interfaces,
    fail_prepared_interfaces,
)
from engine.compute._root_disk import provide_root_disk, remove_root_disk
from engine.compute.capture import CaptureHandler
from engine.compute.crash_restart import RestartInPlaceHandler
from engine.compute.maintenance import HANDLERS as MAINTENANCE_HANDLERS
from engine.compute.models import Compute
from engine.compute.state import (
    change_state,
    emit_compute,
)
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import PowerState
from engine.errors import Conflict
from engine.events.service import DomainEvent, emit
from engine.inventory.models import Host, HostState
from engine.jobs.worker import HandlerRegistry, JobContext, JobHandler
from engine.lifecycle import Action, Kind, State
from engine.network.models import NetworkInterface
from engine.scope import Owner
from engine.storage.models import StorageAttachment


class CreateHandler:
    """``compute.create``: define the guest on its host, start it if asked.

    Creation is not a lifecycle action: it ends with
    :func:`engine.lifecycle.complete_creation` or
    :func:`engine.lifecycle.fail_creation`.
    """

    action = "compute.create"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Define (and start) the guest; the compute becomes ``running`` or ``stopped``."""
        compute = load_compute(ctx)
        if compute.state != State.CREATING:
            raise Conflict(
                f"the compute is {compute.state}, not being created",
                kind=Kind.COMPUTE.value,
                state=compute.state,
                expected=[State.CREATING.value],
            )
        host = placed_host(ctx.session, compute)
        driver = ctx.drivers(host.uri)
        claim_guest(driver, compute)  # never adopt or replace a domain we did not define
        root = provide_root_disk(ctx.session, compute, host, driver)
        spec, notes = guest_spec(ctx.session, compute, driver)
        driver.ensure_defined(spec)
        started = bool(ctx.job.parameters.get("start", True))
        if started:
            bring_up(driver, compute.guest_id, lambda: spec)
        # The volumes and interfaces given with the compute were prepared
        # (state attaching) by the services; the guest now has them.
        complete_prepared_attachments(ctx.session, compute, ctx.job.id)
        complete_prepared_interfaces(ctx.session, compute, ctx.job.id)
        new = lifecycle.complete_creation(Kind.COMPUTE, State.CREATING, started=started)
        power = check_power(driver, compute.guest_id, new)
        change_state(ctx.session, compute, State.CREATING, new, **power_values(power))
        emit_compute(
            ctx.session,
            compute,
            "compute.provisioned",
            previous_state=State.CREATING.value,
            job_id=ctx.job.id,
            started=started,
            nics_skipped=notes.nics_skipped,
            root_pool_id=compute.root_pool_id,
            root_disk_bytes=compute.root_disk_bytes,
        )
        if started:
            emit_compute(
                ctx.session,
                compute,
                "compute.started",
                previous_state=State.CREATING.value,
                job_id=ctx.job.id,
            )
        return {
            "state": new.value,
            "power_state": power.value,
            "host_id": host.id,
            "root_disk": root.path if root is not None else None,
            "nics_skipped": notes.nics_skipped,
            "disks_skipped": list(notes.disks_skipped),
        }

    def failed(self, ctx: JobContext, message: str) -> None:
        """The compute goes to ``error``; its guest, capacity and quota are given back."""
        compute = ctx.session.get(Compute, ctx.job.target_id, populate_existing=True)
        if compute is None:
            return
        message = message[:MESSAGE_LENGTH]
        if compute.state != State.CREATING:
            compute.state_message = message
            ctx.session.flush()
            return
        host = ctx.session.get(Host, compute.host_id) if compute.host_id else None
        if host is not None:
            driver = ctx.drivers(host.uri)
            try:
                # Only a guest defined for this compute: a clash (GuestNameTaken)
                # leaves the other domain as it found it, and alerts the operator.
                if guest_is_own(driver, compute):
                    driver.destroy_guest(compute.guest_id)
                else:
                    alert_name_clash(ctx.session, host.id, driver, compute)
            except Exception:
                # Best effort: reconciliation reports a guest left behind.
                log.warning(
                    "could not remove the guest of failed compute %s", compute.id, exc_info=True
                )
            try:
                remove_root_disk(ctx.session, compute, driver)
            except Exception:
                # Best effort: reconciliation removes the copy of a compute in error.
                log.warning(
                    "could not remove the root disk of failed compute %s",
                    compute.id,
                    exc_info=True,
                )
        fail_prepared_attachments(ctx.session, compute, message, ctx.job.id)
        fail_prepared_interfaces(ctx.session, compute, message, ctx.job.id)
        values = release_resources(ctx.session, compute)
        new = lifecycle.fail_creation(Kind.COMPUTE, State.CREATING)
        change_state(ctx.session, compute, State.CREATING, new, message=message, **values)
        emit_compute(
            ctx.session,
            compute,
            "compute.create.failed",
            previous_state=State.CREATING.value,
            job_id=ctx.job.id,
            message=message,
        )


class PowerHandler(ComputeHandler):
    """Start, stop, force_stop, restart, pause, resume or suspend a guest.

    :param verb: the lifecycle action.
    :param event: the event recorded on success, ``compute.<past tense>``.
    :param step: the hypervisor step (must be idempotent).
    """

    def __init__(self, verb: Action, event: str, step: Step) -> None:
        super().__init__(verb)
        self.event = event
        self.step = step

    def act(self, ctx: JobContext, compute: Compute, driver: HypervisorDriver) -> None:
        """The hypervisor step of the job (a separate method so that tests can intercept it)."""
        self.step(
            driver, compute.guest_id, spec_factory(ctx.session, compute, driver), ctx.job.parameters
        )

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Do the step, check the guest's power state, record the new state."""
        compute = load_compute(ctx)
        current = State(compute.state)
        target = lifecycle.complete(Kind.COMPUTE, current, self.verb)
        host = placed_host(ctx.session, compute)
        driver = ctx.drivers(host.uri)
        self.act(ctx, compute, driver)
        power = check_power(driver, compute.guest_id, target)
        change_state(ctx.session, compute, current, target, **power_values(power))
        emit_compute(
            ctx.session,
            compute,
            self.event,
            previous_state=ctx.job.parameters.get("previous"),
            job_id=ctx.job.id,
            forced=self.verb is Action.FORCE_STOP,
        )
        return {"state": target.value, "power_state": power.value, "host_id": host.id}


def _start(driver: HypervisorDriver, guest: str, spec: SpecFactory, _p: Mapping[str, Any]) -> None:
    bring_up(driver, guest, spec)


def _stop(driver: HypervisorDriver, guest: str, spec: SpecFactory, p: Mapping[str, Any]) -> None:
    bring_down(driver, guest, spec, force=False, timeout=p.get("timeout"))


def _force_stop(
    driver: HypervisorDriver, guest: str, spec: SpecFactory, _p: Mapping[str, Any]
) -> None:
    bring_down(driver, guest, spec, force=True)


def _restart(
    driver: HypervisorDriver, guest: str, spec: SpecFactory, _p: Mapping[str, Any]
) -> None:
    # A re-run reboots once more: harmless, and better than not rebooting at all.
    if driver.guest_state(guest) in (PowerState.RUNNING, PowerState.BLOCKED):
        driver.restart(guest)
    else:
        bring_up(driver, guest, spec)


def _pause(driver: HypervisorDriver, guest: str, _s: SpecFactory, _p: Mapping[str, Any]) -> None:
    if driver.guest_state(guest) is not PowerState.PAUSED:
        driver.pause(guest)


def _suspend(driver: HypervisorDriver, guest: str, _s: SpecFactory, _p: Mapping[str, Any]) -> None:
    if driver.guest_state(guest) is not PowerState.SUSPENDED:
        driver.suspend(guest)


class DeleteHandler(ComputeHandler):
    """``compute.delete``: remove the guest, give everything back, keep the row ``deleted``."""

    def __init__(self) -> None:
        super().__init__(Action.DELETE)

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Destroy the guest, release capacity and quota, drop its links, record ``deleted``."""
        compute = load_compute(ctx)
        current = State(compute.state)
        target = lifecycle.complete(Kind.COMPUTE, current, Action.DELETE)
        # Only a placed compute has a guest to destroy. One that is placed
        # nowhere (its failed creation already tried to remove its guest) and
        # one on a host confirmed down (fenced) are deleted without asking a
        # hypervisor: if a leftover guest ever shows up, reconciliation
        # reports it as the guest of a deleted compute.
        host = ctx.session.get(Host, compute.host_id) if compute.host_id else None
        destroyed = False
        driver = None
        if host is not None and host.state is not HostState.DOWN:
            driver = ctx.drivers(host.uri)
            destroyed = driver.destroy_guest(compute.guest_id)
        # After the guest, which used it. On a host that is down the copy and
        # its claim stay; reconciliation removes them once the host answers.
        root_removed = remove_root_disk(ctx.session, compute, driver)
        values = release_resources(ctx.session, compute)
        links = self._drop_links(ctx, compute)
        change_state(
            ctx.session,
            compute,
            current,
            target,
            **values,
            **power_values(PowerState.ABSENT),
        )
        emit_compute(
            ctx.session,
            compute,
            "compute.deleted",
            previous_state=ctx.job.parameters.get("previous"),
            job_id=ctx.job.id,
            last_host_id=compute.last_host_id,
        )
        return {
            "state": target.value,
            "guest_destroyed": destroyed,
            "root_disk_removed": root_removed,
            "links_removed": links,
        }

    @staticmethod
    def _drop_links(ctx: JobContext, compute: Compute) -> int:
        # Links are deleted, not kept as 'deleted': their unique keys (a
        # volume attaches once; MACs and IPs are unique) must be free again.
        # Their volumes and networks stay; their owners delete those.
        attachments = ctx.session.scalars(
            sa.select(StorageAttachment).where(StorageAttachment.compute_id == compute.id)
        ).all()
        interfaces = ctx.session.scalars(
            sa.select(NetworkInterface).where(NetworkInterface.compute_id == compute.id)
        ).all()
        for attachment in attachments:
            _drop_link(
                ctx,
                compute,
                attachment,
                Kind.STORAGE_ATTACHMENT,
                volume_id=attachment.volume_id,
                device=attachment.device,
            )
        for nic in interfaces:
            _drop_link(
                ctx,
                compute,
                nic,
                Kind.NETWORK_INTERFACE,
                network_id=nic.network_id,
                mac=nic.mac,
                ip_address=nic.ip_address,
            )
        ctx.session.flush()
        return len(attachments) + len(interfaces)


def _drop_link(
    ctx: JobContext,
    compute: Compute,
    row: StorageAttachment | NetworkInterface,
    kind: Kind,
    **facts: Any,
) -> None:
    payload = {
        "compute_id": compute.id,
        "state": State.DELETED.value,
        "previous_state": row.state,
        **facts,
    }
    emit(
        ctx.session,
        DomainEvent(f"{kind.value}.deleted", kind.value, row.id, Owner.of(row), payload),
        job_id=ctx.job.id,
    )
    ctx.session.delete(row)


#: Every compute handler, one per job action.
HANDLERS: tuple[JobHandler, ...] = (
    CreateHandler(),
    PowerHandler(Action.START, "compute.started", _start),
    PowerHandler(Action.STOP, "compute.stopped", _stop),
    PowerHandler(Action.FORCE_STOP, "compute.stopped", _force_stop),
    PowerHandler(Action.RESTART, "compute.restarted", _restart),
    PowerHandler(Action.PAUSE, "compute.paused", _pause),
    PowerHandler(Action.RESUME, "compute.resumed", _start),
    PowerHandler(Action.SUSPEND, "compute.suspended", _suspend),
    CaptureHandler(),
    DeleteHandler(),
    # A crashed guest started again on its own host (engine.compute.crash_restart).
    RestartInPlaceHandler(),
    # A compute's links: attaching and detaching its volumes and interfaces.
    AttachHandler(),
    DetachHandler(),
    AttachInterfaceHandler(),
    DetachInterfaceHandler(),
    # Host maintenance: the drain, and the move of each guest (engine.compute.maintenance).
    *MAINTENANCE_HANDLERS,
)


def register(registry: HandlerRegistry) -> None:
    """Register every compute handler not yet in ``registry`` (safe to call twice)."""
    registry.register_missing(HANDLERS)


__all__ = [
    "HANDLERS",
    "CaptureHandler",
    "ComputeHandler",
    "CreateHandler",
    "DeleteHandler",
    "PowerHandler",
    "register",
]
