"""Restarting the HA guests of a fenced host elsewhere: placement and start jobs, in batches.

A fenced host's guest items (:mod:`engine.ha.recovery`) are worked on by
whoever holds the host's item, a whole batch at a time, so that a host of
100 guests costs a handful of transactions rather than several per guest:

:func:`place_guests` (``queued`` -> ``restarting``, or ``failed``)
    in one transaction, in priority order: each guest is placed through the
    allocation pipeline (:class:`~engine.allocation.service.AllocationService`,
    with ``for_ha`` so that HA-reserved hosts may take it, avoiding the
    failed host, next to its volumes), recorded ``stopped`` there and given a
    ``compute.start`` job; the failed host's capacity is given back in one
    statement. A guest that no host can take becomes ``error`` with the
    reason. The start jobs are claimed for this process in the same
    transaction (:func:`claim_jobs`), so that the job workers leave them to
    it; should this process die, they go stale and the job queue runs them
    (:meth:`engine.jobs.worker.Worker.recover`), or the next holder of the
    host's item claims them back.
:func:`follow_guest` (``restarting`` -> ``restarted`` or ``failed``)
    once the guest's start job ended: on success the guest's state message
    says it was restarted after its host failed; a failed start leaves it
    ``stopped`` with the job's error.

The jobs themselves are run by :mod:`engine.ha.starts`: the hypervisor work
in parallel, the records in one transaction.

Quota is untouched (the guest is the same guest); host capacity moves in the
transaction that moves the guest, so the counters always equal a recount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.service import AllocationService
from engine.compute.models import Compute
from engine.compute.restarts import existing_request
from engine.compute.service import ComputeService
from engine.compute.state import change_state, emit_compute
from engine.db import utcnow
from engine.errors import CapacityUnavailable, Conflict
from engine.ha import queue
from engine.ha.models import HaItem, HaStep
from engine.inventory.models import Host
from engine.jobs.models import Job, JobState
from engine.jobs.service import MAX_ATTEMPTS, targets_with_pending_jobs
from engine.lifecycle import Action, State
from engine.scope import Scope
from engine.tenancy.service import TenancyService

#: Recorded states of guests that were running when their host failed.
RESTARTABLE = frozenset({State.RUNNING, State.PAUSED})
#: The state message of a guest HA restarted.
RESTARTED_MESSAGE = "restarted on another host after its host failed"


@dataclass(frozen=True)
class StartJob:
    """A guest's start job, claimed by this process: what running it needs."""

    job_id: str
    attempt: int
    item_id: str
    compute_id: str


def guest_items(
    session: Session, host_item: HaItem, steps: Collection[HaStep], limit: int | None = None
) -> list[HaItem]:
    """The host item's guest items in ``steps``, highest priority first (the first ``limit``)."""
    query = (
        sa.select(HaItem)
        .where(HaItem.parent_id == host_item.id, HaItem.step.in_(list(steps)))
        .order_by(HaItem.priority.desc(), HaItem.created, HaItem.id)
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def place_guests(session: Session, host_item: HaItem, limit: int | None = None) -> int:
    """Place the queued guests of ``host_item`` and queue their starts; return how many were placed.

    The ``limit`` of highest priority (all by default). In the caller's
    transaction, which holds the host item's claim. A guest that a job still
    works on (its job fails on the dead host first) stays queued for the
    next pass.
    """
    items = guest_items(session, host_item, [HaStep.QUEUED], limit)
    if not items:
        return 0
    ids = [i.compute_id for i in items if i.compute_id]
    computes = {
        c.id: c
        for c in session.scalars(
            sa.select(Compute).where(Compute.id.in_(ids)).execution_options(populate_existing=True)
        )
    }
    busy = targets_with_pending_jobs(session, ids)
    root = Scope.system(TenancyService(session).root())
    allocation = AllocationService(session)
    freed_vcpus = freed_memory = placed = 0
    for item in items:
        compute = computes.get(item.compute_id or "")
        if compute is None or compute.state in (State.DELETED.value, State.DELETING.value):
            queue.record(session, item, HaStep.FAILED, "the compute was deleted")
            continue
        if compute.host_id != item.host_id:
            queue.record(session, item, HaStep.FAILED, "the compute left the failed host")
            continue
        if compute.id in busy:
            continue
        state = State(compute.state)
        if state not in RESTARTABLE:
            message = f"the compute is {state.value}; left as it is"
            queue.record(session, item, HaStep.FAILED, message)
            continue
        try:
            with session.begin_nested():
                new_host = allocation.place_compute(
                    existing_request(session, compute, frozenset({item.host_id}), for_ha=True)
                )
        except (CapacityUnavailable, Conflict) as exc:
            message = f"its host failed and no other host can take it: {exc.message}"
            change_state(session, compute, state, State.ERROR, message=message[:1024])
            emit_compute(session, compute, "compute.ha.failed", previous_state=state.value)
            queue.record(session, item, HaStep.FAILED, message)
            continue
        freed_vcpus += compute.vcpus
        freed_memory += compute.memory_mib
        change_state(
            session,
            compute,
            state,
            State.STOPPED,
            message="its host failed; restarting it on another host",
            host_id=new_host.id,
            power_state=None,
        )
        job = ComputeService(session).perform(root, compute.id, Action.START)
        emit_compute(
            session, compute, "compute.ha.restarting", previous_state=state.value, job_id=job.id
        )
        item.target_host_id = new_host.id
        item.job_id = job.id
        queue.record(
            session, item, HaStep.RESTARTING, f"placed on host {new_host.name}; start job {job.id}"
        )
        placed += 1
    if freed_vcpus or freed_memory:
        # One statement for the whole batch: the guests left the failed host together.
        allocation.release_host(host_item.host_id, freed_vcpus, freed_memory)
    return placed


def claim_jobs(
    session: Session, host_item: HaItem, worker_id: str, stale_after: dt.timedelta
) -> list[StartJob]:
    """Claim the start jobs of the host item's restarting guests for ``worker_id``.

    The jobs this process queued, those the job queue requeued, and those
    whose holder stopped beating for ``stale_after`` (a previous holder of
    the host's item that died); never one another live worker runs, nor one
    interrupted :data:`~engine.jobs.service.MAX_ATTEMPTS` times (the job
    queue fails it). One statement; in the caller's transaction.
    """
    items = {i.job_id: i for i in guest_items(session, host_item, [HaStep.RESTARTING]) if i.job_id}
    if not items:
        return []
    now = utcnow()
    session.execute(
        sa.update(Job)
        .where(
            Job.id.in_(list(items)),
            Job.attempts < MAX_ATTEMPTS,
            sa.or_(
                Job.state == JobState.QUEUED,
                sa.and_(Job.state == JobState.RUNNING, Job.heartbeat < now - stale_after),
            ),
        )
        .values(
            state=JobState.RUNNING,
            claimed_by=worker_id,
            heartbeat=now,
            started=now,
            attempts=Job.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        sa.select(Job.id, Job.attempts, Job.target_id).where(
            Job.id.in_(list(items)),
            Job.state == JobState.RUNNING,
            Job.claimed_by == worker_id,
        )
    ).all()
    order = {job_id: n for n, job_id in enumerate(items)}
    return sorted(
        (StartJob(job_id, attempts, items[job_id].id, target) for job_id, attempts, target in rows),
        key=lambda job: order[job.job_id],
    )


def follow_guests(session: Session, host_item: HaItem) -> None:
    """Record the outcome of every restarting guest whose start job ended (whoever ran it)."""
    for item in guest_items(session, host_item, [HaStep.RESTARTING]):
        follow_guest(session, item)


def follow_guest(session: Session, item: HaItem) -> None:
    """``restarting`` -> ``restarted`` or ``failed``, once the guest's start job has ended.

    In the caller's transaction, which holds the host item's claim.
    """
    job = session.get(Job, item.job_id) if item.job_id else None
    if job is not None and not job.state.is_final:
        return
    compute = session.get(Compute, item.compute_id)
    host = session.get(Host, item.target_host_id) if item.target_host_id else None
    where = host.name if host else "another host"
    if job is not None and job.state is JobState.SUCCESS and compute is not None:
        compute.state_message = RESTARTED_MESSAGE
        emit_compute(session, compute, "compute.ha.restarted", previous_state=State.STARTING.value)
        queue.record(session, item, HaStep.RESTARTED, f"running on host {where}")
        return
    why = job.error if job is not None else "its start job vanished"
    queue.record(session, item, HaStep.FAILED, f"the start on host {where} failed: {why}")


__all__ = [
    "RESTARTABLE",
    "RESTARTED_MESSAGE",
    "StartJob",
    "claim_jobs",
    "follow_guest",
    "follow_guests",
    "guest_items",
    "place_guests",
]
