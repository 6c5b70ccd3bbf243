"""Reconciliation of compute records with simulated libvirt hosts, on SQLite and MariaDB.

Divergence is created for real: guests are destroyed or undefined through
libvirt behind the engine's back, a host "restarts" by dropping its
connection (a ``test:///`` host then comes back empty, as after a server
restart), a host becomes unreachable by losing its node file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud, CrashReasons, RealDriver, build_cloud, create, perform

from engine.compute.reconcile import ReconcileReport, reconcile, run_reconciliation
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import GuestSpec, PowerState
from engine.errors import PermissionDenied
from engine.inventory.models import Host, HostState
from engine.jobs.models import Job, JobState
from engine.jobs.service import JobService
from engine.lifecycle import Action, State
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def run(cloud: Cloud) -> ReconcileReport:
    with cloud.database.transaction() as session:
        return reconcile(session, cloud.drivers)


def running(cloud: Cloud, name: str = "web", **kwargs: object) -> str:
    compute_id, _ = create(cloud, name=name, **kwargs)  # type: ignore[arg-type]
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    return compute_id


def domain(cloud: Cloud, compute_id: str, host: str = "host-1") -> libvirt.virDomain:
    """The raw libvirt domain, to act behind the engine's back."""
    return cloud.pool.get(cloud.host(host).uri).lookupByName(f"concord-{cloud.guest(compute_id)}")


def test_a_guest_shut_off_behind_our_back_is_recorded_stopped(cloud: Cloud) -> None:
    compute_id = running(cloud)
    untouched = running(cloud, "db")
    updated = cloud.compute(untouched).updated
    domain(cloud, compute_id).destroy()
    report = run(cloud)
    assert (report.hosts_checked, report.computes_checked) == (2, 2)
    assert [(c.compute_id, c.previous_state, c.state, c.power_state) for c in report.corrected] == [
        (compute_id, "running", "stopped", "shutoff")
    ]
    compute = cloud.compute(compute_id)
    assert (compute.state, compute.power_state) == ("stopped", "shutoff")
    observed = cloud.events(compute_id)[-1]
    assert observed.type == "compute.observed" and observed.user_id is None
    assert (observed.payload["previous_state"], observed.payload["state"]) == ("running", "stopped")
    # The compute that agreed got its power state recorded and nothing else.
    other = cloud.compute(untouched)
    assert (other.state, other.power_state, other.updated) == ("running", "running", updated)
    assert other.power_state_seen is not None
    assert cloud.event_types(untouched)[-1] == "compute.started"
    # Running it again changes nothing more.
    assert run(cloud).corrected == []
    # And the owner can start it again.
    assert perform(cloud, compute_id, Action.START).state is JobState.SUCCESS


def test_a_guest_that_crashed_while_meant_to_run_is_an_error(cloud: Cloud) -> None:
    compute_id = running(cloud)
    stopped, _ = create(cloud, name="stopped", start=False)
    cloud.run_jobs()
    crashes = CrashReasons(cloud, {compute_id, stopped})
    # While every guest is as recorded, the hosts are not asked why any is off.
    with cloud.database.transaction() as session:
        assert reconcile(session, crashes).corrected == []
    assert crashes.asked == 0
    # libvirt shuts a crashed guest off (on_crash=destroy) and keeps the reason.
    domain(cloud, compute_id).destroy()
    with cloud.database.transaction() as session:
        report = reconcile(session, crashes)
    assert [(c.compute_id, c.previous_state, c.state, c.power_state) for c in report.corrected] == [
        (compute_id, "running", "error", "crashed")
    ]
    compute = cloud.compute(compute_id)
    assert (compute.state, compute.state_message) == ("error", "the guest crashed")
    # A compute that was stopped anyway is not made an error by an old reason.
    assert cloud.compute(stopped).state == "stopped"
    # The owner acknowledges with a forced stop; the guest keeps its reason
    # until it boots again, and reconciliation leaves the compute stopped.
    assert perform(cloud, compute_id, Action.FORCE_STOP).state is JobState.SUCCESS
    with cloud.database.transaction() as session:
        assert reconcile(session, crashes).corrected == []
    assert cloud.compute(compute_id).state == "stopped"
    assert perform(cloud, compute_id, Action.START).state is JobState.SUCCESS
    # A real test:/// host records no crash for a guest destroyed on purpose.
    domain(cloud, compute_id).destroy()
    assert cloud.drivers(cloud.host("host-1").uri).crashed_guests() == frozenset()
    assert [c.state for c in run(cloud).corrected] == ["stopped"]


def test_every_mismatch_maps_to_a_stable_state(cloud: Cloud) -> None:
    paused = running(cloud, "paused")
    domain(cloud, paused).suspend()  # libvirt's "suspend" is a pause
    saved = running(cloud, "saved")
    domain(cloud, saved).managedSave(0)
    stopped, _ = create(cloud, name="stopped", start=False)
    cloud.run_jobs()
    domain(cloud, stopped).create()  # started behind our back
    report = run(cloud)
    states = {c.compute_id: c.state for c in report.corrected}
    assert states == {paused: "paused", saved: "suspended", stopped: "running"}
    for compute_id, state in states.items():
        assert cloud.compute(compute_id).state == state


def test_guests_that_vanish_with_their_host_become_errors_and_can_come_back(cloud: Cloud) -> None:
    first = running(cloud)
    second, _ = create(cloud, name="second", start=False)
    cloud.run_jobs()
    # The server process restarts: a test:/// host lives in its memory, so the
    # host comes back empty, like a host that rebooted and lost its guests.
    cloud.pool.close(cloud.host().uri)
    assert cloud.driver().list_guests() == {}
    report = run(cloud)
    assert sorted(c.compute_id for c in report.corrected) == sorted([first, second])
    for compute_id in (first, second):
        compute = cloud.compute(compute_id)
        assert (compute.state, compute.power_state) == ("error", "absent")
        assert compute.state_message == "the guest vanished from its host"
    # The records are kept, capacity and quota too; force_stop defines the guest
    # again from the database, then it starts.
    assert cloud.host().allocated_vcpus == 2
    assert perform(cloud, first, Action.FORCE_STOP).state is JobState.SUCCESS
    assert cloud.driver().guest_state(cloud.guest(first)) is PowerState.SHUTOFF
    assert perform(cloud, first, Action.START).state is JobState.SUCCESS
    assert cloud.driver().guest_state(cloud.guest(first)) is PowerState.RUNNING
    # Or the owner deletes it.
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], second)
    cloud.run_jobs()
    assert cloud.compute(second).state == State.DELETED
    assert cloud.host().allocated_vcpus == 1
    assert run(cloud).corrected == []


def test_unknown_guests_are_reported_and_left_alone(cloud: Cloud) -> None:
    kept = running(cloud)
    gone = running(cloud, "gone")
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], gone)
    cloud.run_jobs()
    driver: HypervisorDriver = cloud.driver()
    stranger = str(uuid.uuid4())
    driver.define_guest(GuestSpec(stranger, 1, 64))
    # the deleted compute's guest came back
    driver.define_guest(GuestSpec(cloud.guest(gone), 1, 64))
    # A guest of another host's compute, and a domain that is not Concord's at all.
    elsewhere = running(cloud, "elsewhere", vcpus=4, memory_mib=64)
    assert cloud.compute(elsewhere).host_id == cloud.ids["host-2"]
    driver.define_guest(GuestSpec(cloud.guest(elsewhere), 1, 64))
    cloud.pool.get(cloud.host().uri).defineXML(
        "<domain type='test'><name>operator-vm</name><memory unit='MiB'>32</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )
    report = run(cloud)
    found = {(g.guest_id, g.host_id, g.reason, g.power_state) for g in report.unknown_guests}
    host_1 = cloud.ids["host-1"]
    assert found == {
        (stranger, host_1, "no compute", "shutoff"),
        (cloud.guest(gone), host_1, "compute deleted", "shutoff"),
        (cloud.guest(elsewhere), host_1, "compute on another host", "shutoff"),
    }
    assert report.corrected == []
    # Nothing was destroyed.
    assert set(driver.list_guests()) == {cloud.guest(c) for c in (kept, gone, elsewhere)} | {
        stranger
    }
    assert cloud.compute(gone).state == State.DELETED


def test_an_unreachable_host_is_disconnected_until_it_answers(cloud: Cloud) -> None:
    compute_id = running(cloud)
    host_2 = cloud.host("host-2")
    node = Path(host_2.uri.removeprefix("test://"))
    hidden = node.with_suffix(".away")
    cloud.pool.close(host_2.uri)
    node.rename(hidden)
    report = run(cloud)
    assert report.unreachable_hosts == [host_2.id]
    assert report.hosts_checked == 1 and report.computes_checked == 1
    assert cloud.host("host-2").state is HostState.DISCONNECTED
    assert [e.type for e in cloud.events(host_2.id)] == ["host.disconnected"]
    # Still unreachable: reported again, no second event.
    assert run(cloud).unreachable_hosts == [host_2.id]
    assert len(cloud.events(host_2.id)) == 1
    # A disconnected host takes no new guests.
    with pytest.raises(Exception, match="no host"):
        create(cloud, name="big", vcpus=4, memory_mib=64)
    hidden.rename(node)
    report = run(cloud)
    assert report.reconnected_hosts == [host_2.id] and report.unreachable_hosts == []
    host = cloud.host("host-2")
    assert host.state is HostState.UP and host.last_seen is not None
    assert [e.type for e in cloud.events(host_2.id)] == ["host.disconnected", "host.reconnected"]
    assert cloud.compute(compute_id).state == State.RUNNING


def test_computes_with_a_job_in_flight_are_left_to_the_job(cloud: Cloud) -> None:
    compute_id = running(cloud)
    with cloud.database.transaction() as session:
        ComputeService(session).perform(cloud.scopes["alice"], compute_id, Action.PAUSE)
    domain(cloud, compute_id).destroy()
    report = run(cloud)
    assert report.busy == 1 and report.corrected == []
    assert cloud.compute(compute_id).state == State.PAUSING


def test_a_compute_whose_job_was_cancelled_is_repaired(cloud: Cloud) -> None:
    compute_id = running(cloud)
    with cloud.database.transaction() as session:
        job = ComputeService(session).perform(cloud.scopes["alice"], compute_id, Action.STOP)
        job_id = job.id
    with cloud.database.transaction() as session:
        JobService(session).cancel(cloud.root, job_id)
    assert cloud.compute(compute_id).state == State.STOPPING
    report = run(cloud)
    assert [(c.state, c.forced) for c in report.corrected] == [("running", True)]
    compute = cloud.compute(compute_id)
    assert compute.state == State.RUNNING and "its job ended" in (compute.state_message or "")
    assert perform(cloud, compute_id, Action.STOP).state is JobState.SUCCESS


class Interleaving:
    """A driver factory that runs ``during`` right after a host lists its guests.

    It reproduces a job finishing between reconciliation's read of the
    records and its write: real drivers, real jobs, only the timing is chosen.
    """

    def __init__(self, cloud: Cloud, during: Callable[[], None] | None) -> None:
        self.cloud = cloud
        self.during = during

    def __call__(self, uri: str) -> HypervisorDriver:
        interleaving = self

        class Listing(RealDriver):
            def list_guests(self) -> dict[str, PowerState]:
                guests = self.real.list_guests()
                if interleaving.during is not None:
                    during, interleaving.during = interleaving.during, None
                    during()
                return guests

        return Listing(self.cloud.drivers(uri))  # type: ignore[return-value]


def test_a_change_made_while_reconciling_wins(cloud: Cloud) -> None:
    compute_id = running(cloud)
    domain(cloud, compute_id).destroy()

    def restart_meanwhile() -> None:
        # The owner restarts it: running -> restarting -> running, guest up again.
        assert perform(cloud, compute_id, Action.RESTART).state is JobState.SUCCESS

    session = cloud.database.session()
    try:
        report = reconcile(session, Interleaving(cloud, restart_meanwhile))
        session.commit()
    finally:
        session.close()
    # Reconciliation saw 'shutoff' but the record changed since it read it
    # (even though it is 'running' again): nothing is overwritten.
    assert report.corrected == []
    assert cloud.compute(compute_id).state == State.RUNNING
    assert cloud.driver().guest_state(cloud.guest(compute_id)) is PowerState.RUNNING


def test_run_reconciliation_commits_host_by_host(cloud: Cloud) -> None:
    first = running(cloud)
    second = running(cloud, "big", vcpus=4, memory_mib=64)
    domain(cloud, first).destroy()
    domain(cloud, second, "host-2").destroy()
    report = run_reconciliation(cloud.database, cloud.drivers)
    assert sorted(c.compute_id for c in report.corrected) == sorted([first, second])
    assert report.hosts_checked == 2
    assert cloud.compute(first).state == cloud.compute(second).state == State.STOPPED


def test_only_root_administrators_reconcile(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        assert reconcile(session, cloud.drivers, cloud.root).hosts_checked == 2
        with pytest.raises(PermissionDenied):
            reconcile(session, cloud.drivers, cloud.scopes["acmeadmin"])


def test_hosts_in_maintenance_are_not_checked(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        session.execute(
            sa.update(Host).where(Host.name == "host-2").values(state=HostState.MAINTENANCE)
        )
    assert run(cloud).hosts_checked == 1
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
