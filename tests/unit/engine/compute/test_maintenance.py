"""Host maintenance on simulated libvirt hosts: drain, blockers, cancel, placement.

``test:///`` hosts cannot migrate live, so guests move cold here (stopped,
defined on the destination from the database, started); the live path
between two QEMU hosts is in tests/integration/test_maintenance_qemu.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud, add_volume, build_cloud, create, perform
from unit.engine.compute.test_compute_handlers import crash_after_hypervisor_step
from unit.engine.usage_facts import ALLOCATED_ONLY, held, last_fact, running_guest

from engine.compute.maintenance import DRAIN, MIGRATE, MaintenanceService
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.specs import PowerState
from engine.errors import Conflict, PermissionDenied
from engine.events.alerts import active_alerts
from engine.inventory.models import AllocationState, Host, HostState, StoragePool
from engine.jobs.models import Job, JobState
from engine.lifecycle import Action, State
from engine.storage.models import Volume
from engine.tenancy.passwords import PasswordHasher

RESUME = "resume or stop it first"


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def guest(cloud: Cloud, name: str, *, start: bool = True) -> str:
    compute_id, _ = create(cloud, name=name, start=start)
    cloud.run_jobs()
    assert cloud.compute(compute_id).host_id == cloud.ids["host-1"]
    return compute_id


def on_host_1(cloud: Cloud, *names: str) -> list[str]:
    # host-2 takes no guest while they are created, so all land on host-1.
    set_allocation(cloud, "host-2", AllocationState.DISABLED)
    ids = [guest(cloud, name, start=name != "cold") for name in names]
    set_allocation(cloud, "host-2", AllocationState.ENABLED)
    return ids


def set_allocation(cloud: Cloud, host: str, state: AllocationState) -> None:
    with cloud.database.transaction() as session:
        session.execute(sa.update(Host).where(Host.name == host).values(allocation_state=state))


def start(cloud: Cloud, host: str = "host-1") -> str | None:
    with cloud.database.transaction() as session:
        job = MaintenanceService(session).start(cloud.root, cloud.ids[host])
        return job.id if job else None


def alerts(cloud: Cloud) -> list[str]:
    with cloud.database.transaction() as session:
        return [a.message for a in active_alerts(session, source="maintenance")]


def test_a_drain_moves_every_guest_and_keeps_their_states(cloud: Cloud) -> None:
    web, db, cold = on_host_1(cloud, "web", "db", "cold")
    job_id = start(cloud)
    assert job_id is not None
    assert cloud.host("host-1").state is HostState.MAINTENANCE
    # No new guest goes to a host in maintenance, from the moment it is in it.
    late = create(cloud, name="late")[0]
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.SUCCESS
    assert cloud.compute(late).host_id == cloud.ids["host-2"]
    for compute_id in (web, db, cold):
        compute = cloud.compute(compute_id)
        assert compute.host_id == compute.last_host_id == cloud.ids["host-2"]
        assert compute.state_message is None
        assert cloud.event_types(compute_id)[-1] == "compute.migrated"
        # Usage: the move recorded where the guest now is, and what it holds is unchanged.
        assert last_fact(cloud, compute_id, "host_id") == cloud.ids["host-2"]
    assert held(cloud, web) == running_guest(
        cloud.compute(web).vcpus, cloud.compute(web).memory_mib
    )
    assert held(cloud, cold) == ALLOCATED_ONLY
    assert cloud.compute(cold).state == State.STOPPED
    assert cloud.driver("host-2").guest_state(cloud.guest(cold)) is PowerState.SHUTOFF
    assert cloud.driver("host-2").guest_state(cloud.guest(web)) is PowerState.RUNNING
    assert cloud.driver("host-1").list_guests() == {}
    # Capacity followed the guests.
    assert (cloud.host("host-1").allocated_vcpus, cloud.host("host-2").allocated_vcpus) == (0, 4)
    migrated = next(e for e in cloud.events(web) if e.type == "compute.migrated")
    assert migrated.payload["source_host_id"] == cloud.ids["host-1"]
    assert migrated.payload["live"] is False  # test:/// hosts move cold
    with cloud.database.transaction() as session:
        status = MaintenanceService(session).status(cloud.root, cloud.ids["host-1"])
        assert status.drained
        parents = set(session.scalars(sa.select(Job.parent_job_id).where(Job.action == MIGRATE)))
    assert parents == {job_id}
    assert alerts(cloud) == []
    # The moved guests still obey their owner.
    assert perform(cloud, cold, Action.START).state is JobState.SUCCESS
    assert perform(cloud, web, Action.STOP).state is JobState.SUCCESS


def test_guests_that_cannot_move_block_the_drain_and_say_why(cloud: Cloud) -> None:
    web, local, paused = on_host_1(cloud, "web", "local", "paused")
    volume_id = add_volume(cloud, local)
    with cloud.database.transaction() as session:  # in host-1's local pool
        pool_id = session.scalar(
            sa.select(StoragePool.id).where(StoragePool.host_id == cloud.ids["host-1"])
        )
        session.execute(sa.update(Volume).where(Volume.id == volume_id).values(pool_id=pool_id))
    assert perform(cloud, paused, Action.PAUSE).state is JobState.SUCCESS
    job_id = start(cloud)
    assert job_id is not None
    cloud.run_jobs()
    result = cloud.job(job_id).result
    assert result["moving"] == [web]
    assert result["blocked"] == [
        {
            "compute_id": local,
            "name": "local",
            "reason": "volume data is on the host's local storage pool host-1-images",
        },
        {
            "compute_id": paused,
            "name": "paused",
            "reason": "it is paused and cannot move live to another host: resume or stop it first",
        },
    ]
    assert cloud.compute(paused).state_message is None
    assert cloud.compute(web).host_id == cloud.ids["host-2"]
    assert cloud.compute(local).host_id == cloud.ids["host-1"]
    assert alerts(cloud) == [
        "host host-1 cannot be drained; blocked by local "
        "(volume data is on the host's local storage pool host-1-images), paused "
        "(it is paused and cannot move live to another host: resume or stop it first)"
    ]
    with cloud.database.transaction() as session:
        status = MaintenanceService(session).status(cloud.root, cloud.ids["host-1"])
        assert not status.drained
        assert [(b.name, b.reason) for b in status.blocked] == [
            ("local", "volume data is on the host's local storage pool host-1-images"),
            (
                "paused",
                "it is paused and cannot move live to another host: resume or stop it first",
            ),
        ]
    # The owners delete one guest and stop the other; draining again moves what is left.
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], local)
    cloud.run_jobs()
    assert perform(cloud, paused, Action.FORCE_STOP).state is JobState.SUCCESS
    assert start(cloud) is not None
    cloud.run_jobs()
    assert cloud.compute(paused).host_id == cloud.ids["host-2"]
    assert start(cloud) is None
    assert alerts(cloud) == []


def test_no_room_elsewhere_blocks(cloud: Cloud) -> None:
    (web,) = on_host_1(cloud, "web")
    set_allocation(cloud, "host-2", AllocationState.DISABLED)
    job_id = start(cloud)
    assert job_id is not None
    cloud.run_jobs()
    [blocked] = cloud.job(job_id).result["blocked"]
    assert blocked["reason"] == "no other host can take it (capacity, tags or storage reach)"
    assert cloud.compute(web).host_id == cloud.ids["host-1"]
    # Room appears: draining again moves it.
    set_allocation(cloud, "host-2", AllocationState.ENABLED)
    assert start(cloud) is not None
    cloud.run_jobs()
    assert cloud.compute(web).host_id == cloud.ids["host-2"]


def test_cancel_ends_maintenance_and_the_moves_not_started(cloud: Cloud) -> None:
    web, db = on_host_1(cloud, "web", "db")
    before = cloud.host("host-2").allocated_vcpus
    start(cloud)
    assert cloud.worker.run_once()  # the drain plans the moves...
    assert cloud.host("host-2").allocated_vcpus == before + 2  # ...claiming room there
    assert cloud.compute(web).state_message == "moving to another host for host maintenance"
    with cloud.database.transaction() as session:
        host, cancelled = MaintenanceService(session).cancel(cloud.root, cloud.ids["host-1"])
        assert host.state is HostState.UP
    assert cancelled == 2
    assert cloud.run_jobs() == 0
    assert cloud.host("host-2").allocated_vcpus == before
    for compute_id in (web, db):
        compute = cloud.compute(compute_id)
        assert (compute.host_id, compute.state_message) == (cloud.ids["host-1"], None)
    with cloud.database.transaction() as session:
        states = session.scalars(sa.select(Job.state).where(Job.action == MIGRATE)).all()
    assert set(states) == {JobState.CANCELLED}
    with cloud.database.transaction() as session, pytest.raises(Conflict, match="not in"):
        MaintenanceService(session).cancel(cloud.root, cloud.ids["host-1"])


def test_a_drain_cancelled_before_it_ran_does_nothing(cloud: Cloud) -> None:
    (web,) = on_host_1(cloud, "web")
    job_id = start(cloud)
    with cloud.database.transaction() as session:
        MaintenanceService(session).cancel(cloud.root, cloud.ids["host-1"])
    cloud.run_jobs()
    assert cloud.job(str(job_id)).state is JobState.CANCELLED
    assert cloud.compute(web).host_id == cloud.ids["host-1"]


def test_only_up_hosts_go_into_maintenance_and_only_root_admins_ask(cloud: Cloud) -> None:
    on_host_1(cloud, "web")
    with cloud.database.transaction() as session:
        session.execute(sa.update(Host).values(state=HostState.DISCONNECTED))
    with cloud.database.transaction() as session, pytest.raises(Conflict, match="disconnected"):
        MaintenanceService(session).start(cloud.root, cloud.ids["host-1"])
    for user in ("alice", "acmeadmin"):
        with cloud.database.transaction() as session, pytest.raises(PermissionDenied):
            MaintenanceService(session).start(cloud.scopes[user], cloud.ids["host-1"])
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Job.action == DRAIN)) == 0


def test_a_move_rerun_after_a_crash_records_the_guest_where_it_went(cloud: Cloud) -> None:
    (web,) = on_host_1(cloud, "web")
    start(cloud)
    assert cloud.worker.run_once()  # the drain
    with cloud.database.transaction() as session:
        move = session.scalars(sa.select(Job).where(Job.action == MIGRATE)).one()
    # The worker moved the guest and died before recording it: the hypervisor
    # step is done, the database knows nothing of it, the job runs again.
    crash_after_hypervisor_step(cloud, move.id)
    assert cloud.driver("host-2").guest_state(cloud.guest(web)) is PowerState.RUNNING
    assert cloud.guest(web) not in cloud.driver("host-1").list_guests()
    cloud.run_jobs()
    assert cloud.job(move.id).state is JobState.SUCCESS
    compute = cloud.compute(web)
    assert (compute.host_id, compute.state) == (cloud.ids["host-2"], State.RUNNING)
    assert cloud.host("host-1").allocated_vcpus == 0
