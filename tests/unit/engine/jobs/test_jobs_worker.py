"""The job queue and its workers, on SQLite and MariaDB; concurrency proofs across processes.

Handlers here are real: they write to the database (an event in the job's
own transaction), so "ran exactly once" is a fact the database records,
whichever process ran the job. The cross-process proofs run on MariaDB
only: SQLite serialises every writer, so there is no race there to prove
anything about.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud, build_cloud, create

from engine.compute.reconcile import reconcile
from engine.compute.service import ComputeService
from engine.db import Database, new_id, utcnow
from engine.drivers.specs import PowerState
from engine.errors import Conflict, EngineError, NotFound
from engine.events.models import Event
from engine.events.service import DomainEvent, emit
from engine.jobs.models import Job, JobState
from engine.jobs.service import MAX_ATTEMPTS, JobService
from engine.jobs.worker import HandlerRegistry, JobContext, Worker
from engine.lifecycle import Action, State
from engine.scope import Owner, Scope
from engine.tenancy.passwords import PasswordHasher

REPO = Path(__file__).resolve().parents[4]
NOBODY = Owner(None, None, None)


class Recorder:
    """Records each run as an event in the job's transaction."""

    action = "test.record"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        emit(
            ctx.session,
            DomainEvent("test.ran", "test", ctx.job.target_id, NOBODY, {"job": ctx.job.id}),
            job_id=ctx.job.id,
        )
        return {"ran": ctx.job.id}

    def failed(self, ctx: JobContext, message: str) -> None:
        emit(
            ctx.session,
            DomainEvent("test.failed", "test", ctx.job.target_id, NOBODY, {"message": message}),
            job_id=ctx.job.id,
        )


class Refusing(Recorder):
    """Does its work, then fails on purpose: the work must be rolled back."""

    action = "test.refuse"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        super().run(ctx)
        raise EngineError("the disk is full")


class Crashing(Recorder):
    """Fails by accident, with internals in the exception."""

    action = "test.crash"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        super().run(ctx)
        raise RuntimeError("KeyError in /srv/concord/secret.py line 12")


class Stalling(Recorder):
    """Does its work while, meanwhile, its job is requeued and claimed by worker w2
    (what another worker does when this one stalls past the heartbeat limit)."""

    action = "test.stall"

    def __init__(self, database: Database, then: type[Exception] | None = None) -> None:
        self.database = database
        self.then = then

    def run(self, ctx: JobContext) -> dict[str, Any]:
        with self.database.transaction() as session:
            service = JobService(session)
            taken = session.get(Job, ctx.job.id)
            assert taken is not None
            service.requeue(taken)
            assert service.claim("w2") is not None
        result = super().run(ctx)
        if self.then is not None:
            raise self.then("the disk is full")
        return result


class StallingThenRefusing(Stalling):
    action = "test.stall-refuse"


@pytest.fixture
def registry(database: Database) -> HandlerRegistry:
    registry = HandlerRegistry()
    stalls = (Stalling(database), StallingThenRefusing(database, EngineError))
    for handler in (Recorder(), Refusing(), Crashing(), *stalls):
        registry.register(handler)
    return registry


@pytest.fixture
def worker(database: Database, registry: HandlerRegistry) -> Worker:
    return Worker(database, lambda uri: None, registry, worker_id="w1")  # type: ignore[arg-type,return-value]


@pytest.fixture
def scopes(database: Database, tenancy: Any, hasher: PasswordHasher) -> dict[str, Scope]:
    from engine.tenancy.credentials import CredentialService

    with database.transaction() as session:
        credentials = CredentialService(session, hasher)
        scopes = {
            user: credentials.scope_for_user_id(tenancy.ids[user])
            for user in ("alice", "bob", "carol", "acmeadmin")
        }
    scopes["root"] = tenancy.root
    return scopes


def submit(
    database: Database,
    scope: Scope,
    action: str = "test.record",
    target: str | None = None,
    owner: Owner | None = None,
) -> str:
    with database.transaction() as session:
        owner = owner or Owner(scope.account_id, scope.project_id, scope.domain_id)
        job = JobService(session).submit(scope, action, "test", target or new_id(), owner)
        return job.id


def job(database: Database, job_id: str) -> Job:
    with database.transaction() as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row


def events(database: Database, event_type: str) -> list[Event]:
    with database.transaction() as session:
        return list(session.scalars(sa.select(Event).where(Event.type == event_type)))


def claim(database: Database, worker_id: str = "w") -> str | None:
    with database.transaction() as session:
        claimed = JobService(session).claim(worker_id)
        return claimed.id if claimed else None


# -- JobService: callers --------------------------------------------------------------------


def test_jobs_are_visible_to_whoever_sees_their_target(
    database: Database, scopes: dict[str, Scope]
) -> None:
    job_id = submit(database, scopes["alice"])
    other = submit(database, scopes["carol"])
    with database.transaction() as session:
        service = JobService(session)
        for user in ("alice", "acmeadmin", "root"):
            assert service.get(scopes[user], job_id).id == job_id
        for user in ("bob", "carol"):
            with pytest.raises(NotFound):
                service.get(scopes[user], job_id)
        assert [j.id for j in service.list_jobs(scopes["alice"])] == [job_id]
        assert [j.id for j in service.list_jobs(scopes["carol"])] == [other]
        assert {j.id for j in service.list_jobs(scopes["root"])} == {job_id, other}
        target = service.get(scopes["alice"], job_id).target_id
        assert [j.id for j in service.list_jobs(scopes["root"], target_id=target)] == [job_id]
        assert service.list_jobs(scopes["root"], states=[JobState.RUNNING]) == []


def test_only_queued_jobs_can_be_cancelled(database: Database, scopes: dict[str, Scope]) -> None:
    first = submit(database, scopes["alice"])
    second = submit(database, scopes["alice"])
    with database.transaction() as session:
        with pytest.raises(NotFound):
            JobService(session).cancel(scopes["bob"], first)
        cancelled = JobService(session).cancel(scopes["alice"], first)
        assert cancelled.state is JobState.CANCELLED and cancelled.finished is not None
    assert claim(database) == second
    with pytest.raises(Conflict), database.transaction() as session:
        JobService(session).cancel(scopes["alice"], second)
    assert claim(database) is None  # a cancelled job is never claimed


# -- JobService: workers --------------------------------------------------------------------


def test_claim_order_and_per_target_serialisation(
    database: Database, scopes: dict[str, Scope]
) -> None:
    alice = scopes["alice"]
    target = new_id()
    a1 = submit(database, alice, target=target)
    a2 = submit(database, alice, target=target)
    b1 = submit(database, alice)
    assert claim(database, "w1") == a1
    # a2 waits for a1 (same target); b1 is free.
    assert claim(database, "w2") == b1
    assert claim(database, "w3") is None
    with database.transaction() as session:
        running = session.get(Job, a1)
        assert running is not None
        JobService(session).succeed(running, {})
    assert claim(database, "w3") == a2
    claimed = job(database, a2)
    assert (claimed.state, claimed.claimed_by, claimed.attempts) == (JobState.RUNNING, "w3", 1)
    assert claimed.started is not None and claimed.heartbeat is not None


def test_a_job_is_claimed_at_most_once(database: Database, scopes: dict[str, Scope]) -> None:
    ids = {submit(database, scopes["alice"]) for _ in range(5)}
    claimed = [claim(database, f"w{i}") for i in range(7)]
    assert sorted(i for i in claimed if i) == sorted(ids) and claimed[5:] == [None, None]
    if database.dialect == "sqlite":
        return
    # Two open transactions claiming at once skip each other's locked rows.
    extra = {submit(database, scopes["alice"]) for _ in range(2)}
    first, second = database.session(), database.session()
    try:
        one = JobService(first).claim("a")
        two = JobService(second).claim("b")
        assert one is not None and two is not None and one.id != two.id
        assert {one.id, two.id} == extra
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()


def test_heartbeats_belong_to_the_claiming_worker(
    database: Database, scopes: dict[str, Scope]
) -> None:
    job_id = submit(database, scopes["alice"])
    claim(database, "owner")
    with database.transaction() as session:
        service = JobService(session)
        assert service.beat(job_id, "owner") is True
        assert service.beat(job_id, "intruder") is False


# -- Worker ---------------------------------------------------------------------------------


def test_run_once_commits_the_work_with_the_success(
    database: Database, scopes: dict[str, Scope], worker: Worker
) -> None:
    job_id = submit(database, scopes["alice"])
    assert worker.run_once() is True
    assert worker.run_once() is False
    done = job(database, job_id)
    assert (done.state, done.progress, done.result, done.error) == (
        JobState.SUCCESS,
        100,
        {"ran": job_id},
        None,
    )
    assert done.finished is not None and done.claimed_by == "w1"
    assert [e.job_id for e in events(database, "test.ran")] == [job_id]


def test_an_engine_error_fails_the_job_and_rolls_the_work_back(
    database: Database, scopes: dict[str, Scope], worker: Worker
) -> None:
    job_id = submit(database, scopes["alice"], "test.refuse")
    worker.run_until_idle()
    failed = job(database, job_id)
    assert (failed.state, failed.error) == (JobState.FAILED, "the disk is full")
    assert events(database, "test.ran") == []  # the handler's own work was rolled back
    # The target's failed() ran, in the failing transaction, with the message.
    assert [e.payload["message"] for e in events(database, "test.failed")] == ["the disk is full"]


def test_an_unexpected_error_fails_the_job_without_leaking_internals(
    database: Database, scopes: dict[str, Scope], worker: Worker
) -> None:
    job_id = submit(database, scopes["alice"], "test.crash")
    worker.run_until_idle()
    failed = job(database, job_id)
    assert failed.state is JobState.FAILED
    assert failed.error == f"internal error while running the job (job id {job_id})"
    for text in ("Traceback", "KeyError", "secret", "/srv"):
        assert text not in (failed.error or "")
    assert events(database, "test.ran") == []
    assert len(events(database, "test.failed")) == 1


@pytest.mark.parametrize("action", ["test.stall", "test.stall-refuse"])
def test_a_worker_whose_job_was_taken_over_records_nothing(
    database: Database, scopes: dict[str, Scope], worker: Worker, action: str
) -> None:
    # Whether its work succeeded or failed, the stalled worker neither records
    # an outcome nor keeps its work: the job is the new holder's to finish.
    job_id = submit(database, scopes["alice"], action)
    assert worker.run_once() is True
    held = job(database, job_id)
    assert (held.state, held.claimed_by, held.attempts) == (JobState.RUNNING, "w2", 2)
    assert held.finished is None and held.error is None
    assert events(database, "test.ran") == []
    assert events(database, "test.failed") == []


def test_jobs_without_a_handler_stay_queued(
    database: Database, scopes: dict[str, Scope], worker: Worker
) -> None:
    job_id = submit(database, scopes["alice"], "someone.elses")
    assert worker.run_until_idle() == 0
    assert job(database, job_id).state is JobState.QUEUED


def abandon(database: Database, job_id: str, attempts: int | None = None) -> None:
    """Make a running job look abandoned by a dead worker."""
    values: dict[str, Any] = {"heartbeat": utcnow() - dt.timedelta(hours=1)}
    if attempts is not None:
        values["attempts"] = attempts
    with database.transaction() as session:
        session.execute(sa.update(Job).where(Job.id == job_id).values(**values))


def test_stale_jobs_are_requeued_then_failed_after_max_attempts(
    database: Database, scopes: dict[str, Scope], registry: HandlerRegistry
) -> None:
    worker = Worker(
        database,
        lambda uri: None,
        registry,
        stale_after=dt.timedelta(minutes=1),  # type: ignore[arg-type,return-value]
    )
    fresh = submit(database, scopes["alice"])
    stale = submit(database, scopes["alice"])
    claim(database, "dead")
    claim(database, "dead")
    abandon(database, stale)
    assert worker.recover() == 1
    requeued = job(database, stale)
    assert (requeued.state, requeued.claimed_by, requeued.heartbeat, requeued.attempts) == (
        JobState.QUEUED,
        None,
        None,
        1,
    )
    assert job(database, fresh).state is JobState.RUNNING  # its worker is alive
    # The requeued job runs again and succeeds.
    worker.run_until_idle()
    assert job(database, stale).state is JobState.SUCCESS
    assert job(database, stale).attempts == 2
    # A job abandoned MAX_ATTEMPTS times is failed, and its target told.
    abandon(database, fresh, attempts=MAX_ATTEMPTS)
    assert worker.recover() == 1
    failed = job(database, fresh)
    assert failed.state is JobState.FAILED
    assert failed.error == "the job was interrupted too many times and was abandoned"
    assert [e.job_id for e in events(database, "test.failed")] == [fresh]


# -- across processes (MariaDB) -----------------------------------------------------------

WORKER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    from engine.db import Database
    from engine.drivers.factory import DriverCache
    from engine.events.service import DomainEvent, emit
    from engine.scope import Owner
    from engine.jobs.worker import HandlerRegistry, Worker

    url, go, worker_id = sys.argv[1:4]

    class Recorder:
        action = "test.record"

        def run(self, ctx):
            emit(ctx.session, DomainEvent("test.ran", "test", ctx.job.target_id,
                                          Owner(None, None, None), {"worker": worker_id}),
                 job_id=ctx.job.id)
            time.sleep(0.002)  # long enough for the two workers to interleave
            return {"worker": worker_id}

        def failed(self, ctx, message):
            pass

    registry = HandlerRegistry()
    registry.register(Recorder())
    worker = Worker(Database(url), DriverCache(), registry, worker_id=worker_id)
    while not Path(go).exists():
        time.sleep(0.01)
    print(worker.run_until_idle(), flush=True)
    """
)

BLOCKING_START_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    from engine.db import Database
    from engine.drivers.factory import DriverCache
    from engine.compute.handlers import HANDLERS, PowerHandler
    from engine.jobs.worker import HandlerRegistry, Worker

    url, reached, release = sys.argv[1:4]
    real = next(h for h in HANDLERS if h.action == "compute.start")

    class BlockingStart(PowerHandler):
        def act(self, ctx, compute, driver):
            super().act(ctx, compute, driver)  # the guest is started on this process's host
            Path(reached).touch()
            while not Path(release).exists():  # ... and the worker dies before committing
                time.sleep(0.05)

    registry = HandlerRegistry()
    registry.register(BlockingStart(real.verb, real.event, real.step))
    Worker(Database(url), DriverCache(), registry, worker_id="doomed").run_once()
    """
)


def spawn(script: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"worker exited early: {process.communicate()[1]}")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def require_server(database: Database) -> None:
    if database.dialect == "sqlite":
        pytest.skip("SQLite serialises writers; the cross-process proofs need MariaDB")


def test_two_worker_processes_run_every_job_exactly_once(
    database: Database, scopes: dict[str, Scope], tmp_path: Path
) -> None:
    require_server(database)
    with database.transaction() as session:
        service = JobService(session)
        alice = scopes["alice"]
        owner = Owner(alice.account_id, None, alice.domain_id)
        ids = {service.submit(alice, "test.record", "test", new_id(), owner).id for _ in range(200)}
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    go = tmp_path / "go"
    workers = [spawn(script, database.url, str(go), f"proc-{n}") for n in (1, 2)]
    time.sleep(0.5)  # both processes import and connect, then start together
    go.touch()
    outputs = [w.communicate(timeout=180) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [o[1] for o in outputs]
    ran = [int(out.strip().splitlines()[-1]) for out, _err in outputs]
    assert sum(ran) == 200 and min(ran) > 0, ran  # both took part
    with database.transaction() as session:
        states = dict(
            session.execute(sa.select(Job.state, sa.func.count()).group_by(Job.state)).all()
        )
        assert states == {JobState.SUCCESS: 200}
        per_job = dict(
            session.execute(
                sa.select(Event.job_id, sa.func.count())
                .where(Event.type == "test.ran")
                .group_by(Event.job_id)
            ).all()
        )
        assert set(per_job) == ids and set(per_job.values()) == {1}
        # Each job's effect was made by the worker that claimed it.
        for row in session.scalars(sa.select(Job)):
            assert row.result == {"worker": row.claimed_by} and row.attempts == 1


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def test_a_worker_killed_mid_start_is_recovered_without_orphans(
    cloud: Cloud, tmp_path: Path
) -> None:
    """SIGKILL after the hypervisor step, before the commit; the job is then re-run.

    A ``test:///`` host lives in its process, so the killed worker's guest
    dies with it; what this proves is the database side (the job is re-run
    and succeeds, nothing stays running, the host the engine uses has exactly
    the guest it should). The integration suite repeats it on a real libvirtd,
    where the killed worker's guest survives and the re-run finds it running.
    """
    database = cloud.database
    require_server(database)
    compute_id, _ = create(cloud, start=False)
    cloud.run_jobs()
    with database.transaction() as session:
        job_id = ComputeService(session).perform(cloud.scopes["alice"], compute_id, Action.START).id
    script = tmp_path / "blocking_start.py"
    script.write_text(BLOCKING_START_SCRIPT)
    reached, release = tmp_path / "reached", tmp_path / "release"
    doomed = spawn(script, database.url, str(reached), str(release))
    try:
        wait_for(reached, doomed)
        claimed = job(database, job_id)
        assert (claimed.state, claimed.claimed_by) == (JobState.RUNNING, "doomed")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=30)
    finally:
        if doomed.poll() is None:
            doomed.kill()
        doomed.communicate()
    assert doomed.returncode == -signal.SIGKILL
    assert cloud.compute(compute_id).state == State.STARTING
    assert job(database, job_id).state is JobState.RUNNING

    survivor = Worker(database, cloud.drivers, cloud.registry, stale_after=dt.timedelta(seconds=1))
    time.sleep(1.5)  # the dead worker's heartbeat goes stale
    assert survivor.recover() == 1
    assert survivor.run_until_idle() == 1
    finished = job(database, job_id)
    assert (finished.state, finished.attempts, finished.error) == (JobState.SUCCESS, 2, None)
    assert cloud.compute(compute_id).state == State.RUNNING
    assert cloud.driver().list_guests() == {cloud.guest(compute_id): PowerState.RUNNING}
    with database.transaction() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(Job).where(Job.state == JobState.RUNNING)
            )
            == 0
        )
        report = reconcile(session, cloud.drivers)
    assert report.unknown_guests == [] and report.corrected == []
    # Two attempts, one recorded outcome.
    assert cloud.event_types(compute_id).count("compute.started") == 1
