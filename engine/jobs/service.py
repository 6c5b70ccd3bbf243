"""The job queue: submit, observe, cancel, and (for workers) claim and finish jobs.

Claiming is safe with any number of workers in any number of processes: a
worker selects the oldest runnable job with ``FOR UPDATE SKIP LOCKED`` (on
MariaDB; SQLite serialises writers anyway) and then moves it to ``running``
with a conditional update, so a job is claimed at most once. Jobs on the
same target run one at a time, oldest first, as CloudStack's per-object
sync queues do (reference/engine.md §1.2).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from engine.db import Database, utcnow
from engine.errors import Conflict, InvalidInput, NotFound
from engine.jobs.models import Job, JobState
from engine.scope import Owner, Scope, subtree

#: How many times a job whose worker died is run again before it fails.
MAX_ATTEMPTS = 3
#: How many candidate jobs a worker tries to take when others win the race.
_CLAIM_ATTEMPTS = 5


class JobService:
    """Jobs as callers and workers see them.

    :param session: the unit of work.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- callers ---------------------------------------------------------------

    def submit(
        self,
        scope: Scope,
        action: str,
        target_type: str,
        target_id: str,
        owner: Owner,
        parameters: dict[str, Any] | None = None,
        parent_job_id: str | None = None,
    ) -> Job:
        """Queue a job in the caller's transaction; it becomes claimable when that commits.

        :param action: the handler's name, e.g. ``compute.start``.
        :param owner: the target's owner; the job is visible to whoever sees the target.
        """
        job = Job(
            action=action,
            target_type=target_type,
            target_id=target_id,
            state=JobState.QUEUED,
            parameters=parameters or {},
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id or scope.domain_id,
            user_id=scope.user_id,
            parent_job_id=parent_job_id,
        )
        self.session.add(job)
        self.session.flush()
        return job

    def get(self, scope: Scope, job_id: str) -> Job:
        """A job visible to the caller (another tenant's job is NotFound)."""
        job = self.session.scalar(sa.select(Job).where(Job.id == job_id, self._visible(scope)))
        if job is None:
            raise NotFound(f"no job {job_id!r}", subject="job", id=job_id)
        return job

    def list_jobs(
        self,
        scope: Scope,
        target_id: str | None = None,
        states: Collection[JobState] | None = None,
        limit: int = 1000,
    ) -> list[Job]:
        """Jobs visible to the caller, newest first."""
        query = sa.select(Job).where(self._visible(scope)).order_by(Job.created.desc())
        if target_id is not None:
            query = query.where(Job.target_id == target_id)
        if states:
            query = query.where(Job.state.in_(list(states)))
        return list(self.session.scalars(query.limit(limit)))

    def cancel(self, scope: Scope, job_id: str) -> Job:
        """Cancel a job that has not started yet.

        :raises Conflict: the job is already running or finished.
        """
        job = self.get(scope, job_id)
        result = self.session.execute(
            sa.update(Job)
            .where(Job.id == job.id, Job.state == JobState.QUEUED)
            .values(state=JobState.CANCELLED, finished=utcnow())
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise Conflict(
                f"job {job_id} is {job.state.value}; only queued jobs can be cancelled",
                subject="job",
                id=job_id,
                reason="state",
            )
        self.session.refresh(job)
        return job

    def _visible(self, scope: Scope) -> sa.ColumnElement[bool]:
        if scope.is_root_admin:
            return sa.true()
        if scope.is_admin:
            return Job.domain_id.in_(subtree(scope.domain_path))
        own = sa.and_(Job.account_id == scope.account_id, Job.project_id.is_(None))
        if scope.project_ids:
            return sa.or_(own, Job.project_id.in_(sorted(scope.project_ids)))
        return own

    # -- workers ---------------------------------------------------------------

    def claim(self, worker_id: str, actions: Collection[str] | None = None) -> Job | None:
        """Claim the oldest runnable job, or return None when there is none.

        The caller commits right after, so that the claim is visible to other
        workers before the (possibly long) work starts.
        """
        job_id = self.claim_id(worker_id, actions)
        return None if job_id is None else self.session.get(Job, job_id, populate_existing=True)

    def claim_id(self, worker_id: str, actions: Collection[str] | None = None) -> str | None:
        """:meth:`claim`, returning the job's id only (a worker loads the job
        in the transaction that runs it, so loading it here too is a wasted read)."""
        earlier = aliased(Job)
        blocked = sa.exists().where(
            earlier.target_id == Job.target_id,
            sa.or_(
                earlier.state == JobState.RUNNING,
                sa.and_(earlier.state == JobState.QUEUED, earlier.created < Job.created),
            ),
        )
        query = (
            sa.select(Job.id)
            .where(Job.state == JobState.QUEUED, ~blocked)
            .order_by(Job.created)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if actions is not None:
            query = query.where(Job.action.in_(list(actions)))
        for _ in range(_CLAIM_ATTEMPTS):
            job_id = self.session.scalar(query)
            if job_id is None:
                return None
            if self._take(job_id, worker_id):
                return str(job_id)
        # Lost every race: other workers are busy on the same jobs; the
        # caller polls again shortly.
        return None

    def _take(self, job_id: str, worker_id: str) -> bool:
        now = utcnow()
        result = self.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                claimed_by=worker_id,
                heartbeat=now,
                started=now,
                attempts=Job.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        # No row changed: another worker won the race.
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def beat(self, job_id: str, worker_id: str) -> bool:
        """Refresh a running job's heartbeat; False if the worker no longer owns it."""
        result = self.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.claimed_by == worker_id, Job.state == JobState.RUNNING)
            .values(heartbeat=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def still_held(self, job_id: str, worker_id: str, attempt: int) -> bool:
        """Whether ``worker_id`` still runs attempt number ``attempt`` of the job.

        A worker that stalled past the heartbeat limit may find its job
        requeued and claimed again by another worker, and must then not record
        an outcome over the other's. The check is a conditional write (the
        heartbeat) rather than a read: it sees the latest committed row under
        any isolation level and, when it holds, keeps the row locked (the
        SQLite database, a MariaDB row lock) until the caller commits the
        outcome, so no takeover can slip in between.
        """
        result = self.session.execute(
            sa.update(Job)
            .where(
                Job.id == job_id,
                Job.claimed_by == worker_id,
                Job.state == JobState.RUNNING,
                Job.attempts == attempt,
            )
            .values(heartbeat=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def set_progress(self, job: Job, progress: int) -> None:
        """Record a running job's progress, 0 to 100."""
        if not 0 <= progress <= 100:
            raise InvalidInput("progress is a percentage")
        job.progress = progress
        self.session.flush()

    def succeed_if_held(
        self, job: Job, worker_id: str, attempt: int, result: dict[str, Any] | None = None
    ) -> bool:
        """:meth:`succeed` if ``worker_id`` still runs attempt ``attempt`` (:meth:`still_held`).

        One conditional write both checks and records the outcome, so no
        takeover can slip in between; False (nothing written) when the job
        was taken over, and the caller rolls its work back.
        """
        self.session.flush()  # the handler's own changes first
        done = self.session.execute(
            sa.update(Job)
            .where(
                Job.id == job.id,
                Job.claimed_by == worker_id,
                Job.state == JobState.RUNNING,
                Job.attempts == attempt,
            )
            .values(state=JobState.SUCCESS, progress=100, result=result or {}, finished=utcnow())
            .execution_options(synchronize_session=False)
        )
        self.session.expire(job)  # the row changed under the ORM: read it again if asked
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def succeed(self, job: Job, result: dict[str, Any] | None = None) -> None:
        """Mark a job successful (in the same transaction as the work's effects)."""
        job.state = JobState.SUCCESS
        job.progress = 100
        job.result = result or {}
        job.finished = utcnow()
        self.session.flush()

    def fail(self, job: Job, message: str) -> None:
        """Mark a job failed with a message for its owner."""
        job.state = JobState.FAILED
        job.error = message[:1024]
        job.finished = utcnow()
        self.session.flush()

    def stale(self, older_than: dt.timedelta) -> list[Job]:
        """Running jobs whose worker stopped beating: it died or lost the database."""
        limit = utcnow() - older_than
        return list(
            self.session.scalars(
                sa.select(Job)
                .where(Job.state == JobState.RUNNING, Job.heartbeat < limit)
                .order_by(Job.created)
                .with_for_update(skip_locked=True)
            )
        )

    def requeue(self, job: Job) -> None:
        """Put a stale job back in the queue (its handler is idempotent)."""
        job.state = JobState.QUEUED
        job.claimed_by = None
        job.heartbeat = None
        self.session.flush()


def targets_with_pending_jobs(session: Session, target_ids: Collection[str]) -> set[str]:
    """Those of ``target_ids`` that a queued or running job works on (the job owns them)."""
    if not target_ids:
        return set()
    return set(
        session.scalars(
            sa.select(Job.target_id).where(
                Job.target_id.in_(list(target_ids)),
                Job.state.in_([JobState.QUEUED, JobState.RUNNING]),
            )
        )
    )


def wait_for(database: Database, job_id: str, timeout: float, poll: float = 0.05) -> JobState:
    """Wait until a job is final or ``timeout`` seconds pass; return its last state.

    For callers that want a synchronous answer; the HTTP renderings usually
    return at once with the job's location instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        with database.transaction() as session:
            state = session.scalar(sa.select(Job.state).where(Job.id == job_id))
        if state is None:
            raise NotFound(f"no job {job_id!r}", subject="job", id=job_id)
        if state.is_final or time.monotonic() >= deadline:
            return state
        time.sleep(poll)
