"""Running the start jobs of a recovery: the hypervisor work in parallel, the records at once.

The start jobs that :func:`engine.ha.restart.claim_jobs` claimed are ordinary
``compute.start`` jobs, run by their ordinary handler; what differs is how
many at a time and how many transactions:

1. **Hypervisor work, in parallel.** Each guest is defined from the
   database and started on its new host (:func:`engine.compute._guest.bring_up`),
   by a bounded pool of threads: at most ``per_host`` guests at once on one
   host (booting many guests at once slows them all) and at most
   ``max_workers`` in all. Each reads its guest's rows in a session of its
   own and writes nothing.
2. **Records, in one transaction.** For each job the ``compute.start``
   handler runs as a job worker would run it (it finds its guest running,
   which is what makes handlers idempotent, so it only reads the power
   state and records it) and the job succeeds, or fails with the handler's
   failure path, in a savepoint of its own; then the guest's HA item records
   the outcome. A job this process no longer holds (taken over after it
   stalled) is left to its new holder.

While the pool works a thread refreshes the heartbeats of the jobs and of
the HA items this process holds, so that nobody takes them over. If the
process dies, the jobs go stale and are run again, one by one, by the job
queue or by the next holder of the host's item: bringing up a guest that
already runs does nothing, so it runs once, on its new host.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from engine.compute.models import Compute
from engine.compute.restarts import bring_up, guest_spec
from engine.db import Database, utcnow
from engine.drivers.base import HypervisorDriver
from engine.errors import EngineError
from engine.ha.models import HaItem
from engine.ha.restart import StartJob, follow_guest
from engine.inventory.models import Host
from engine.jobs.models import Job, JobState
from engine.jobs.service import JobService
from engine.jobs.worker import HandlerRegistry, JobContext, handlers

log = logging.getLogger("engine.ha.starts")


def bring_up_all(
    database: Database,
    drivers: Callable[[str], HypervisorDriver],
    jobs: Sequence[StartJob],
    per_host: int,
    max_workers: int,
) -> dict[str, str | None]:
    """Define and start every job's guest on its host, in parallel; the error of each, by job.

    ``None`` for a guest now running. Errors are only reported: the handler,
    run afterwards, decides what the job's outcome is.
    """
    with database.transaction() as session:
        rows = session.execute(
            sa.select(Compute.id, Host.uri)
            .join(Host, Host.id == Compute.host_id)
            .where(Compute.id.in_([job.compute_id for job in jobs]))
        ).all()
    where: dict[str, str] = {str(c): str(u) for c, u in rows}
    # One gate per host, made before the threads share the dict.
    gates = {uri: threading.Semaphore(per_host) for uri in where.values()}

    def start(job: StartJob) -> str | None:
        uri = where.get(job.compute_id)
        if uri is None:
            return "the compute is placed nowhere"
        with gates[uri]:
            try:
                with database.transaction() as session:
                    compute = session.get(Compute, job.compute_id)
                    if compute is None:
                        return "the compute is gone"
                    driver = drivers(uri)
                    bring_up(
                        driver,
                        compute.guest_id,
                        lambda: guest_spec(session, compute, driver)[0],
                    )
                return None
            except Exception as exc:
                log.warning("HA could not start compute %s: %s", job.compute_id, exc)
                return str(exc)

    if not jobs:
        return {}
    workers = max(1, min(max_workers, len(jobs)))
    with ThreadPoolExecutor(workers, thread_name_prefix="ha-start") as pool:
        return dict(zip((j.job_id for j in jobs), pool.map(start, jobs), strict=True))


def record_starts(
    database: Database,
    drivers: Callable[[str], HypervisorDriver],
    jobs: Sequence[StartJob],
    worker_id: str,
    registry: HandlerRegistry | None = None,
) -> int:
    """Run each job's handler and record its outcome and its HA item's, in one transaction.

    Returns how many jobs were recorded (those still held by ``worker_id``).
    """
    registry = registry or handlers
    recorded = 0
    with database.transaction() as session:
        service = JobService(session)
        # Read in two statements rather than two per job.
        rows = {
            j.id: j
            for j in session.scalars(sa.select(Job).where(Job.id.in_([s.job_id for s in jobs])))
        }
        items = {
            i.id: i
            for i in session.scalars(
                sa.select(HaItem).where(HaItem.id.in_([s.item_id for s in jobs]))
            )
        }
        for start in jobs:
            if not service.still_held(start.job_id, worker_id, start.attempt):
                continue  # taken over: its new holder records it
            job = rows.get(start.job_id)
            handler = registry.get(job.action) if job is not None else None
            if job is None or handler is None:
                continue
            ctx = JobContext(session, job, drivers)
            message: str | None = None
            try:
                with session.begin_nested():
                    result = handler.run(ctx)
                    service.succeed(job, result)
            except EngineError as exc:
                message = exc.message
            except Exception:
                log.exception("start job %s failed unexpectedly", start.job_id)
                message = f"internal error while running the job (job id {start.job_id})"
            if message is not None:
                handler.failed(ctx, message)
                service.fail(job, message)
            item = items.get(start.item_id)
            if item is not None:
                follow_guest(session, item)
            recorded += 1
    return recorded


@contextlib.contextmanager
def beating(
    database: Database, worker_id: str, job_ids: Sequence[str], item_id: str, every: float
) -> Iterator[None]:
    """Refresh, every ``every`` seconds, the heartbeats of these jobs and of the HA item."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            with contextlib.suppress(Exception), database.transaction() as session:
                now = utcnow()
                session.execute(
                    sa.update(Job)
                    .where(
                        Job.id.in_(list(job_ids)),
                        Job.claimed_by == worker_id,
                        Job.state == JobState.RUNNING,
                    )
                    .values(heartbeat=now)
                )
                session.execute(
                    sa.update(HaItem)
                    .where(HaItem.id == item_id, HaItem.claimed_by == worker_id)
                    .values(heartbeat=now)
                )

    thread = threading.Thread(target=beat, name="ha-start-beat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


__all__ = ["beating", "bring_up_all", "record_starts"]
