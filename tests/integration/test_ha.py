"""High availability with real components: three libvirtd hosts, QEMU guests, worker processes.

Each test builds its own small cloud: a private MariaDB database (migrated and provisioned in
the test process), three private libvirtd processes (each its own host, running real 64 MiB
QEMU/TCG guests), and ``concord worker`` processes that run the jobs and the HA agent
(monitor and recovery) with short thresholds. Hosts are fenced by the ``process`` fencer
(the daemon's process group and its QEMU processes), except where a test says otherwise.
Then, for real:

* a host's whole process group is SIGKILLed: every HA guest runs again on another host, none
  ever runs twice (every live daemon, and the dead host's QEMU processes, are sampled the whole
  time), guests without HA are ``error`` with the reason, the quota and capacity counters equal
  a recount, and detection and recovery fall within what the thresholds allow;
* a daemon that is only slow (SIGSTOP for less than ``ha_down_after``): no recovery starts;
* a host that answers again while it is being fenced (SIGSTOP past the threshold, SIGCONT once
  fencing began, the ``libvirt`` fencer): it is fenced through the connection that answers and
  its guests run once, elsewhere;
* a worker SIGKILLed in the middle of a recovery: another worker started afterwards resumes it;
* two workers share the queue the whole time: each item is handled once (its history says so);
* the storm guard: a zone where too large a share of the hosts failed is held, with an alert,
  until ``concord ha resume``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import libvirt
import pytest
import sqlalchemy as sa
from integration.libvirtd import PrivateLibvirtd, private_libvirtd
from integration.processes import (
    ManagedProcess,
    ProcessGroup,
    private_mariadb,
    run_cli,
    wait_until,
)
from unit.engine.cloud import add_cluster

from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.timed import call_with_timeout
from engine.events.alerts import active_alerts
from engine.events.models import Event
from engine.ha import operator, queue
from engine.ha.fenced import LOST_MESSAGE
from engine.ha.models import HaItem, HaItemKind, HaStep
from engine.ha.restart import RESTARTED_MESSAGE
from engine.inventory.models import AllocationState, Host
from engine.jobs.models import Job
from engine.lifecycle import State
from engine.schema import upgrade
from engine.scope import Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import AccountType, LimitOwner, ResourceType, User
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.quota_models import ResourceCount
from engine.tenancy.service import TenancyService

pytestmark = pytest.mark.integration

#: The HA thresholds of every worker here (seconds): short, so the tests are quick.
HA = {
    "ha_check_interval": "0.5",
    "ha_probe_timeout": "1",
    "ha_suspect_after": "1.5",
    "ha_down_after": "3",
    "ha_fence_timeout": "20",
    "ha_stale_after": "3",
}
#: Seconds a guest has to reach a state (a TCG guest boots to firmware in about a second).
STATE_TIMEOUT = 90.0
#: How late after ``ha_down_after`` of silence a host may be declared: one check interval,
#: a heartbeat and a second check that each time out, and scheduling slack on a busy machine.
DETECTION_SLACK = 0.5 + 1 + 1 + 2.0
HOSTS = ("hv1", "hv2", "hv3")


@dataclass
class HaCloud:
    """One test's deployment."""

    group: ProcessGroup
    database: Database
    daemons: dict[str, PrivateLibvirtd]
    scope: Scope
    host_ids: dict[str, str] = field(default_factory=dict)
    workers: list[ManagedProcess] = field(default_factory=list)

    def start_worker(self, name: str, **settings: str) -> ManagedProcess:
        env = self.group.env(**{**HA, **settings})
        args = ["worker", "--threads", "2", "--poll", "0.2", "--stale-after", HA["ha_stale_after"]]
        worker = self.group._spawn(name, args, env)
        self.workers.append(worker)
        self.group.wait_ready(worker)
        return worker

    def computes(self) -> dict[str, Compute]:
        with self.database.transaction() as session:
            rows = {c.name: c for c in session.scalars(sa.select(Compute))}
            session.expunge_all()
        return rows

    def host_item(self, host: str) -> HaItem | None:
        with self.database.transaction() as session:
            item = session.scalar(
                sa.select(HaItem)
                .where(HaItem.kind == HaItemKind.HOST, HaItem.host_id == self.host_ids[host])
                .order_by(HaItem.created.desc())
            )
            if item is not None:
                session.expunge(item)
            return item

    def explain(self) -> str:
        with self.database.transaction() as session:
            lines = [
                f"{item.kind.value} {item.compute_id or item.host_id} {item.step.value}: "
                + "; ".join(f"{h.step}: {h.detail}" for h in steps)
                for item, steps in operator.history(session, limit=50)
            ]
        return "\n".join(lines) + "\n" + self.group.logs()


def _provision(
    group: ProcessGroup, database: Database, daemons: dict[str, PrivateLibvirtd]
) -> HaCloud:
    # In this process rather than with the CLI: each CLI process costs seconds here.
    upgrade(database)
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024))
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.ensure_root()
        account = tenancy.create_account(Scope.system(root), "tenant", root.id, AccountType.USER)
        tenancy.create_user(Scope.system(root), account.id, "alice", "alice-password-1")
    with database.transaction() as session:
        cluster = add_cluster(session, "qemu", cpu_overprovisioning=16.0)
        ids = {}
        for name, daemon in daemons.items():
            host = Host(cluster_id=cluster.id, name=name, uri=daemon.uri, hypervisor_type="qemu",
                        cpu_cores=2, cpu_mhz=2000, memory_mib=4096)  # fmt: skip
            session.add(host)
            session.flush()
            ids[name] = host.id
            run_dir = daemon.run_dir
            operator.set_fence_config(session, name, "process", {
                "pid_file": str(run_dir / "libvirtd.pid"),
                "guest_pid_dir": str(run_dir / "libvirt" / "qemu" / "run"),
            })  # fmt: skip
        user_id = session.scalar(sa.select(User.id).where(User.username == "alice"))
        assert user_id is not None
        scope = CredentialService(session, hasher).scope_for_user_id(user_id)
    return HaCloud(group, database, daemons, scope, ids)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[HaCloud]:
    with contextlib.ExitStack() as stack:
        daemons = {name: stack.enter_context(private_libvirtd(name)) for name in HOSTS}
        url = stack.enter_context(private_mariadb("concord_ha"))
        group = ProcessGroup(tmp_path, url)
        database = Database(url)
        stack.callback(database.dispose)
        stack.callback(group.stop_all)
        # A daemon a test stopped must go on, or it cannot be stopped at the end.
        for daemon in daemons.values():
            stack.callback(_resume, daemon)
        with group.explain_failure():
            yield _provision(group, database, daemons)


def _resume(daemon: PrivateLibvirtd) -> None:
    if daemon.process is not None and daemon.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.process.pid, signal.SIGCONT)


def create_guests(cloud: HaCloud, spec: list[tuple[str, bool, int]]) -> None:
    """Create running guests (name, HA, priority), all on hv1, and wait until they run."""
    with cloud.database.transaction() as session:
        for name in ("hv2", "hv3"):  # so that every guest lands on hv1
            session.get(Host, cloud.host_ids[name]).allocation_state = AllocationState.DISABLED  # type: ignore[union-attr]
    with cloud.database.transaction() as session:
        service = ComputeService(session)
        for name, ha, priority in spec:
            compute, _ = service.create(cloud.scope, name=name, vcpus=1, memory_mib=64,
                                        ha_enabled=ha)  # fmt: skip
            compute.ha_priority = priority
    with cloud.database.transaction() as session:
        for name in ("hv2", "hv3"):
            session.get(Host, cloud.host_ids[name]).allocation_state = AllocationState.ENABLED  # type: ignore[union-attr]

    def running() -> bool:
        states = {c.state for c in cloud.computes().values()}
        if State.ERROR.value in states:
            raise AssertionError(f"a creation failed\n{cloud.explain()}")
        return states == {State.RUNNING.value}

    wait_until(running, STATE_TIMEOUT, "every guest to run", cloud.explain)
    assert {c.host_id for c in cloud.computes().values()} == {cloud.host_ids["hv1"]}


class TwiceWatch:
    """Samples, the whole time, where each guest runs; remembers any guest seen running twice.

    Live daemons are asked over connections of their own (with a deadline, so that a stopped
    one is skipped for that round); for a daemon that was killed, its guests' QEMU processes
    (by their pid files) are what may still run.
    """

    def __init__(self, cloud: HaCloud) -> None:
        self.cloud = cloud
        self.twice: dict[str, list[str]] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TwiceWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _running_on(self, daemon: PrivateLibvirtd) -> set[str]:
        if daemon.process is not None and daemon.process.poll() is None:

            def ask() -> set[str]:
                conn = libvirt.open(daemon.uri)
                try:
                    return {
                        d.name()
                        for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
                    }
                finally:
                    conn.close()

            with contextlib.suppress(Exception):
                return call_with_timeout(ask, 0.5)
        running = set()
        for pid_file in (daemon.run_dir / "libvirt" / "qemu" / "run").glob("*.pid"):
            with contextlib.suppress(ValueError, OSError):
                pid = int(pid_file.read_text())
                stat = Path(f"/proc/{pid}/stat").read_text()
                if stat[stat.rindex(")") + 2] not in "ZX":
                    running.add(pid_file.stem)
        return running

    def _run(self) -> None:
        while not self._stop.is_set():
            where: dict[str, list[str]] = {}
            for name, daemon in self.cloud.daemons.items():
                for domain in self._running_on(daemon):
                    where.setdefault(domain, []).append(name)
            for domain, hosts in where.items():
                if len(hosts) > 1:
                    self.twice[domain] = hosts
            self.samples += 1
            self._stop.wait(0.05)


def kill_host(daemon: PrivateLibvirtd) -> None:
    """The host dies: SIGKILL to the daemon's whole process group."""
    assert daemon.process is not None
    os.killpg(daemon.process.pid, signal.SIGKILL)
    daemon.process.wait(timeout=10)


def wait_done(cloud: HaCloud, host: str, timeout: float = STATE_TIMEOUT) -> HaItem:
    def done() -> HaItem | None:
        item = cloud.host_item(host)
        return item if item is not None and item.step is HaStep.DONE else None

    return wait_until(done, timeout, f"the recovery of {host} to end", cloud.explain)


def assert_counters_match_a_recount(database: Database) -> None:
    with database.transaction() as session:
        for host in session.scalars(sa.select(Host)):
            vcpus, memory = session.execute(
                sa.select(sa.func.coalesce(sa.func.sum(Compute.vcpus), 0),
                          sa.func.coalesce(sa.func.sum(Compute.memory_mib), 0))
                .where(Compute.host_id == host.id)
            ).one()  # fmt: skip
            assert (host.allocated_vcpus, host.allocated_memory_mib) == (vcpus, memory), host.name
        held = session.execute(
            sa.select(Compute.account_id, sa.func.count(), sa.func.sum(Compute.memory_mib))
            .where(Compute.quota_held.is_(True)).group_by(Compute.account_id)
        ).all()  # fmt: skip
        for account_id, count, memory in held:
            used = dict(
                session.execute(
                    sa.select(ResourceCount.resource_type, ResourceCount.used).where(
                        ResourceCount.owner_kind == LimitOwner.ACCOUNT,
                        ResourceCount.owner_id == account_id,
                    )
                ).all()
            )
            assert (used[ResourceType.INSTANCES], used[ResourceType.MEMORY]) == (count, memory)


def assert_each_item_handled_once(cloud: HaCloud, item: HaItem) -> None:
    with cloud.database.transaction() as session:
        steps = [h.step for h in queue.history_of(session, item.id)]
        assert steps.count("fencing") == 1 and steps.count("fenced") == 1, steps
        for child in session.scalars(sa.select(HaItem).where(HaItem.parent_id == item.id)):
            assert [h.step for h in queue.history_of(session, child.id)] == [
                "queued", "restarting", "restarted",
            ], child.compute_id  # fmt: skip
            jobs = session.scalar(
                sa.select(sa.func.count())
                .select_from(Job)
                .where(Job.target_id == child.compute_id, Job.action == "compute.start")
            )
            assert jobs == 1, child.compute_id


def test_a_killed_host_s_ha_guests_run_again_elsewhere_and_never_twice(cloud: HaCloud) -> None:
    cloud.start_worker("worker-1")
    cloud.start_worker("worker-2")
    guests = [("db", True, 100), ("web-1", True, 10), ("web-2", True, 10), ("batch", True, 0)]
    create_guests(cloud, [*guests, ("scratch-1", False, 0), ("scratch-2", False, 0)])
    with TwiceWatch(cloud) as watch:
        wait_until(lambda: watch.samples > 3, 10, "the watch to sample")
        kill_host(cloud.daemons["hv1"])
        item = wait_done(cloud, "hv1")
    assert watch.twice == {}, watch.twice
    assert watch.samples > 10
    computes = cloud.computes()
    for name in ("db", "web-1", "web-2", "batch"):
        compute = computes[name]
        assert compute.state == State.RUNNING, name
        assert compute.host_id in (cloud.host_ids["hv2"], cloud.host_ids["hv3"]), name
        assert compute.state_message == RESTARTED_MESSAGE
        conn = libvirt.open(
            cloud.daemons["hv2" if compute.host_id == cloud.host_ids["hv2"] else "hv3"].uri
        )
        try:
            assert conn.lookupByUUIDString(compute.guest_id).isActive()
        finally:
            conn.close()
    for name in ("scratch-1", "scratch-2"):
        assert (computes[name].state, computes[name].state_message) == (State.ERROR, LOST_MESSAGE)
    assert_counters_match_a_recount(cloud.database)
    assert_each_item_handled_once(cloud, item)
    # Priority order: the start of "db" was queued first.
    with cloud.database.transaction() as session:
        starts = session.execute(
            sa.select(Compute.name).join(Job, Job.target_id == Compute.id)
            .where(Job.action == "compute.start").order_by(Job.created, Job.id)
        ).scalars().all()  # fmt: skip
    assert starts[0] == "db"
    # Detection: not before ha_down_after of silence, and not much after; recovery: no
    # step ever waited for a stale claim or a fence deadline.
    detection = (item.created - item.last_ok).total_seconds()  # type: ignore[operator]
    assert float(HA["ha_down_after"]) <= detection <= float(HA["ha_down_after"]) + DETECTION_SLACK
    recovery = (item.finished - item.created).total_seconds()  # type: ignore[operator]
    assert recovery < float(HA["ha_fence_timeout"])
    with cloud.database.transaction() as session:
        history = [h.step for h in queue.history_of(session, item.id)]
        assert history == ["suspect", "detected", "fencing", "fenced", "guests", "done"]
        assert active_alerts(session) == []


def test_a_daemon_that_is_only_slow_starts_no_recovery(cloud: HaCloud) -> None:
    # A down_after well beyond the stop: the stop outlasts suspect_after, never down_after.
    cloud.start_worker("worker-1", ha_down_after="5")
    create_guests(cloud, [("db", True, 0)])
    daemon = cloud.daemons["hv1"]
    assert daemon.process is not None
    os.killpg(daemon.process.pid, signal.SIGSTOP)
    try:
        time.sleep(2.5)
    finally:
        os.killpg(daemon.process.pid, signal.SIGCONT)

    def up_again() -> bool:
        with cloud.database.transaction() as session:
            return any(s.name == "hv1" and s.health == "up" for s in operator.status(session))

    wait_until(up_again, 20, "hv1 to be up again", cloud.explain)
    time.sleep(5.0)  # whatever was in flight has landed
    with cloud.database.transaction() as session:
        types = [
            e.type for e in session.scalars(sa.select(Event).where(Event.resource_type == "host"))
        ]
    assert types == ["host.suspect", "host.up"]
    assert cloud.host_item("hv1") is None
    assert cloud.computes()["db"].host_id == cloud.host_ids["hv1"]
    assert cloud.computes()["db"].state == State.RUNNING


def test_a_host_that_answers_again_during_fencing_is_fenced_and_its_guests_run_once(
    cloud: HaCloud,
) -> None:
    with cloud.database.transaction() as session:
        operator.set_fence_config(session, "hv1", "libvirt", {})
    cloud.start_worker("worker-1")
    create_guests(cloud, [("db", True, 0), ("web", True, 0)])
    daemon = cloud.daemons["hv1"]
    assert daemon.process is not None
    with TwiceWatch(cloud) as watch:
        os.killpg(daemon.process.pid, signal.SIGSTOP)

        def fencing() -> bool:
            item = cloud.host_item("hv1")
            return item is not None and item.step is not HaStep.DETECTED

        wait_until(fencing, 30, "hv1 to be fenced", cloud.explain)
        os.killpg(daemon.process.pid, signal.SIGCONT)  # it answers again, mid-fence
        item = wait_done(cloud, "hv1")
    assert watch.twice == {}, watch.twice
    computes = cloud.computes()
    for name in ("db", "web"):
        assert computes[name].state == State.RUNNING
        assert computes[name].host_id != cloud.host_ids["hv1"]
    # The fence went through the connection that answered: the old guests are off there.
    conn = libvirt.open(daemon.uri)
    try:
        assert conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == []
    finally:
        conn.close()
    with cloud.database.transaction() as session:
        fenced = [h for h in queue.history_of(session, item.id) if h.step == "fenced"]
    assert "fenced by libvirt" in (fenced[0].detail or "")
    assert_counters_match_a_recount(cloud.database)


def test_a_worker_killed_mid_recovery_is_resumed_by_another(cloud: HaCloud) -> None:
    first = cloud.start_worker("worker-1")
    create_guests(cloud, [(f"g{i}", True, 0) for i in range(6)])
    kill_host(cloud.daemons["hv1"])

    def fenced() -> bool:
        item = cloud.host_item("hv1")
        return item is not None and item.step is HaStep.FENCED

    wait_until(fenced, 30, "hv1 to be fenced", cloud.explain)
    first.kill()
    item = cloud.host_item("hv1")
    assert item is not None and item.step is HaStep.FENCED  # mid-recovery, for sure
    with cloud.database.transaction() as session:
        pending = session.scalar(
            sa.select(sa.func.count())
            .select_from(HaItem)
            .where(HaItem.parent_id == item.id, HaItem.step != HaStep.RESTARTED)
        )
    assert pending, "the recovery ended before the worker was killed"
    cloud.start_worker("worker-2")
    item = wait_done(cloud, "hv1")
    for compute in cloud.computes().values():
        assert compute.state == State.RUNNING and compute.host_id != cloud.host_ids["hv1"]
    assert_counters_match_a_recount(cloud.database)
    assert_each_item_handled_once(cloud, item)


def test_the_storm_guard_holds_the_zone_until_an_operator_resumes_it(cloud: HaCloud) -> None:
    # One host of three is more than 30 %.
    cloud.start_worker("worker-1", ha_storm_share="0.3")
    create_guests(cloud, [("db", True, 0)])
    kill_host(cloud.daemons["hv1"])

    def held() -> HaItem | None:
        item = cloud.host_item("hv1")
        return item if item is not None and item.step is HaStep.HELD else None

    wait_until(held, 30, "hv1 to be held", cloud.explain)
    time.sleep(1.0)
    assert cloud.host_item("hv1").step is HaStep.HELD  # type: ignore[union-attr]
    assert cloud.computes()["db"].host_id == cloud.host_ids["hv1"]
    with cloud.database.transaction() as session:
        keys = [a.key for a in active_alerts(session, source="ha")]
    assert keys == [f"ha:storm:{cloud.computes()['db'].zone_id}"]
    out = run_cli(cloud.group.env(), "ha", "resume", "z1")
    assert out == "zone z1: 1 held host(s) released to HA\n"
    wait_done(cloud, "hv1")
    db = cloud.computes()["db"]
    assert db.state == State.RUNNING and db.host_id != cloud.host_ids["hv1"]
    with cloud.database.transaction() as session:
        assert active_alerts(session, source="ha") == []
