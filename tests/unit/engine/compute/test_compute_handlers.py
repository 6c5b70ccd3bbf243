"""Compute job handlers: idempotent re-runs, failure paths, and a random walk of the lifecycle.

A "crash" here is real: the handler runs against the simulated libvirt host
in a transaction that is then rolled back, exactly what a worker killed
before its commit leaves behind (the hypervisor changed, the database did
not); the job is then found stale and run again by a real worker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from unit.engine.cloud import POOL, Cloud, add_volume, allocated, build_cloud, create, perform

from engine import lifecycle
from engine.catalog.models import Image
from engine.compute._guest import EXPECTED_POWER
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database, utcnow
from engine.drivers.specs import PowerState
from engine.errors import InvalidTransition
from engine.jobs.models import Job, JobState
from engine.jobs.service import MAX_ATTEMPTS, JobService
from engine.jobs.worker import JobContext, Worker
from engine.lifecycle import Action, Kind, State
from engine.network.models import Network, NetworkInterface
from engine.storage.models import StorageAttachment, Volume
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quotas import QuotaService

R = ResourceType


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def crash_after_hypervisor_step(cloud: Cloud, job_id: str) -> None:
    """Run a job's handler and roll back, then let recovery find the job abandoned."""
    with cloud.database.transaction() as session:
        claimed = JobService(session).claim("doomed-worker", cloud.registry.actions())
        assert claimed is not None and claimed.id == job_id
    session = cloud.database.session()
    try:
        job = session.get(Job, job_id)
        assert job is not None
        handler = cloud.registry.get(job.action)
        assert handler is not None
        handler.run(JobContext(session, job, cloud.drivers))
        session.rollback()  # the worker died before committing
    finally:
        session.close()
    with cloud.database.transaction() as session:
        session.execute(
            sa.update(Job)
            .where(Job.id == job_id)
            .values(heartbeat=utcnow() - dt.timedelta(hours=1))
        )
    recovering = Worker(
        cloud.database, cloud.drivers, cloud.registry, stale_after=dt.timedelta(minutes=1)
    )
    assert recovering.recover() == 1
    assert cloud.job(job_id).state is JobState.QUEUED


def queue(cloud: Cloud, compute_id: str, action: Action, **params: Any) -> str:
    with cloud.database.transaction() as session:
        service = ComputeService(session)
        if action is Action.DELETE:
            return service.delete(cloud.scopes["alice"], compute_id).id
        return service.perform(cloud.scopes["alice"], compute_id, action, **params).id


SCENARIOS = [
    # (name, actions before, action re-run, params, final state, final power)
    ("start", [Action.STOP], Action.START, {}, State.RUNNING, PowerState.RUNNING),
    ("stop", [], Action.STOP, {}, State.STOPPED, PowerState.SHUTOFF),
    ("force_stop", [Action.PAUSE], Action.FORCE_STOP, {}, State.STOPPED, PowerState.SHUTOFF),
    ("pause", [], Action.PAUSE, {}, State.PAUSED, PowerState.PAUSED),
    ("resume", [Action.PAUSE], Action.RESUME, {}, State.RUNNING, PowerState.RUNNING),
    ("suspend", [], Action.SUSPEND, {}, State.SUSPENDED, PowerState.SUSPENDED),
    ("resume-saved", [Action.SUSPEND], Action.START, {}, State.RUNNING, PowerState.RUNNING),
    ("restart", [], Action.RESTART, {}, State.RUNNING, PowerState.RUNNING),
    (
        "capture",
        [Action.STOP],
        Action.CAPTURE,
        {"image_name": "img"},
        State.STOPPED,
        PowerState.SHUTOFF,
    ),
    ("delete", [], Action.DELETE, {}, State.DELETED, PowerState.ABSENT),
]


@pytest.mark.parametrize(
    ("before", "action", "params", "state", "power"),
    [s[1:] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_a_job_rerun_after_a_crash_finishes_the_work(
    cloud: Cloud,
    before: list[Action],
    action: Action,
    params: dict[str, Any],
    state: State,
    power: PowerState,
) -> None:
    bystander, _ = create(cloud, name="bystander")
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    add_volume(cloud, compute_id)
    for step in before:
        assert perform(cloud, compute_id, step).state is JobState.SUCCESS
    job_id = queue(cloud, compute_id, action, **params)
    crash_after_hypervisor_step(cloud, job_id)
    assert cloud.run_jobs() == 1
    job = cloud.job(job_id)
    assert job.state is JobState.SUCCESS, job.error
    assert job.attempts == 2
    assert cloud.compute(compute_id).state == state
    assert cloud.driver().guest_state(cloud.guest(compute_id)) is power
    # Exactly one outcome was recorded, and nothing was released twice.
    past_tense = [t for t in cloud.event_types(compute_id) if not t.endswith(".requested")]
    assert len(past_tense) == len(set(past_tense)) or action is Action.START
    held = 1 if state is State.DELETED else 2
    assert cloud.used("dev", ResourceType.INSTANCES) == held
    assert allocated(cloud) == (held, 512 * held)
    assert cloud.driver().guest_state(cloud.guest(bystander)) is PowerState.RUNNING
    if action is Action.CAPTURE:
        images = [
            v for v in cloud.driver().list_volumes(POOL) if v.name.startswith("concord-image")
        ]
        assert [v.name for v in images] == [f"concord-image-{job.parameters['image_id']}"]


def test_a_creation_rerun_after_a_crash_defines_the_guest_once(cloud: Cloud) -> None:
    compute_id, job_id = create(cloud)
    crash_after_hypervisor_step(cloud, job_id)
    # The guest exists and runs, though the database still says 'creating'.
    assert cloud.driver().guest_state(cloud.guest(compute_id)) is PowerState.RUNNING
    assert cloud.compute(compute_id).state == State.CREATING
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.SUCCESS
    assert cloud.compute(compute_id).state == State.RUNNING
    assert list(cloud.driver().list_guests()) == [cloud.guest(compute_id)]
    assert cloud.event_types(compute_id) == [
        "compute.created",
        "compute.provisioned",
        "compute.started",
    ]


def test_a_job_abandoned_too_often_gives_the_compute_back(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    job_id = queue(cloud, compute_id, Action.STOP)
    with cloud.database.transaction() as session:
        JobService(session).claim("dead", cloud.registry.actions())
        session.execute(
            sa.update(Job)
            .where(Job.id == job_id)
            .values(attempts=MAX_ATTEMPTS, heartbeat=utcnow() - dt.timedelta(hours=1))
        )
    assert cloud.worker.recover() == 1
    assert cloud.job(job_id).state is JobState.FAILED
    compute = cloud.compute(compute_id)
    # Stop restores its previous state on failure; the owner reads why.
    assert compute.state == State.RUNNING
    assert compute.state_message == "the job was interrupted too many times and was abandoned"
    assert cloud.event_types(compute_id)[-1] == "compute.stop.failed"


def test_failed_keeps_a_state_that_moved_on(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    job_id = queue(cloud, compute_id, Action.STOP)
    # Reconciliation forced the compute elsewhere after a crash; the job then fails.
    with cloud.database.transaction() as session:
        session.execute(sa.update(Compute).where(Compute.id == compute_id).values(state="error"))
        job = session.get(Job, job_id)
        assert job is not None
        handler = cloud.registry.get(job.action)
        assert handler is not None
        handler.failed(JobContext(session, job, cloud.drivers), "it went wrong")
    compute = cloud.compute(compute_id)
    assert (compute.state, compute.state_message) == ("error", "it went wrong")


def test_a_job_whose_compute_moved_on_fails_without_touching_the_guest(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    job_id = queue(cloud, compute_id, Action.PAUSE)
    with cloud.database.transaction() as session:
        session.execute(sa.update(Compute).where(Compute.id == compute_id).values(state="running"))
    cloud.run_jobs()
    job = cloud.job(job_id)
    assert job.state is JobState.FAILED and "pause" in (job.error or "")
    assert cloud.driver().guest_state(cloud.guest(compute_id)) is PowerState.RUNNING


# -- failures ---------------------------------------------------------------------------------


def test_failed_creation_releases_capacity_and_quota(cloud: Cloud, tmp_path: Path) -> None:
    # The host's node file is gone before anyone connected: the host is unreachable.
    Path(cloud.host().uri.removeprefix("test://")).unlink()
    compute_id, job_id = create(cloud)
    assert allocated(cloud) == (1, 512)
    cloud.run_jobs()
    job = cloud.job(job_id)
    assert job.state is JobState.FAILED
    assert job.error == "the hypervisor host cannot be reached"
    compute = cloud.compute(compute_id)
    assert (compute.state, compute.state_message) == ("error", job.error)
    assert (compute.host_id, compute.quota_held) == (None, False)
    assert allocated(cloud) == (0, 0) and cloud.used("dev", R.INSTANCES) == 0
    assert cloud.event_types(compute_id)[-1] == "compute.create.failed"
    # Deleting it releases nothing twice.
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], compute_id)
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.DELETED
    assert cloud.used("dev", R.INSTANCES) == 0 and allocated(cloud) == (0, 0)


def test_a_failed_action_restores_the_state_with_a_message(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    # Someone powers the guest off behind Concord's back: pausing it now fails.
    cloud.pool.get(cloud.host().uri).lookupByName(f"concord-{cloud.guest(compute_id)}").destroy()
    job = perform(cloud, compute_id, Action.PAUSE)
    assert job.state is JobState.FAILED
    assert job.error == "cannot pause the guest: the guest is shutoff"
    compute = cloud.compute(compute_id)
    assert (compute.state, compute.state_message) == ("running", job.error)
    assert cloud.event_types(compute_id)[-1] == "compute.pause.failed"
    failed = cloud.events(compute_id)[-1].payload
    assert (failed["previous_state"], failed["state"]) == ("pausing", "running")


def test_a_failed_restart_leaves_an_error(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    # The host becomes unreachable: its connection drops and cannot be reopened.
    uri = cloud.host().uri
    cloud.pool.close(uri)
    Path(uri.removeprefix("test://")).unlink()
    job = perform(cloud, compute_id, Action.RESTART)
    assert job.state is JobState.FAILED
    compute = cloud.compute(compute_id)
    # Restart has two steps, either may have happened: the lifecycle says error.
    assert (compute.state, compute.state_message) == ("error", job.error)
    assert cloud.event_types(compute_id)[-1] == "compute.restart.failed"


# -- definitions built from the database -----------------------------------------------


def add_nic(cloud: Cloud, compute_id: str, interface: str, network_state: str) -> str:
    """A NIC row on a new network in ``network_state``; return the network id."""
    with cloud.database.transaction() as session:
        compute = session.get(Compute, compute_id)
        assert compute is not None
        owner = {"account_id": compute.account_id, "domain_id": compute.domain_id}
        network = Network(
            name=f"net-{interface}",
            state=network_state,
            zone_id=compute.zone_id,
            cidr="10.0.0.0/24",
            **owner,
        )
        session.add(network)
        session.flush()
        number = int(interface.removeprefix("eth"))
        session.add(
            NetworkInterface(
                name=interface,
                state="attached",
                compute_id=compute_id,
                network_id=network.id,
                interface=interface,
                mac=f"52:54:00:00:00:0{number}",
                ip_address=f"10.0.0.{number + 5}",
                **owner,
            )
        )
        return network.id


def test_disks_and_interfaces_come_from_the_database(cloud: Cloud) -> None:
    compute_id, job_id = create(cloud, start=False)
    add_volume(cloud, compute_id, "vdb")
    add_volume(cloud, compute_id, "sdc")
    running = add_nic(cloud, compute_id, "eth0", "running")
    add_nic(cloud, compute_id, "eth1", "stopped")
    cloud.run_jobs()
    job = cloud.job(job_id)
    assert job.state is JobState.SUCCESS, job.error
    # The NIC on the stopped network is left out (no link), and said so.
    assert job.result["nics_skipped"] == 1
    disks = cloud.driver().guest_disks(cloud.guest(compute_id))
    assert [(d.device, d.bus) for d in disks] == [("sdc", "scsi"), ("vdb", "virtio")]
    nics = cloud.driver().guest_nics(cloud.guest(compute_id))
    assert [(n.mac, n.network_name) for n in nics] == [("52:54:00:00:00:00", f"concord-{running}")]
    # The network the NIC joins was created on the host, active.
    assert cloud.driver().list_networks() == {f"concord-{running}": True}
    assert perform(cloud, compute_id, Action.START).state is JobState.SUCCESS

    with cloud.database.transaction() as session:
        job_id = ComputeService(session).delete(cloud.scopes["alice"], compute_id).id
    cloud.run_jobs()
    assert cloud.job(job_id).result["links_removed"] == 4
    with cloud.database.transaction() as session:
        for model in (StorageAttachment, NetworkInterface):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Volume)) == 2
    link_events = [e.type for e in cloud.events() if e.resource_type != "compute"]
    assert sorted(link_events) == [
        "network_interface.deleted",
        "network_interface.deleted",
        "storage_attachment.deleted",
        "storage_attachment.deleted",
    ]


def test_boot_image_with_a_location_is_copied_to_the_first_disk(cloud: Cloud) -> None:
    info = cloud.driver().create_volume(POOL, "base.img", 32 * 1024**2)
    with cloud.database.transaction() as session:
        image = Image(name="base", location=f"{POOL}/base.img", state="available")
        session.add(image)
        session.flush()
        image_id = image.id
    compute_id, job_id = create(cloud, image_id=image_id)
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.SUCCESS
    disks = cloud.driver().guest_disks(cloud.guest(compute_id))
    copy = info.path.replace("base.img", f"concord-root-{cloud.guest(compute_id)}")
    assert [(d.device, d.path) for d in disks] == [("vda", copy)]  # test_root_disks.py


# -- a random walk through the lifecycle --------------------------------------------------

ACTIONS = sorted(
    {
        Action.START,
        Action.STOP,
        Action.FORCE_STOP,
        Action.RESTART,
        Action.PAUSE,
        Action.RESUME,
        Action.SUSPEND,
        Action.CAPTURE,
    },
    key=str,
)


class ComputeWalk(RuleBasedStateMachine):
    """Random actions through the service and a real worker on a simulated host.

    After every step the recorded state is what the lifecycle table predicts
    and the guest's power state on the host is what that state means.
    """

    cloud: Cloud

    def __init__(self) -> None:
        super().__init__()
        self.compute_id, _ = create(self.cloud, name="walker", start=False)
        self.cloud.run_jobs()
        add_volume(self.cloud, self.compute_id)
        self.expected = State.STOPPED
        self.captures = 0

    @rule(action=st.sampled_from(ACTIONS))
    def act(self, action: Action) -> None:
        allowed = lifecycle.allowed_actions(Kind.COMPUTE, self.expected)
        params: dict[str, Any] = {}
        if action is Action.CAPTURE:
            self.captures += 1  # image names are unique per owner
            params["image_name"] = f"walk-{self.compute_id[:8]}-{self.captures}"
        if action not in allowed:
            with pytest.raises(InvalidTransition):
                queue(self.cloud, self.compute_id, action, **params)
            return
        transitional = lifecycle.begin(Kind.COMPUTE, self.expected, action)
        job_id = queue(self.cloud, self.compute_id, action, **params)
        assert self.cloud.compute(self.compute_id).state == transitional
        assert self.cloud.run_jobs() == 1
        job = self.cloud.job(job_id)
        assert job.state is JobState.SUCCESS, (action, job.error)
        self.expected = lifecycle.complete(Kind.COMPUTE, transitional, action)

    @invariant()
    def records_and_host_agree(self) -> None:
        compute = self.cloud.compute(self.compute_id)
        power = self.cloud.driver().guest_state(self.cloud.guest(self.compute_id))
        assert compute.state == self.expected
        assert power in EXPECTED_POWER[self.expected]
        assert compute.power_state == power.value

    def teardown(self) -> None:
        # Give the host back for the next example.
        queue(self.cloud, self.compute_id, Action.DELETE)
        self.cloud.run_jobs()
        assert self.cloud.compute(self.compute_id).state == State.DELETED


def test_random_walks_keep_records_lifecycle_and_host_in_step(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        # Every capture adds an image to the catalog; the walk captures often.
        QuotaService(session).set_limit(
            cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], R.TEMPLATES, -1
        )
    ComputeWalk.cloud = cloud
    run_state_machine_as_test(
        ComputeWalk,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    assert allocated(cloud) == (0, 0)
