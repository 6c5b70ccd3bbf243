"""Monitoring, fencing and recovery over three simulated libvirt hosts, on SQLite and MariaDB.

A host dies for real: its node file is removed and its connection closed, so
both the heartbeat and the independent second connection fail. Fencing is
real too: the host's "machine" is a process group (a leader and a child,
with a pid file) that the ``process`` fencer kills; hosts without a fencing
configuration get the ``libvirt`` fencer, which cannot reach a dead host and
so never confirms.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud, create
from unit.engine.usage_facts import ALLOCATED_ONLY, held, last_fact, running_guest

from engine.compute.models import Compute
from engine.db import Database, utcnow
from engine.drivers.fencing.process import group_members
from engine.drivers.specs import PowerState
from engine.errors import InvalidInput
from engine.events.alerts import active_alerts
from engine.ha import operator, queue
from engine.ha.config import HaConfig
from engine.ha.fenced import LOST_MESSAGE
from engine.ha.models import HaHealth, HaItem, HaItemKind, HaStep
from engine.ha.monitor import HostMonitor
from engine.ha.recovery import Recovery
from engine.ha.restart import RESTARTED_MESSAGE, claim_jobs, place_guests
from engine.inventory.models import AllocationState, Host, HostState
from engine.jobs.models import Job, JobState
from engine.lifecycle import State
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.quota_models import ResourceCount

CONFIG = HaConfig(suspect_after=3.0, down_after=6.0, probe_timeout=5.0, stale_after=0.3)


def running(cloud: Cloud, name: str, **kwargs: object) -> str:
    compute_id, _ = create(cloud, name=name, vcpus=1, memory_mib=256, **kwargs)  # type: ignore[arg-type]
    cloud.run_jobs()
    compute = cloud.compute(compute_id)
    assert compute.state == State.RUNNING
    assert compute.host_id == cloud.ids["host-1"]
    return compute_id


def kill_host(cloud: Cloud, name: str = "host-1") -> None:
    uri = cloud.host(name).uri
    Path(uri.removeprefix("test://")).unlink()
    cloud.pool.close(uri)


def declare_down(cloud: Cloud, monitor: HostMonitor, name: str = "host-1") -> dt.datetime:
    """Kill a host and run the monitor across its thresholds; return the time it was declared."""
    t0 = utcnow()
    assert monitor.check_once(t0)[cloud.ids[name]] is HaHealth.UP
    kill_host(cloud, name)
    assert monitor.check_once(t0 + dt.timedelta(seconds=1))[cloud.ids[name]] is HaHealth.UP
    assert monitor.check_once(t0 + dt.timedelta(seconds=4))[cloud.ids[name]] is HaHealth.SUSPECT
    assert cloud.host(name).state is HostState.UP  # suspect is HA's own: still placeable
    down = t0 + dt.timedelta(seconds=7)
    assert monitor.check_once(down)[cloud.ids[name]] is HaHealth.DOWN
    assert cloud.host(name).state is HostState.DOWN
    return down


def recover(cloud: Cloud, recovery: Recovery, rounds: int = 6) -> None:
    for _ in range(rounds):
        recovery.run_once()
        cloud.run_jobs()


def assert_counters_match_a_recount(database: Database) -> None:
    with database.transaction() as session:
        for host in session.scalars(sa.select(Host)):
            vcpus, memory = session.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(Compute.vcpus), 0),
                    sa.func.coalesce(sa.func.sum(Compute.memory_mib), 0),
                ).where(Compute.host_id == host.id)
            ).one()
            assert (host.allocated_vcpus, host.allocated_memory_mib) == (vcpus, memory), host.name
        rows = session.execute(
            sa.select(Compute.account_id, sa.func.count(), sa.func.sum(Compute.vcpus))
            .where(Compute.quota_held.is_(True))
            .group_by(Compute.account_id)
        ).all()
        for account_id, count, vcpus in rows:
            used = dict(
                session.execute(
                    sa.select(ResourceCount.resource_type, ResourceCount.used).where(
                        ResourceCount.owner_kind == LimitOwner.ACCOUNT,
                        ResourceCount.owner_id == account_id,
                    )
                ).all()
            )
            assert used[ResourceType.INSTANCES] == count
            assert used[ResourceType.CPU] == vcpus


def host_uri(cloud: Cloud, host_id: str | None) -> str:
    with cloud.database.transaction() as session:
        host = session.get(Host, host_id)
        assert host is not None
        return host.uri


def host_item(cloud: Cloud, name: str = "host-1") -> HaItem:
    with cloud.database.transaction() as session:
        item = session.scalar(
            sa.select(HaItem).where(
                HaItem.kind == HaItemKind.HOST, HaItem.host_id == cloud.ids[name]
            )
        )
        assert item is not None
        return item


def steps(cloud: Cloud, item_id: str) -> list[str]:
    with cloud.database.transaction() as session:
        return [h.step for h in queue.history_of(session, item_id)]


def fence_with_process(cloud: Cloud, pid_file: Path) -> None:
    with cloud.database.transaction() as session:
        operator.set_fence_config(session, "host-1", "process", {"pid_file": str(pid_file)})


def test_a_dead_host_is_fenced_and_its_ha_guests_restart_elsewhere(
    cloud: Cloud, machine: Path
) -> None:
    low = running(cloud, "low", ha_enabled=True)
    high = running(cloud, "high", ha_enabled=True)
    plain = running(cloud, "plain", ha_enabled=False)
    with cloud.database.transaction() as session:
        from engine.ha.flags import set_compute_ha

        set_compute_ha(session, cloud.scopes["alice"], high, priority=10)
    fence_with_process(cloud, machine)
    monitor = HostMonitor(cloud.database, cloud.drivers, CONFIG)
    declare_down(cloud, monitor)
    item = host_item(cloud)
    assert item.step is HaStep.DETECTED
    assert steps(cloud, item.id) == ["suspect", "detected"]
    recovery = Recovery(cloud.database, cloud.drivers, CONFIG, worker_id="ha-1")
    recover(cloud, recovery)

    assert group_members(int(machine.read_text())) == []  # the machine is off
    item = host_item(cloud)
    assert item.step is HaStep.DONE and item.active_key is None
    assert steps(cloud, item.id) == ["suspect", "detected", "fencing", "fenced", "guests", "done"]
    for compute_id in (low, high):
        compute = cloud.compute(compute_id)
        assert compute.state == State.RUNNING
        assert compute.host_id in (cloud.ids["host-2"], cloud.ids["host-3"])
        assert cloud.drivers(host_uri(cloud, compute.host_id)).guest_state(
            cloud.guest(compute_id)
        ) is (PowerState.RUNNING)
        assert compute.state_message == "restarted on another host after its host failed"
    lost = cloud.compute(plain)
    assert (lost.state, lost.state_message) == (State.ERROR, LOST_MESSAGE)
    assert_counters_match_a_recount(cloud.database)
    # Priority order: the high-priority guest was queued and restarted first.
    with cloud.database.transaction() as session:
        guests = session.scalars(
            sa.select(HaItem).where(HaItem.parent_id == item.id).order_by(HaItem.job_id)
        ).all()
        by_compute = {g.compute_id: g for g in guests}
        assert {g.step for g in guests} == {HaStep.RESTARTED}
        assert by_compute[high].finished <= by_compute[low].finished  # type: ignore[operator]
        timings = operator.timings(session)
    assert timings.detection_count == 1 and timings.recovery_count == 1
    types = [e.type for e in cloud.events() if e.resource_type == "host"]
    assert types == ["host.suspect", "host.down", "host.fencing", "host.fenced", "host.recovered"]
    assert "compute.ha.restarting" in cloud.event_types(low)
    assert "compute.ha.lost" in cloud.event_types(plain)
    # Usage follows (issue 13): the restarted guests run on their new host,
    # the lost one holds its placement only, as its events say.
    for compute_id in (low, high):
        assert held(cloud, compute_id) == running_guest(1, 256)
        assert last_fact(cloud, compute_id, "host_id") == cloud.compute(compute_id).host_id
    assert held(cloud, plain) == ALLOCATED_ONLY


def test_an_ha_guest_no_host_can_take_is_in_error_and_metered_as_allocated_only(
    cloud: Cloud, machine: Path
) -> None:
    guest = running(cloud, "guest", ha_enabled=True)
    assert held(cloud, guest) == running_guest(1, 256)
    with cloud.database.transaction() as session:
        session.execute(
            sa.update(Host)
            .where(Host.id.in_([cloud.ids["host-2"], cloud.ids["host-3"]]))
            .values(allocation_state=AllocationState.DISABLED)
        )
    fence_with_process(cloud, machine)
    declare_down(cloud, HostMonitor(cloud.database, cloud.drivers, CONFIG))
    recover(cloud, Recovery(cloud.database, cloud.drivers, CONFIG, worker_id="ha-1"))
    compute = cloud.compute(guest)
    assert compute.state == State.ERROR
    assert compute.state_message is not None
    assert compute.state_message.startswith("its host failed and no other host can take it")
    # The failure recorded its usage event with the state change: the guest
    # stopped running when HA gave up on it, and still holds its placement.
    assert cloud.event_types(guest)[-1] == "compute.ha.failed"
    assert last_fact(cloud, guest, "state") == State.ERROR.value
    assert held(cloud, guest) == ALLOCATED_ONLY


def test_an_unconfirmed_fence_waits_for_an_operator(cloud: Cloud) -> None:
    guest = running(cloud, "web", ha_enabled=True)
    monitor = HostMonitor(cloud.database, cloud.drivers, CONFIG)
    declare_down(cloud, monitor)
    recovery = Recovery(cloud.database, cloud.drivers, CONFIG, worker_id="ha-1")
    recover(cloud, recovery)
    item = host_item(cloud)
    assert item.step is HaStep.AWAITING_OPERATOR
    assert "--confirm" in (item.message or "")
    with cloud.database.transaction() as session:
        alerts = [a.key for a in active_alerts(session, source="ha")]
    assert alerts == [f"ha:fence:{cloud.ids['host-1']}"]
    # Nothing moves on its own, however long it waits.
    recover(cloud, recovery)
    assert cloud.compute(guest).host_id == cloud.ids["host-1"]
    assert cloud.compute(guest).state == State.RUNNING

    with cloud.database.transaction() as session:
        operator.confirm_fenced(session, "host-1")
    recover(cloud, recovery)
    assert cloud.compute(guest).host_id != cloud.ids["host-1"]
    assert cloud.compute(guest).state == State.RUNNING
    assert host_item(cloud).step is HaStep.DONE
    with cloud.database.transaction() as session:
        assert active_alerts(session, source="ha") == []
    assert_counters_match_a_recount(cloud.database)


def test_an_unconfirmed_fence_is_tried_again_with_back_off_until_confirmed(
    cloud: Cloud, machine: Path
) -> None:
    guest = running(cloud, "web", ha_enabled=True)
    config = HaConfig(
        suspect_after=3.0,
        down_after=6.0,
        probe_timeout=5.0,
        stale_after=0.3,
        fence_retry_first=1.0,
        fence_retry_max=2.0,
    )
    declare_down(cloud, HostMonitor(cloud.database, cloud.drivers, config))
    recovery = Recovery(cloud.database, cloud.drivers, config, worker_id="ha-1")

    def delay() -> int:
        """The back-off after the last unconfirmed attempt: ``retry_at`` minus its time."""
        item = host_item(cloud)
        with cloud.database.transaction() as session:
            waits = [
                h.at for h in queue.history_of(session, item.id) if h.step == "awaiting_operator"
            ]
        assert item.retry_at is not None and waits
        return round((item.retry_at - waits[-1]).total_seconds())

    recovery.run_once()  # the libvirt fencer cannot reach a dead host
    assert host_item(cloud).step is HaStep.AWAITING_OPERATOR
    assert delay() == 1
    recovery.run_once()  # not due yet: nothing is tried
    assert steps(cloud, host_item(cloud).id).count("fencing") == 1
    time.sleep(1.1)
    recovery.run_once()
    assert steps(cloud, host_item(cloud).id).count("fencing") == 2
    assert delay() == 2  # doubled
    time.sleep(2.1)
    recovery.run_once()
    assert steps(cloud, host_item(cloud).id).count("fencing") == 3
    assert delay() == 2  # capped at fence_retry_max
    assert cloud.compute(guest).host_id == cloud.ids["host-1"]  # nothing restarted meanwhile
    with cloud.database.transaction() as session:
        assert [a.key for a in active_alerts(session, source="ha")] == [
            f"ha:fence:{cloud.ids['host-1']}"
        ]
    # The operator repairs the fencing path (here: the fencer that reaches the
    # machine); the next scheduled attempt confirms, with no --confirm needed.
    fence_with_process(cloud, machine)
    time.sleep(2.1)
    recover(cloud, recovery)
    item = host_item(cloud)
    assert item.step is HaStep.DONE and item.retry_at is None
    assert group_members(int(machine.read_text())) == []
    assert steps(cloud, item.id).count("fencing") == 4
    assert cloud.compute(guest).state == State.RUNNING
    assert cloud.compute(guest).host_id != cloud.ids["host-1"]
    with cloud.database.transaction() as session:
        assert active_alerts(session, source="ha") == []
    types = [e.type for e in cloud.events() if e.resource_type == "host"]
    assert types.count("host.fence_unconfirmed") == 3
    assert_counters_match_a_recount(cloud.database)


def test_a_host_that_answers_the_second_check_is_never_declared_down(cloud: Cloud) -> None:
    """The heartbeat fails (simulated: a stuck shared connection), a fresh connection answers."""
    monitor = HostMonitor(cloud.database, cloud.drivers, CONFIG)
    t0 = utcnow()
    monitor.check_once(t0)
    # The heartbeat's connection breaks (node file gone for the pool), the
    # host itself still answers a new connection: the witness is that answer.
    uri = cloud.host("host-1").uri
    node = Path(uri.removeprefix("test://"))
    saved = node.read_bytes()
    kill_host(cloud)
    answers: list[str] = []

    def witness(uri: str) -> None:
        answers.append(uri)  # the host answers through the second path

    monitor.witness = witness
    for seconds in (4, 7, 10, 30, 60):
        state = monitor.check_once(t0 + dt.timedelta(seconds=seconds))[cloud.ids["host-1"]]
        assert state is HaHealth.SUSPECT
    assert len(answers) == 3  # asked only once silent for down_after since the last answer
    node.write_bytes(saved)
    assert monitor.check_once(t0 + dt.timedelta(seconds=61))[cloud.ids["host-1"]] is HaHealth.UP
    assert cloud.host("host-1").state is HostState.UP
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HaItem)) == 0


def test_the_storm_guard_holds_a_zone_until_an_operator_releases_it(
    cloud: Cloud, machine: Path
) -> None:
    guest = running(cloud, "web", ha_enabled=True)
    fence_with_process(cloud, machine)
    stormy = HaConfig(suspect_after=3.0, down_after=6.0, storm_share=0.3, stale_after=0.3)
    monitor = HostMonitor(cloud.database, cloud.drivers, stormy)
    declare_down(cloud, monitor)  # 1 of 3 hosts is more than 30 %
    recovery = Recovery(cloud.database, cloud.drivers, stormy, worker_id="ha-1")
    recover(cloud, recovery)
    item = host_item(cloud)
    assert item.step is HaStep.HELD
    assert group_members(int(machine.read_text())) != []  # nothing was fenced
    with cloud.database.transaction() as session:
        (alert,) = active_alerts(session, source="ha")
    assert (
        alert.key == f"ha:storm:{cloud.ids['zone']}" and "1 of the zone's 3 hosts" in alert.message
    )
    with cloud.database.transaction() as session:
        assert operator.resume_zone(session, "z1") == 1
    recover(cloud, recovery)
    assert host_item(cloud).step is HaStep.DONE
    assert cloud.compute(guest).state == State.RUNNING
    assert cloud.compute(guest).host_id != cloud.ids["host-1"]
    with cloud.database.transaction() as session:
        assert active_alerts(session, source="ha") == []


def test_a_recovery_that_dies_mid_way_is_resumed_by_another_process(
    cloud: Cloud, machine: Path
) -> None:
    guests = [running(cloud, f"g{i}", ha_enabled=True) for i in range(3)]
    fence_with_process(cloud, machine)
    declare_down(cloud, HostMonitor(cloud.database, cloud.drivers, CONFIG))
    # A process claims the host item, fences the host, places the guests and
    # claims their start jobs, and dies there (no release, no heartbeat).
    dead = Recovery(cloud.database, cloud.drivers, CONFIG, worker_id="ha-dies")
    with cloud.database.transaction() as session:
        claimed = queue.claim(session, "ha-dies", CONFIG.stale)
        assert claimed is not None and claimed.kind is HaItemKind.HOST
    assert dead._fence(claimed.id) is HaStep.FENCED
    with cloud.database.transaction() as session:
        item = session.get(HaItem, claimed.id)
        assert item is not None
        assert place_guests(session, item) == 3
        jobs = claim_jobs(session, item, "ha-dies", CONFIG.stale)
    assert len(jobs) == 3
    cloud.run_jobs()  # the job workers leave the jobs alone: they are claimed
    patient = HaConfig(stale_after=5.0)
    second = Recovery(cloud.database, cloud.drivers, patient, worker_id="ha-2")
    assert second.run_once() == 0  # held by the dead one, not stale yet
    for compute_id in guests:
        assert cloud.compute(compute_id).state == State.STARTING
    time.sleep(patient.stale_after + 0.1)
    # Taken over: the item and the start jobs, which run once, on the new hosts.
    assert second.run_once() == 1
    for compute_id in guests:
        compute = cloud.compute(compute_id)
        assert compute.state == State.RUNNING
        assert compute.host_id != cloud.ids["host-1"]
        assert compute.state_message == RESTARTED_MESSAGE
    item = host_item(cloud)
    assert item.step is HaStep.DONE
    with cloud.database.transaction() as session:
        for job in session.scalars(sa.select(Job).where(Job.id.in_([j.job_id for j in jobs]))):
            assert (job.state, job.attempts, job.claimed_by) == (JobState.SUCCESS, 2, "ha-2")
        for child in session.scalars(sa.select(HaItem).where(HaItem.parent_id == item.id)):
            assert [h.step for h in queue.history_of(session, child.id)] == [
                "queued",
                "restarting",
                "restarted",
            ]
    assert steps(cloud, item.id).count("fencing") == 1
    assert_counters_match_a_recount(cloud.database)


def test_two_processes_racing_for_the_queue_handle_each_item_once(
    cloud: Cloud, machine: Path
) -> None:
    guests = [running(cloud, f"g{i}", ha_enabled=True) for i in range(4)]
    fence_with_process(cloud, machine)
    declare_down(cloud, HostMonitor(cloud.database, cloud.drivers, CONFIG))
    slow = HaConfig(stale_after=60.0)
    racers = [Recovery(cloud.database, cloud.drivers, slow, worker_id=f"ha-{i}") for i in (1, 2)]
    for _ in range(4):
        barrier = threading.Barrier(2)

        def run(recovery: Recovery, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            recovery.run_once()

        threads = [threading.Thread(target=run, args=(r,)) for r in racers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cloud.run_jobs()
    item = host_item(cloud)
    assert item.step is HaStep.DONE
    assert steps(cloud, item.id).count("fencing") == 1
    with cloud.database.transaction() as session:
        children = session.scalars(sa.select(HaItem).where(HaItem.parent_id == item.id)).all()
        assert len(children) == 4
        for child in children:
            assert [h.step for h in queue.history_of(session, child.id)] == [
                "queued",
                "restarting",
                "restarted",
            ]
    for compute_id in guests:
        starts = [t for t in cloud.event_types(compute_id) if t == "compute.ha.restarting"]
        assert len(starts) == 1
    assert_counters_match_a_recount(cloud.database)


def test_a_claim_is_taken_by_exactly_one_of_two_processes(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        operator.open_item(session, "host-2", "declared down by a test")
    with cloud.database.transaction() as first, cloud.database.transaction() as second:
        got = queue.claim(first, "a", CONFIG.stale)
        assert got is not None
        first.commit()
        assert queue.claim(second, "b", dt.timedelta(seconds=60)) is None


def test_fence_configuration_is_validated_and_stored(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        assert operator.fence_config(session, "host-1") == ("libvirt", {}, False)
        with pytest.raises(InvalidInput, match="no option"):
            operator.set_fence_config(session, "host-1", "process", {"pid": "1"})
        operator.set_fence_config(session, "host-1", "process", {"pgid": "4242"})
        assert operator.fence_config(session, "host-1") == ("process", {"pgid": "4242"}, True)
        rows = {row.name: row for row in operator.status(session)}
        assert rows["host-1"].fencer == "process" and rows["host-2"].fencer == "libvirt"


def test_a_host_s_guests_are_restarted_in_batches_in_priority_order(
    cloud: Cloud, machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.ha.recovery.RESTART_BATCH", 2)
    guests = [running(cloud, f"g{i}", ha_enabled=True) for i in range(3)]
    with cloud.database.transaction() as session:
        from engine.ha.flags import set_compute_ha

        set_compute_ha(session, cloud.scopes["alice"], guests[2], priority=5)
    fence_with_process(cloud, machine)
    declare_down(cloud, HostMonitor(cloud.database, cloud.drivers, CONFIG))
    Recovery(cloud.database, cloud.drivers, CONFIG, worker_id="ha-1").run_once()
    item = host_item(cloud)
    assert item.step is HaStep.DONE
    with cloud.database.transaction() as session:
        children = session.scalars(sa.select(HaItem).where(HaItem.parent_id == item.id)).all()
        jobs = {
            job.target_id: job
            for job in session.scalars(sa.select(Job).where(Job.action == "compute.start"))
        }
    by_compute = {child.compute_id: child for child in children}
    assert {child.step for child in children} == {HaStep.RESTARTED}
    # Two batches: the highest priority in the first, the last guest in the second.
    assert jobs[guests[2]].created < jobs[guests[0]].created < jobs[guests[1]].created
    assert by_compute[guests[1]].finished > by_compute[guests[0]].finished  # type: ignore[operator]
    for compute_id in guests:
        assert cloud.compute(compute_id).state == State.RUNNING
        assert cloud.compute(compute_id).host_id != cloud.ids["host-1"]
    assert_counters_match_a_recount(cloud.database)
