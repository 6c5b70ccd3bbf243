"""Job workers: claim jobs from the database and run their handlers.

A handler is registered per action (``compute.start``...). It runs in one
transaction with the job's success, so the resource's new state, its
events, its quota changes and the job's outcome commit together. Handlers
must be idempotent: a job whose worker died is run again by the next worker
(:meth:`Worker.recover`), which is how nothing is lost when a server is
killed mid-job.

``concord serve`` runs one worker thread (the embedded default); ``concord
worker`` runs them as separate processes, any number of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from engine.db import Database
from engine.drivers.base import HypervisorDriver
from engine.errors import EngineError
from engine.jobs.models import Job
from engine.jobs.service import MAX_ATTEMPTS, JobService
from engine.scope import Scope

log = logging.getLogger("engine.jobs.worker")

#: Builds (or reuses) the driver of a host from its libvirt URI.
DriverFactory = Callable[[str], HypervisorDriver]


@dataclass
class JobContext:
    """What a handler gets: the transaction, the job and the drivers.

    :param session: the transaction the handler's effects and the job's
        success commit in.
    :param job: the job being run.
    :param drivers: the driver factory.
    """

    session: Session
    job: Job
    drivers: DriverFactory

    def progress(self, percent: int) -> None:
        """Record the job's progress."""
        JobService(self.session).set_progress(self.job, percent)


class JobHandler(Protocol):
    """Carries out one kind of job."""

    action: str

    def run(self, ctx: JobContext) -> dict[str, Any] | None:
        """Do the work; return the job's result. Raise EngineError to fail the job."""

    def failed(self, ctx: JobContext, message: str) -> None:
        """Record the failure on the target (e.g. its state), in the failing transaction."""


class HandlerRegistry:
    """The handlers a worker can run, by action name."""

    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}

    def register(self, handler: JobHandler) -> JobHandler:
        """Add a handler; one per action."""
        if handler.action in self._handlers:
            raise ValueError(f"a handler for {handler.action!r} is already registered")
        self._handlers[handler.action] = handler
        return handler

    def register_missing(self, handlers: Iterable[JobHandler]) -> None:
        """Register each of ``handlers`` whose action has no handler yet (safe to call twice)."""
        for handler in handlers:
            if handler.action not in self._handlers:
                self.register(handler)

    def get(self, action: str) -> JobHandler | None:
        """The handler of ``action``, if any."""
        return self._handlers.get(action)

    def actions(self) -> list[str]:
        """Every action with a handler."""
        return sorted(self._handlers)


#: The process-wide registry the engine's handler modules register into.
handlers = HandlerRegistry()

_wakeup = threading.Event()


def notify() -> None:
    """Wake the in-process workers: a job was just committed."""
    _wakeup.set()


def cancel_job(
    session: Session,
    scope: Scope,
    job_id: str,
    drivers: DriverFactory,
    registry: HandlerRegistry | None = None,
) -> Job:
    """Cancel a queued job and undo what submitting it did to its target.

    Submitting a job already moved its target into a transitional state (and
    a create reserved capacity and quota); the handler's ``failed`` puts
    that right, as if the job had failed without touching the hypervisor.

    :raises Conflict: the job is already running or finished.
    """
    job = JobService(session).cancel(scope, job_id)
    handler = (registry or handlers).get(job.action)
    if handler is not None:
        handler.failed(JobContext(session, job, drivers), "the job was cancelled")
    return job


def default_worker_id() -> str:
    """``host:pid:random``: unique across machines, processes and threads."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _JobLost(Exception):
    """The job is no longer this worker's to finish (taken over, or cancelled)."""


class Worker:
    """Claims and runs jobs until stopped.

    :param database: where the queue is.
    :param drivers: the driver factory handed to handlers.
    :param registry: the handlers it runs (default: :data:`handlers`).
    :param poll_interval: seconds between polls when the queue is empty.
    :param stale_after: a running job without a heartbeat for this long is
        considered abandoned by a dead worker.
    """

    def __init__(
        self,
        database: Database,
        drivers: DriverFactory,
        registry: HandlerRegistry | None = None,
        worker_id: str | None = None,
        poll_interval: float = 0.5,
        stale_after: dt.timedelta = dt.timedelta(seconds=60),
    ) -> None:
        self.database = database
        self.drivers = drivers
        self.registry = registry or handlers
        self.worker_id = worker_id or default_worker_id()
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self._stop = threading.Event()

    def run_once(self) -> bool:
        """Claim and run one job; False when there was none to claim."""
        with self.database.transaction() as session:
            job_id = JobService(session).claim_id(self.worker_id, self.registry.actions())
        if job_id is None:
            return False
        self._execute(job_id)
        return True

    def run_until_idle(self, limit: int = 10_000) -> int:
        """Run jobs until the queue has none left to claim; return how many ran."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def run_forever(self) -> None:
        """Recover abandoned jobs, then run jobs until :meth:`stop`."""
        log.info("worker started", extra={"worker": self.worker_id})
        next_recovery = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_recovery:
                self._safely(self.recover)
                next_recovery = now + self.stale_after.total_seconds() / 2
            ran = self._safely(self.run_once)
            if not ran:
                _wakeup.wait(self.poll_interval)
                _wakeup.clear()
        log.info("worker stopped", extra={"worker": self.worker_id})

    def start_thread(self) -> threading.Thread:
        """Run :meth:`run_forever` in a daemon thread."""
        thread = threading.Thread(target=self.run_forever, name="concord-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return after the current job."""
        self._stop.set()
        _wakeup.set()

    def recover(self) -> int:
        """Requeue (or fail, after MAX_ATTEMPTS) the jobs of workers that died."""
        recovered = 0
        with self.database.transaction() as session:
            service = JobService(session)
            for job in service.stale(self.stale_after):
                recovered += 1
                if job.attempts < MAX_ATTEMPTS:
                    log.warning("requeueing abandoned job", extra={"job": job.id})
                    service.requeue(job)
                    continue
                message = "the job was interrupted too many times and was abandoned"
                handler = self.registry.get(job.action)
                if handler is not None:
                    handler.failed(JobContext(session, job, self.drivers), message)
                service.fail(job, message)
        return recovered

    def _execute(self, job_id: str) -> None:
        beating = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job_id, beating), daemon=True)
        beat.start()
        message: str | None = None
        attempt: int | None = None
        try:
            with self.database.transaction() as session:
                job = session.get(Job, job_id)
                if job is None:  # deleted with its owner since the claim
                    return
                attempt = job.attempts
                handler = self.registry.get(job.action)
                if handler is None:
                    raise EngineError(
                        f"no handler for job action {job.action!r}", subject="job", reason="unknown"
                    )
                ctx = JobContext(session, job, self.drivers)
                result = handler.run(ctx)
                if not JobService(session).succeed_if_held(job, self.worker_id, attempt, result):
                    raise _JobLost
        except _JobLost:
            # Rolled back: the worker that holds the job now redoes the work
            # (handlers are idempotent) and records its outcome.
            log.warning("job taken over by another worker", extra={"job": job_id})
        except EngineError as exc:
            message = exc.message
        except Exception:
            log.exception("job failed unexpectedly", extra={"job": job_id})
            message = f"internal error while running the job (job id {job_id})"
        finally:
            beating.set()
            beat.join()
        if message is not None and attempt is not None:
            self._record_failure(job_id, message, attempt)

    def _record_failure(self, job_id: str, message: str, attempt: int) -> None:
        with self.database.transaction() as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            if not JobService(session).still_held(job_id, self.worker_id, attempt):
                log.warning("job taken over by another worker", extra={"job": job_id})
                return
            handler = self.registry.get(job.action)
            if handler is not None:
                handler.failed(JobContext(session, job, self.drivers), message)
            JobService(session).fail(job, message)

    def _beat(self, job_id: str, done: threading.Event) -> None:
        interval = max(self.stale_after.total_seconds() / 4, 0.05)
        while not done.wait(interval):
            self._safely(lambda: self._beat_once(job_id))

    def _beat_once(self, job_id: str) -> bool:
        with self.database.transaction() as session:
            return JobService(session).beat(job_id, self.worker_id)

    def _safely(self, function: Callable[[], Any]) -> Any:
        # A worker outlives database hiccups: log and go on polling.
        try:
            return function()
        except Exception:
            log.exception("worker iteration failed")
            self._stop.wait(self.poll_interval)
            return False
