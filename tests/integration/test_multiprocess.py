"""Scale-out with real components: two API processes, two worker processes, one MariaDB.

What the design promises (DESIGN.md, "Scale-out"): API processes are stateless, all state
lives in the database, jobs are claimed with row locks so that any number of workers can run
them, and a worker that dies mid-job loses nothing. These tests check that end to end:

* a private MariaDB database ``concord_it_<pid>``, set up with the ``concord`` CLI only
  (``db upgrade``, ``init``, accounts, users, zone, pod, cluster, ``host add`` of a private
  libvirtd running real QEMU guests under TCG, a 1 vCPU / 64 MiB compute offering);
* two ``concord serve`` processes (no embedded worker) and two ``concord worker`` processes;
* a compute created through one API process is driven through the other, runs as a real QEMU
  guest, and its jobs are run by the worker processes, never by the API processes;
* a burst of creations through both API processes: the two workers share the jobs and each
  job is claimed exactly once;
* a worker SIGKILLed in the middle of a (slow, graceful) stop: the other worker takes the job
  over once its heartbeat is stale, and finishes it;
* an API process SIGKILLed: the other keeps answering, and a new one sees the same state;
* another tenant's compute is a 404 through every API process;
* a guest that dies under a running compute is noticed without any embedded worker: one
  ``concord worker --reconcile`` runs the event monitor and the reconciler.

The suite is skipped, with the reason, when MariaDB is unreachable or libvirtd/QEMU cannot
start. Every wait has a deadline; every process is stopped in a ``finally`` block and checked
to be gone; the processes' logs (under the test's temporary directory) are printed when a test
fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import libvirt
import pytest
import sqlalchemy as sa
from integration.libvirtd import PrivateLibvirtd, private_libvirtd
from integration.processes import (
    ManagedProcess,
    ProcessGroup,
    Reply,
    basic_auth,
    http,
    private_mariadb,
    run_cli,
    wait_until,
)

from engine.compute.models import Compute
from engine.db import Database
from engine.jobs.models import Job, JobState

pytestmark = pytest.mark.integration


INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
RESOURCE_TPL_SCHEME = "http://schemas.concord.invalid/occi/resource_tpl#"
TEXT_PLAIN = "text/plain"

#: Seconds a compute has to reach a state (a TCG guest boots to firmware in about a second).
STATE_TIMEOUT = 60.0
#: A graceful stop of a guest that ignores ACPI waits this long before powering off
#: (engine.compute._guest.bring_down's default, which the HTTP renderings use).
GRACEFUL_STOP_SECONDS = 60.0
#: ``--stale-after`` of the workers: how soon a dead worker's job is taken over.
STALE_AFTER = 3.0

ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-1")


# -- the cloud -------------------------------------------------------------------------------


@dataclass
class Cloud:
    """The running deployment the tests share."""

    group: ProcessGroup
    database: Database
    hypervisor: PrivateLibvirtd
    offering_id: str
    servers: dict[str, ManagedProcess] = field(default_factory=dict)
    workers: dict[str, ManagedProcess] = field(default_factory=dict)
    #: The worker started with ``--reconcile``: the only process watching libvirt's events.
    reconciler: ManagedProcess | None = None

    def worker_pids(self) -> set[int]:
        """Every worker process ever started (the killed ones too)."""
        return {p.pid for p in self.group.processes if p.name.startswith("worker")}

    def server_pids(self) -> set[int]:
        """Every API process ever started."""
        return {p.pid for p in self.group.processes if p.name.startswith("api")}

    def jobs(self, target_id: str) -> list[Job]:
        """The jobs of a target, oldest first, read straight from the database."""
        with self.database.transaction() as session:
            jobs = list(
                session.scalars(
                    sa.select(Job).where(Job.target_id == target_id).order_by(Job.created)
                )
            )
            session.expunge_all()
        return jobs

    def running_jobs(self) -> list[Job]:
        """Every job in the running state."""
        with self.database.transaction() as session:
            jobs = list(session.scalars(sa.select(Job).where(Job.state == JobState.RUNNING)))
            session.expunge_all()
        return jobs

    def guests(self) -> dict[str, int]:
        """The guests libvirt has on the host: uuid -> libvirt domain state."""
        connection = libvirt.open(self.hypervisor.uri)
        try:
            return {d.UUIDString(): d.state()[0] for d in connection.listAllDomains(0)}
        finally:
            connection.close()

    def guest(self, compute_id: str) -> str:
        """The guest id of a compute: its guest's UUID and name on the host (never its id)."""
        with self.database.transaction() as session:
            guest_id = session.scalar(sa.select(Compute.guest_id).where(Compute.id == compute_id))
        assert guest_id is not None, f"no compute {compute_id}"
        return guest_id

    def guest_state(self, compute_id: str) -> int | None:
        """The libvirt state of a compute's guest, looked up by UUID; None when undefined."""
        guest_id = self.guest(compute_id)
        connection = libvirt.open(self.hypervisor.uri)
        try:
            return int(connection.lookupByUUIDString(guest_id).state()[0])
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise
        finally:
            connection.close()


def _worker_pid(claimed_by: str | None) -> int | None:
    # engine.jobs.worker.default_worker_id: host:pid:random
    if not claimed_by:
        return None
    return int(claimed_by.rsplit(":", 2)[1])


@pytest.fixture(scope="module")
def mariadb_url() -> Iterator[str]:
    """A private database on the MariaDB server, dropped afterwards (or a skip with the reason)."""
    with private_mariadb("concord_it") as url:
        yield url


@pytest.fixture(scope="module")
def hypervisor() -> Iterator[PrivateLibvirtd]:
    """A private libvirtd running QEMU under TCG (or a skip with the reason)."""
    with private_libvirtd("multiproc") as daemon:
        yield daemon


def _provision(group: ProcessGroup, uri: str) -> str:
    """Set the cloud up with the CLI only (after ``db upgrade`` and ``init``); return the
    compute offering's id.

    Independent chains of commands run side by side: each command is a process of its own.
    """
    env = group.env()

    def tenant(account: str, username: str, password: str) -> None:
        run_cli(env, "account", "create", account)
        run_cli(env, "user", "create", username, "--account", account, "--password-stdin",
                stdin=password + "\n")  # fmt: skip

    def infrastructure() -> None:
        run_cli(env, "zone", "create", "z1")
        run_cli(env, "pod", "create", "p1", "--zone", "z1")
        # The host may have 2 cores: over-provision them so that a burst of guests fits.
        run_cli(env, "cluster", "create", "c1", "--pod", "p1", "--zone", "z1",
                "--cpu-overprovisioning", "8")  # fmt: skip
        out = run_cli(env, "host", "add", uri, "--cluster", "c1", "--name", "hv1")
        assert "host hv1 is up" in out, out

    def offering() -> str:
        out = run_cli(
            env, "offering", "create", "compute", "tiny", "--vcpus", "1", "--memory-mib", "64"
        )
        found = re.search(r"\(([0-9a-f-]{36})\)", out)
        assert found, f"no offering id in {out!r}"
        return found.group(1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        chains = [
            pool.submit(tenant, "tenant-a", *ALICE),
            pool.submit(tenant, "tenant-b", *BOB),
            pool.submit(infrastructure),
        ]
        offering_id = pool.submit(offering)
        for chain in chains:
            chain.result()
        return offering_id.result()


@pytest.fixture(scope="module")
def cloud(
    mariadb_url: str, hypervisor: PrivateLibvirtd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cloud]:
    """Two API processes and two workers on one database and one QEMU host."""
    # With the HA agent at its defaults: a host that answers late on a loaded
    # machine may become suspect, which is HA's own state and never takes it
    # out of placement (only a host declared down leaves it).
    group = ProcessGroup(tmp_path_factory.mktemp("multiprocess"), mariadb_url)
    database = Database(mariadb_url)
    try:
        with group.explain_failure():
            env = group.env()
            run_cli(env, "db", "upgrade")
            run_cli(env, "init")
            # The processes start while the CLI provisions the rest: nothing they do at
            # start needs more than the schema and ROOT.
            servers = {name: group.start_server(name) for name in ("api-a", "api-b")}
            # One worker also reconciles and watches libvirt's events: with no
            # embedded worker in the API processes, someone must.
            workers = {
                name: group.start_worker(
                    name, stale_after=STALE_AFTER, reconcile=name == "worker-1"
                )
                for name in ("worker-1", "worker-2")
            }
            result = Cloud(group, database, hypervisor, _provision(group, hypervisor.uri))
            result.servers, result.workers = servers, workers
            result.reconciler = workers["worker-1"]
            for server in result.servers.values():
                group.wait_healthy(server)
            for worker in result.workers.values():
                group.wait_ready(worker)
        yield result
    finally:
        leftovers = group.stop_all()
        database.dispose()
        assert not leftovers, f"processes still running after stop_all: {leftovers}"


@pytest.fixture
def explain(cloud: Cloud, request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the processes' logs when the test fails (pytest shows them with the failure).

    A fixture does not see the test's exception, so it compares the session's count of
    failures before and after the test.
    """
    failures = request.session.testsfailed
    yield
    if request.session.testsfailed > failures:
        print(cloud.group.logs())


# -- an OCCI client (text/plain) -------------------------------------------------------------


def _headers(user: tuple[str, str], **more: str) -> dict[str, str]:
    return {**basic_auth(*user), "Accept": TEXT_PLAIN, **more}


def create_compute(server: ManagedProcess, user: tuple[str, str], title: str, offering: str) -> str:
    """POST /compute/ with the offering's resource template; return the new compute's path."""
    body = (
        f'Category: compute; scheme="{INFRA}"; class="kind"\n'
        f'Category: {offering}; scheme="{RESOURCE_TPL_SCHEME}"; class="mixin"\n'
        f'X-OCCI-Attribute: occi.core.title="{title}"\n'
    )
    reply = http(
        "POST",
        server.url + "/compute/",
        headers=_headers(user, **{"Content-Type": TEXT_PLAIN}),
        body=body,
    )
    assert reply.status == 201, f"create through {server.name}: {reply.status} {reply.text}"
    location = reply.headers["location"]
    assert location.startswith(server.url + "/compute/"), location
    return location.removeprefix(server.url)


def read(server: ManagedProcess, user: tuple[str, str], path: str) -> Reply:
    """GET an entity (any status)."""
    return http("GET", server.url + path, headers=_headers(user))


def compute_state(server: ManagedProcess, user: tuple[str, str], path: str) -> str:
    """``occi.compute.state`` of a compute, read through ``server``."""
    reply = read(server, user, path)
    assert reply.status == 200, f"GET {path} through {server.name}: {reply.status} {reply.text}"
    return reply.attribute("occi.compute.state") or ""


def invoke(
    server: ManagedProcess, user: tuple[str, str], path: str, term: str, method: str | None = None
) -> Reply:
    """POST ``?action=<term>`` with the Action's Category (and ``method``); any status."""
    body = f'Category: {term}; scheme="{COMPUTE_ACTION}"; class="action"\n'
    if method is not None:
        body += f'X-OCCI-Attribute: method="{method}"\n'
    return http(
        "POST",
        f"{server.url}{path}?action={term}",
        headers=_headers(user, **{"Content-Type": TEXT_PLAIN}),
        body=body,
    )


def delete(server: ManagedProcess, user: tuple[str, str], path: str) -> Reply:
    """DELETE an entity (any status)."""
    return http("DELETE", server.url + path, headers=_headers(user))


def wait_for_state(
    cloud: Cloud, server: ManagedProcess, path: str, state: str, timeout: float = STATE_TIMEOUT
) -> None:
    """Poll ``occi.compute.state`` through ``server`` until it is ``state``, with no job left."""
    compute_id = path.rsplit("/", 1)[1]

    def reached() -> bool:
        if compute_state(server, ALICE, path) != state:
            return False
        return all(job.state.is_final for job in cloud.jobs(compute_id))

    wait_until(reached, timeout, f"{path} to be {state} through {server.name}")


def wait_for_jobs(cloud: Cloud, compute_id: str, timeout: float = STATE_TIMEOUT) -> list[Job]:
    """Wait until every job of a compute is final; return them."""

    def final() -> list[Job] | None:
        jobs = cloud.jobs(compute_id)
        return jobs if jobs and all(job.state.is_final for job in jobs) else None

    return wait_until(final, timeout, f"the jobs of {compute_id} to end")


def assert_run_by_workers(cloud: Cloud, jobs: list[Job]) -> None:
    """Every job succeeded, claimed by a worker process and never by an API process."""
    workers, servers = cloud.worker_pids(), cloud.server_pids()
    for job in jobs:
        assert job.state is JobState.SUCCESS, (job.action, job.state, job.error)
        pid = _worker_pid(job.claimed_by)
        assert pid in workers, f"{job.action} claimed by {job.claimed_by}, not a worker process"
        assert pid not in servers


# -- the tests -------------------------------------------------------------------------------


def test_a_compute_driven_through_two_api_processes_runs_on_qemu(
    cloud: Cloud, explain: None
) -> None:
    a, b = cloud.servers["api-a"], cloud.servers["api-b"]
    path = create_compute(a, ALICE, "vm1", cloud.offering_id)
    compute_id = path.rsplit("/", 1)[1]

    wait_for_state(cloud, b, path, "active")
    assert cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_RUNNING
    assert read(b, ALICE, path).attribute("occi.core.title") == "vm1"

    reply = invoke(b, ALICE, path, "stop", method="poweroff")
    assert reply.status == 200, reply.text
    wait_for_state(cloud, a, path, "inactive")
    assert cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_SHUTOFF

    reply = invoke(a, ALICE, path, "start")
    assert reply.status == 200, reply.text
    wait_for_state(cloud, b, path, "active")
    assert cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_RUNNING

    reply = delete(b, ALICE, path)
    assert reply.status in (200, 204), reply.text
    jobs = wait_for_jobs(cloud, compute_id)
    assert read(a, ALICE, path).status == 404
    assert cloud.guest_state(compute_id) is None

    assert [job.action for job in jobs] == [
        "compute.create",
        "compute.force_stop",
        "compute.start",
        "compute.delete",
    ]
    assert_run_by_workers(cloud, jobs)


def test_another_tenants_compute_is_not_found_through_any_api_process(
    cloud: Cloud, explain: None
) -> None:
    a, b = cloud.servers["api-a"], cloud.servers["api-b"]
    path = create_compute(b, ALICE, "private", cloud.offering_id)
    compute_id = path.rsplit("/", 1)[1]
    try:
        wait_for_state(cloud, a, path, "active")
        for server in (a, b):
            assert read(server, BOB, path).status == 404
            assert invoke(server, BOB, path, "stop", method="poweroff").status == 404
            assert delete(server, BOB, path).status == 404
            listing = http("GET", server.url + "/compute/", headers=_headers(BOB))
            assert listing.status == 200, listing.text
            assert compute_id not in listing.text
            # Alice still sees it, untouched.
            assert compute_state(server, ALICE, path) == "active"
        assert cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_RUNNING
    finally:
        delete(a, ALICE, path)
        wait_for_jobs(cloud, compute_id)
    assert cloud.guest_state(compute_id) is None


def test_workers_share_a_burst_of_jobs_and_claim_each_once(cloud: Cloud, explain: None) -> None:
    servers = list(cloud.servers.values())
    paths = [
        create_compute(servers[i % 2], ALICE, f"burst-{i}", cloud.offering_id) for i in range(6)
    ]
    ids = [path.rsplit("/", 1)[1] for path in paths]
    try:
        for i, path in enumerate(paths):
            wait_for_state(cloud, servers[(i + 1) % 2], path, "active")
        creates = [job for compute_id in ids for job in cloud.jobs(compute_id)]
        assert_run_by_workers(cloud, creates)
        # Each job was claimed once (no two workers ran it), and both workers took some.
        assert [job.attempts for job in creates] == [1] * len(ids)
        claimants = {_worker_pid(job.claimed_by) for job in creates}
        assert claimants == {w.pid for w in cloud.workers.values()}
        guests = cloud.guests()
        assert all(
            guests.get(cloud.guest(compute_id)) == libvirt.VIR_DOMAIN_RUNNING for compute_id in ids
        )
    finally:
        for i, path in enumerate(paths):
            delete(servers[i % 2], ALICE, path)
        for compute_id in ids:
            wait_for_jobs(cloud, compute_id)
    assert not {cloud.guest(compute_id) for compute_id in ids} & set(cloud.guests())


def test_a_job_of_a_killed_worker_is_finished_by_the_other(cloud: Cloud, explain: None) -> None:
    a, b = cloud.servers["api-a"], cloud.servers["api-b"]
    path = create_compute(a, ALICE, "slow-stop", cloud.offering_id)
    compute_id = path.rsplit("/", 1)[1]
    wait_for_state(cloud, b, path, "active")

    # A graceful stop: the guest (firmware, no OS) ignores ACPI, so the job waits for the
    # guest for a minute before powering it off. Kill the worker running it meanwhile.
    reply = invoke(b, ALICE, path, "stop")
    assert reply.status == 200, reply.text

    def running_stop() -> Job | None:
        jobs = [j for j in cloud.jobs(compute_id) if j.action == "compute.stop"]
        return jobs[0] if jobs and jobs[0].state is JobState.RUNNING else None

    job = wait_until(running_stop, 30, "a worker to run the stop")
    by_pid = {w.pid: w for w in cloud.workers.values()}
    holder = by_pid.get(_worker_pid(job.claimed_by) or -1)
    assert holder is not None, f"the stop is claimed by {job.claimed_by}, not by a worker"
    (survivor,) = (w for w in cloud.workers.values() if w is not holder)
    holder.kill()
    assert holder.returncode == -9
    assert cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_RUNNING  # not stopped yet

    # The survivor requeues the job once its heartbeat is STALE_AFTER old, claims it and
    # runs the graceful stop again from the start.
    def taken_over() -> Job | None:
        current = next(j for j in cloud.jobs(compute_id) if j.id == job.id)
        return current if current.attempts == 2 and current.claimed_by else None

    retried = wait_until(taken_over, STALE_AFTER * 5, "the survivor to take the job over")
    assert _worker_pid(retried.claimed_by) == survivor.pid

    wait_for_state(cloud, a, path, "inactive", timeout=GRACEFUL_STOP_SECONDS + 30)
    finished = next(j for j in cloud.jobs(compute_id) if j.id == job.id)
    assert finished.state is JobState.SUCCESS, finished.error
    assert _worker_pid(finished.claimed_by) == survivor.pid
    assert finished.attempts == 2
    assert cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_SHUTOFF
    assert cloud.running_jobs() == []

    # Another worker joins; the deletion leaves no guest behind.
    # Which worker claimed the stop is chance: when it was the reconciling one, its
    # replacement takes that role over, or no process would watch libvirt's events.
    took_reconciler = holder is cloud.reconciler
    replacement = cloud.group.start_worker(
        "worker-3", stale_after=STALE_AFTER, reconcile=took_reconciler
    )
    cloud.group.wait_ready(replacement)
    if took_reconciler:
        cloud.reconciler = replacement
    cloud.workers = {"survivor": survivor, "worker-3": replacement}
    assert delete(a, ALICE, path).status in (200, 204)
    assert_run_by_workers(cloud, [j for j in wait_for_jobs(cloud, compute_id) if j.id != job.id])
    assert cloud.running_jobs() == []
    assert cloud.guest(compute_id) not in cloud.guests()


def test_a_guest_that_dies_is_noticed_without_the_embedded_worker(
    cloud: Cloud, explain: None
) -> None:
    assert cloud.reconciler is not None and cloud.reconciler.running, (
        "no reconciling worker is running: nothing would watch libvirt's events"
    )
    b = next(iter(cloud.servers.values()))
    path = create_compute(b, ALICE, "doomed", cloud.offering_id)
    compute_id = path.rsplit("/", 1)[1]
    try:
        wait_for_state(cloud, b, path, "active")
        cloud.hypervisor.kill_pid(cloud.hypervisor.qemu_pid(f"concord-{cloud.guest(compute_id)}"))
        wait_until(lambda: cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_SHUTOFF, 10,
                   "libvirt to see the guest die")  # fmt: skip
        # The reconciling worker's monitor reacts to libvirt's lifecycle event within a
        # few seconds (debounce, then a reconciliation of the host); the deadline stays
        # far below the 60 s periodic reconciliation, so only the event path can pass it,
        # while leaving room for a loaded CI machine.
        # QEMU died under the guest: libvirt records a crash, and the compute is an
        # error (GFD.224 §3.1), not a stop its owner asked for.
        wait_until(lambda: compute_state(b, ALICE, path) == "error", 20, "the API to say error")
        message = read(b, ALICE, path).attribute("occi.compute.state.message")
        assert message == "the guest crashed"
    finally:
        delete(b, ALICE, path)
        wait_for_jobs(cloud, compute_id)


def test_api_processes_are_stateless(cloud: Cloud, explain: None) -> None:
    a, b = cloud.servers["api-a"], cloud.servers["api-b"]
    path = create_compute(a, ALICE, "survivor", cloud.offering_id)
    compute_id = path.rsplit("/", 1)[1]
    try:
        wait_for_state(cloud, b, path, "active")
        a.kill()
        assert a.returncode == -9
        with pytest.raises(ConnectionRefusedError):
            http("GET", a.url + "/healthz")

        # B answers on its own, and drives the compute.
        assert compute_state(b, ALICE, path) == "active"
        assert invoke(b, ALICE, path, "stop", method="poweroff").status == 200
        wait_for_state(cloud, b, path, "inactive")

        # A process started later sees the same state: nothing lived in A.
        c = cloud.group.start_server("api-c")
        cloud.group.wait_healthy(c)
        cloud.servers = {"api-b": b, "api-c": c}
        seen_by_b, seen_by_c = read(b, ALICE, path), read(c, ALICE, path)
        assert seen_by_c.status == 200, seen_by_c.text
        assert seen_by_c.attribute("occi.compute.state") == "inactive"
        for name in ("occi.core.title", "occi.compute.cores", "occi.compute.memory"):
            assert seen_by_c.attribute(name) == seen_by_b.attribute(name), name
        listing = http("GET", c.url + "/compute/", headers=_headers(ALICE))
        assert path in listing.text
        assert read(c, BOB, path).status == 404
        assert invoke(c, ALICE, path, "start").status == 200
        wait_for_state(cloud, b, path, "active")
        assert cloud.guest_state(compute_id) == libvirt.VIR_DOMAIN_RUNNING
    finally:
        survivor = next(s for s in cloud.servers.values() if s.running)
        delete(survivor, ALICE, path)
        wait_for_jobs(cloud, compute_id)
    assert cloud.guests() == {}
    assert cloud.running_jobs() == []
