"""Host maintenance: take no new guests on a host, and move its guests elsewhere.

:meth:`MaintenanceService.start` puts a host into ``maintenance`` (placement
considers only ``up`` hosts, so it takes no new guest from that moment) and
queues a ``host.drain`` job. The drain (:class:`DrainHandler`) looks at every
guest on the host: one that can move gets a destination through the
placement pipeline (the same filters and allocator as a new guest, the
drained host excluded, its capacity claimed there) and a ``compute.migrate``
job (:mod:`engine.compute._migrate`: live between QEMU hosts, else stop, move
the definition and start); one that cannot is *blocking*, with the reason
(a disk on the host's local pool, a suspended or errored guest, a busy one,
no room elsewhere). Blocking guests raise an alert naming them, cleared by a
drain that moves everything. Everything is a job, so a server restart
resumes the drain; draining again (``start`` on a host already in
maintenance) retries what was blocked.

:meth:`MaintenanceService.cancel` ends maintenance: the host is ``up`` again
and the moves not started yet are cancelled (their destinations' claims
given back); moves under way finish. :meth:`MaintenanceService.status`
reports what is left on the host and why.

This is CloudStack's PrepareForMaintenance (reference/engine.md §1.4: the HA
work queue's ``Migration`` items, reason ``HostMaintenance``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.requests import ComputeRequest
from engine.allocation.service import AllocationService
from engine.catalog.models import ComputeOffering
from engine.compute._migrate import MIGRATE, MOVING, MigrateHandler, blocker, disk_pools
from engine.compute.models import Compute
from engine.errors import CapacityUnavailable, Conflict, EngineError, NotFound
from engine.events.alerts import AlertSubject, clear_alert, raise_alert
from engine.events.service import DomainEvent, emit
from engine.inventory.models import Host, HostState
from engine.jobs.models import Job, JobState
from engine.jobs.service import JobService, targets_with_pending_jobs
from engine.jobs.worker import DriverFactory, JobContext
from engine.lifecycle import State
from engine.scope import Owner, Scope
from engine.tenancy.service import TenancyService

#: The job that drains a host.
DRAIN = "host.drain"
_PENDING = (JobState.QUEUED, JobState.RUNNING)
_SYSTEM = Owner(None, None, None)


@dataclass(frozen=True)
class Blocked:
    """A guest that keeps a host from being drained, and why."""

    compute_id: str
    name: str
    reason: str


@dataclass
class DrainStatus:
    """Where a host's drain stands.

    :param host: the host.
    :param job: its latest drain job, if any.
    :param moving: guests whose move is queued or under way.
    :param waiting: guests the queued or running drain job has not planned yet.
    :param blocked: guests that cannot move, with the reason.
    """

    host: Host
    job: Job | None
    moving: list[Compute] = field(default_factory=list)
    waiting: list[Compute] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)

    @property
    def drained(self) -> bool:
        """True when no guest is left on the host (the drain is complete)."""
        return not (self.moving or self.waiting or self.blocked)

    @property
    def running_job(self) -> Job | None:
        """The drain job while it is queued or running."""
        return self.job if self.job is not None and self.job.state in _PENDING else None


def _alert_key(host_id: str) -> str:
    return f"maintenance:host:{host_id}"


class MaintenanceService:
    """Put hosts into maintenance and take them out (root administrators only).

    :param session: the unit of work.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _host(self, scope: Scope, host_id: str) -> Host:
        scope.require_root_admin("only root administrators put hosts into maintenance")
        host = self.session.get(Host, host_id)
        if host is None:
            raise NotFound(f"no host {host_id!r}", subject="host", id=host_id)
        return host

    def start(self, scope: Scope, host_id: str) -> Job | None:
        """Put the host into maintenance and queue the drain of its guests.

        A host already in maintenance is drained again (to retry what was blocked).

        :returns: the drain job, or None when the host has no guest to move.
        :raises Conflict: the host is neither up nor in maintenance (a host that
            is down or unreachable is HA's, not maintenance's).
        """
        host = self._host(scope, host_id)
        if host.state not in (HostState.UP, HostState.MAINTENANCE):
            raise Conflict(
                f"host {host.name} is {host.state.value}; only an up host is drained",
                subject="host",
                name=host.name,
                reason="state",
            )
        if host.state is HostState.UP:
            host.state = HostState.MAINTENANCE
            self.session.flush()
            _host_event(self.session, scope, host, "host.maintenance", HostState.UP)
        if not _guests(self.session, host.id):
            clear_alert(self.session, key=_alert_key(host.id), message="no guest left")
            return None
        pending = self._drain_jobs(host.id, _PENDING)
        if pending:
            return pending[0]
        return JobService(self.session).submit(scope, DRAIN, "host", host.id, _SYSTEM)

    def cancel(self, scope: Scope, host_id: str) -> tuple[Host, int]:
        """End maintenance: the host is up again; moves not started are cancelled.

        :returns: the host and how many queued moves were cancelled.
        :raises Conflict: the host is not in maintenance.
        """
        host = self._host(scope, host_id)
        if host.state is not HostState.MAINTENANCE:
            raise Conflict(
                f"host {host.name} is not in maintenance",
                subject="host",
                name=host.name,
                reason="state",
            )
        jobs = JobService(self.session)
        cancelled = 0
        for job in self._drain_jobs(host.id, (JobState.QUEUED,)):
            jobs.cancel(scope, job.id)
        for job, compute in self.moves(host.id, (JobState.QUEUED,)):
            jobs.cancel(scope, job.id)
            AllocationService(self.session).release_host(
                str(job.parameters["destination"]), compute.vcpus, compute.memory_mib
            )
            if compute.state_message == MOVING:
                compute.state_message = None
            cancelled += 1
        host.state = HostState.UP
        self.session.flush()
        clear_alert(self.session, key=_alert_key(host.id), message="maintenance cancelled")
        _host_event(self.session, scope, host, "host.maintenance_cancelled", HostState.MAINTENANCE)
        return host, cancelled

    def status(self, scope: Scope, host_id: str) -> DrainStatus:
        """What is left on the host, what is moving and what blocks the drain."""
        host = self._host(scope, host_id)
        jobs = self._drain_jobs(host.id, None)
        status = DrainStatus(host, jobs[0] if jobs else None)
        moving = {compute.id for _job, compute in self.moves(host.id, _PENDING)}
        reported = {
            b["compute_id"]: b["reason"]
            for b in (status.job.result.get("blocked", []) if status.job else [])
        }
        for compute in _guests(self.session, host.id):
            if compute.id in moving:
                status.moving.append(compute)
                continue
            reason = blocker(self.session, compute, host) or reported.get(compute.id)
            if reason is None and status.running_job is not None:
                status.waiting.append(compute)
                continue
            status.blocked.append(
                Blocked(compute.id, compute.name, reason or "not moved yet: drain again")
            )
        return status

    def _drain_jobs(self, host_id: str, states: tuple[JobState, ...] | None) -> list[Job]:
        query = sa.select(Job).where(Job.action == DRAIN, Job.target_id == host_id)
        if states is not None:
            query = query.where(Job.state.in_(states))
        return list(self.session.scalars(query.order_by(Job.created.desc(), Job.id)))

    def moves(self, host_id: str, states: tuple[JobState, ...]) -> list[tuple[Job, Compute]]:
        """The moves off ``host_id`` in these states, with their computes."""
        rows = self.session.execute(
            sa.select(Job, Compute)
            .join(Compute, Compute.id == Job.target_id)
            .where(Job.action == MIGRATE, Job.state.in_(states))
        ).all()
        return [(job, compute) for job, compute in rows if job.parameters.get("source") == host_id]


def _guests(session: Session, host_id: str) -> list[Compute]:
    return list(
        session.scalars(
            sa.select(Compute)
            .where(Compute.host_id == host_id, Compute.state != State.DELETED.value)
            .order_by(Compute.created, Compute.id)
        )
    )


def _host_event(
    session: Session, scope: Scope | None, host: Host, event: str, previous: HostState
) -> None:
    payload = {"name": host.name, "state": host.state.value, "previous_state": previous.value}
    emit(session, DomainEvent(event, "host", host.id, _SYSTEM, payload), scope)


class DrainHandler:
    """``host.drain``: queue a move for every guest that can leave; name those that cannot."""

    action = DRAIN

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Plan the drain; the moves are ``compute.migrate`` jobs of their own.

        :raises Conflict: the host is no longer in maintenance (cancelled).
        """
        host = ctx.session.get(Host, ctx.job.target_id, populate_existing=True)
        if host is None:
            raise NotFound("the host no longer exists", subject="host")
        if host.state is not HostState.MAINTENANCE:
            raise Conflict(
                f"host {host.name} is {host.state.value}: maintenance was cancelled",
                subject="host",
                name=host.name,
                reason="state",
            )
        guests = _guests(ctx.session, host.id)
        busy = targets_with_pending_jobs(ctx.session, [c.id for c in guests])
        already = {
            compute.id for _job, compute in MaintenanceService(ctx.session).moves(host.id, _PENDING)
        }
        moving: list[str] = []
        blocked: list[Blocked] = []
        for compute in guests:
            if compute.id in already:
                moving.append(compute.id)  # queued by an earlier drain
                continue
            if compute.id in busy:
                reason: str | None = "a job is working on it: drain again once it is done"
            else:
                reason = blocker(ctx.session, compute, host)
            if reason is None:
                reason = _queue_move(ctx, host, compute, ctx.drivers)
            if reason is None:
                moving.append(compute.id)
            else:
                blocked.append(Blocked(compute.id, compute.name, reason))
        subject = AlertSubject("host", host.id)
        if blocked:
            names = ", ".join(f"{b.name} ({b.reason})" for b in blocked)
            raise_alert(
                ctx.session,
                key=_alert_key(host.id),
                source="maintenance",
                subject=subject,
                message=f"host {host.name} cannot be drained; blocked by {names}",
            )
        else:
            clear_alert(ctx.session, key=_alert_key(host.id), message="every guest can move")
        return {
            "moving": moving,
            "blocked": [
                {"compute_id": b.compute_id, "name": b.name, "reason": b.reason} for b in blocked
            ],
        }

    def failed(self, ctx: JobContext, message: str) -> None:
        """Nothing to undo: the moves queued so far are rolled back with the job."""


def _queue_move(
    ctx: JobContext, host: Host, compute: Compute, drivers: DriverFactory
) -> str | None:
    """Place the guest on another host and queue its move; return why not, or None."""
    allocation = AllocationService(ctx.session)
    offering = (
        ctx.session.get(ComputeOffering, compute.offering_id) if compute.offering_id else None
    )
    try:
        on_hosts, in_clusters = allocation.volume_reach(disk_pools(ctx.session, compute))
        request = ComputeRequest(
            zone_id=compute.zone_id,
            vcpus=compute.vcpus,
            memory_mib=compute.memory_mib,
            host_tags=frozenset(offering.host_tags.split()) if offering else frozenset(),
            avoid=frozenset({host.id}),
            on_hosts=on_hosts,
            in_clusters=in_clusters,
            allocator=offering.allocator if offering else None,
            account_id=compute.account_id,
            domain_id=compute.domain_id,
        )
        destination = allocation.place_compute(request)
    except CapacityUnavailable:
        return "no other host can take it (capacity, tags or storage reach)"
    except EngineError as exc:
        return exc.message
    live = drivers(host.uri).can_migrate_live(destination.uri)
    if compute.state == State.PAUSED and not live:
        allocation.release_host(destination.id, compute.vcpus, compute.memory_mib)
        return "it is paused and cannot move live to another host: resume or stop it first"
    compute.state_message = MOVING
    ctx.session.flush()
    JobService(ctx.session).submit(
        Scope.system(TenancyService(ctx.session).root()),
        MIGRATE,
        "compute",
        compute.id,
        Owner.of(compute),
        {"source": host.id, "destination": destination.id, "live": live},
        parent_job_id=ctx.job.id,
    )
    return None


HANDLERS = (DrainHandler(), MigrateHandler())

__all__ = [
    "DRAIN",
    "HANDLERS",
    "MIGRATE",
    "Blocked",
    "DrainHandler",
    "DrainStatus",
    "MaintenanceService",
]
