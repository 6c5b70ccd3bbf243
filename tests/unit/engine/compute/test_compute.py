"""ComputeService with the real worker on simulated libvirt hosts, on SQLite and MariaDB.

Every test drives the service in committed transactions (as the HTTP edge
does), runs the queued jobs with :meth:`Worker.run_until_idle`, and checks
the records against what libvirt's ``test:///`` host reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from unit.engine.cloud import (
    HOST_CORES,
    POOL,
    Cloud,
    add_volume,
    allocated,
    build_cloud,
    counts,
    create,
    perform,
    state_of,
)

from engine.catalog.models import Image
from engine.catalog.service import CatalogService
from engine.compute.service import ComputeService
from engine.db import Database, new_id
from engine.drivers.specs import PowerState
from engine.errors import (
    AlreadyExists,
    CapacityUnavailable,
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    QuotaExceeded,
)
from engine.events.models import Event
from engine.inventory.models import Host
from engine.jobs.models import JobState
from engine.lifecycle import Action, State
from engine.storage.models import StorageAttachment
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quotas import QuotaService

R = ResourceType


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


# -- the whole lifecycle ------------------------------------------------------------------


def test_full_lifecycle_on_a_test_host(cloud: Cloud) -> None:
    compute_id, job_id = create(cloud)
    assert cloud.compute(compute_id).state == State.CREATING
    assert cloud.run_jobs() == 1
    assert cloud.job(job_id).state is JobState.SUCCESS
    assert state_of(cloud, compute_id) == (State.RUNNING, PowerState.RUNNING)
    assert cloud.compute(compute_id).power_state == PowerState.RUNNING
    assert allocated(cloud) == (1, 512)
    assert (
        cloud.used("dev", R.INSTANCES),
        cloud.used("dev", R.CPU),
        cloud.used("dev", R.MEMORY),
    ) == (1, 1, 512)

    steps = [
        (Action.STOP, State.STOPPED, PowerState.SHUTOFF),
        (Action.START, State.RUNNING, PowerState.RUNNING),
        (Action.PAUSE, State.PAUSED, PowerState.PAUSED),
        (Action.RESUME, State.RUNNING, PowerState.RUNNING),
        (Action.SUSPEND, State.SUSPENDED, PowerState.SUSPENDED),
        (Action.START, State.RUNNING, PowerState.RUNNING),
        (Action.RESTART, State.RUNNING, PowerState.RUNNING),
        (Action.STOP, State.STOPPED, PowerState.SHUTOFF),
    ]
    for action, state, power in steps:
        job = perform(cloud, compute_id, action)
        assert job.state is JobState.SUCCESS, (action, job.error)
        assert state_of(cloud, compute_id) == (state, power), action
        assert cloud.compute(compute_id).power_state == power.value

    add_volume(cloud, compute_id)
    job = perform(cloud, compute_id, Action.CAPTURE, image_name="web-golden")
    assert job.state is JobState.SUCCESS, job.error
    assert state_of(cloud, compute_id) == (State.STOPPED, PowerState.SHUTOFF)
    with cloud.database.transaction() as session:
        image = session.get(Image, job.parameters["image_id"])
        assert image is not None
        assert (image.state, image.name, image.account_id) == (
            "available",
            "web-golden",
            cloud.ids["dev"],
        )
        assert image.source_compute_id == compute_id and image.location
    volumes = {v.name: v for v in cloud.driver().list_volumes(POOL)}
    assert f"concord-image-{image.id}" in volumes
    assert volumes[f"concord-image-{image.id}"].path == image.location

    assert perform(cloud, compute_id, Action.START).state is JobState.SUCCESS
    assert perform(cloud, compute_id, Action.FORCE_STOP).state is JobState.SUCCESS
    assert state_of(cloud, compute_id) == (State.STOPPED, PowerState.SHUTOFF)

    with cloud.database.transaction() as session:
        job_id = ComputeService(session).delete(cloud.scopes["alice"], compute_id).id
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.SUCCESS
    assert state_of(cloud, compute_id) == (State.DELETED, PowerState.ABSENT)
    assert allocated(cloud) == (0, 0)
    assert (
        cloud.used("dev", R.INSTANCES),
        cloud.used("dev", R.CPU),
        cloud.used("dev", R.MEMORY),
    ) == (0, 0, 0)
    row = cloud.compute(compute_id)
    assert (row.host_id, row.last_host_id, row.quota_held) == (None, cloud.ids["host-1"], False)
    with cloud.database.transaction() as session:
        service = ComputeService(session)
        with pytest.raises(NotFound):
            service.get(cloud.scopes["alice"], compute_id)
        assert service.list(cloud.scopes["alice"]) == []
        assert service.get(cloud.scopes["alice"], compute_id, include_deleted=True).id == compute_id
        assert session.scalar(sa.select(sa.func.count()).select_from(StorageAttachment)) == 0
    # The captured image outlives the compute; the data volume stays in its pool.
    assert f"concord-image-{image.id}" in {v.name for v in cloud.driver().list_volumes(POOL)}

    assert cloud.event_types(compute_id) == [
        "compute.created",
        "compute.provisioned",
        "compute.started",
        "compute.stop.requested",
        "compute.stopped",
        "compute.start.requested",
        "compute.started",
        "compute.pause.requested",
        "compute.paused",
        "compute.resume.requested",
        "compute.resumed",
        "compute.suspend.requested",
        "compute.suspended",
        "compute.start.requested",
        "compute.started",
        "compute.restart.requested",
        "compute.restarted",
        "compute.stop.requested",
        "compute.stopped",
        "compute.capture.requested",
        "compute.captured",
        "compute.start.requested",
        "compute.started",
        "compute.force_stop.requested",
        "compute.stopped",
        "compute.delete.requested",
        "compute.deleted",
    ]
    # Each event's payload says where the compute went from and to.
    for event in cloud.events(compute_id):
        assert {"state", "previous_state", "vcpus", "memory_mib", "zone_id"} <= set(event.payload)
    deleted = cloud.events(compute_id)[-1]
    assert (deleted.payload["state"], deleted.payload["previous_state"]) == ("deleted", "stopped")
    assert deleted.job_id == job_id and deleted.account_id == cloud.ids["dev"]


def test_created_stopped_then_started(cloud: Cloud) -> None:
    compute_id, job_id = create(cloud, start=False)
    cloud.run_jobs()
    assert cloud.job(job_id).result["state"] == "stopped"
    assert state_of(cloud, compute_id) == (State.STOPPED, PowerState.SHUTOFF)
    assert cloud.event_types(compute_id) == ["compute.created", "compute.provisioned"]
    assert perform(cloud, compute_id, Action.START).state is JobState.SUCCESS
    assert state_of(cloud, compute_id) == (State.RUNNING, PowerState.RUNNING)


# -- creation: sizes, events, validation ------------------------------------------------------


def test_offering_sizes_and_explicit_overrides(cloud: Cloud) -> None:
    large_id, job_id = create(cloud, offering_id=cloud.ids["large"], description="db")
    custom_id, _ = create(cloud, name="custom", offering_id=cloud.ids["large"], vcpus=1)
    explicit_id, _ = create(cloud, name="explicit", vcpus=1, memory_mib=128, ha_enabled=True)
    large, custom, explicit = (cloud.compute(i) for i in (large_id, custom_id, explicit_id))
    assert (large.vcpus, large.memory_mib, large.ha_enabled) == (2, 2048, True)
    assert (custom.vcpus, custom.memory_mib, custom.offering_id) == (1, 2048, cloud.ids["large"])
    assert (explicit.vcpus, explicit.memory_mib, explicit.offering_id) == (1, 128, None)
    assert explicit.ha_enabled is True
    # Placement reserved all three on the first host that fits (first fit).
    assert allocated(cloud) == (4, 2048 + 2048 + 128)
    assert cloud.used("dev", R.CPU) == 4
    job = cloud.job(job_id)
    assert (job.action, job.target_id, job.parameters) == (
        "compute.create",
        large_id,
        {"start": True, "previous": None},
    )
    created = cloud.events(large_id)[0]
    assert created.type == "compute.created" and created.job_id == job_id
    assert created.account_id == cloud.ids["dev"]
    assert created.user_id == cloud.ids["alice"]
    assert {
        k: created.payload[k]
        for k in (
            "offering_id",
            "vcpus",
            "memory_mib",
            "host_id",
            "zone_id",
            "image_id",
            "state",
            "account_id",
            "ha_enabled",
        )
    } == {
        "offering_id": cloud.ids["large"],
        "vcpus": 2,
        "memory_mib": 2048,
        "host_id": cloud.ids["host-1"],
        "zone_id": cloud.ids["zone"],
        "image_id": None,
        "state": "creating",
        "account_id": cloud.ids["dev"],
        "ha_enabled": True,
    }


def test_creation_with_an_image_and_contextualisation(cloud: Cloud) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz alice@laptop"
    compute_id, _ = create(
        cloud,
        image_id=cloud.ids["firmware"],
        hostname="web-1.example.org",
        properties={"tier": "front"},
        ssh_public_key=key,
        user_data="#cloud-config\nruncmd: []\n",
    )
    cloud.run_jobs()
    compute = cloud.compute(compute_id)
    assert (compute.image_id, compute.hostname, compute.properties) == (
        cloud.ids["firmware"],
        "web-1.example.org",
        {"tier": "front"},
    )
    conn = cloud.pool.get(cloud.host().uri)
    definition = conn.lookupByName(f"concord-{cloud.guest(compute_id)}").XMLDesc(0)
    assert "alice@laptop" in definition and "runcmd" in definition


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"vcpus": 0, "memory_mib": 64}, "vcpus"),
        ({"vcpus": True, "memory_mib": 64}, "vcpus"),
        ({"vcpus": 1, "memory_mib": 2**40}, "memory_mib"),
        ({"hostname": "-bad-"}, "hostname"),
        ({"properties": {"k": 1}}, "properties"),
        ({"ssh_public_key": "not a key"}, "ssh_public_key"),
        ({"user_data": "x" * (64 * 1024 + 1)}, "user_data"),
    ],
)
def test_invalid_creation_changes_nothing(cloud: Cloud, kwargs: dict[str, Any], field: str) -> None:
    before = counts(cloud)
    with pytest.raises(InvalidInput) as caught:
        create(cloud, **kwargs)
    assert caught.value.details.get("field") == field
    assert counts(cloud) == before
    assert allocated(cloud) == (0, 0) and cloud.used("dev", R.INSTANCES) == 0


def test_a_size_is_required(cloud: Cloud) -> None:
    with pytest.raises(InvalidInput, match="vcpus"), cloud.database.transaction() as session:
        ComputeService(session).create(cloud.scopes["alice"], name="x", vcpus=1)


def test_unknown_or_invisible_references_are_not_found(cloud: Cloud) -> None:
    for kwargs in (
        {"zone_id": new_id()},
        {"offering_id": new_id()},
        {"offering_id": cloud.ids["private_offering"]},  # globex's private offering
        {"image_id": new_id()},
    ):
        with pytest.raises(NotFound):
            create(cloud, **kwargs)
    # The owner of the private offering may use it.
    assert create(cloud, "carol", offering_id=cloud.ids["private_offering"])


# -- quotas and capacity ----------------------------------------------------------------------


def test_quota_exceeded_creates_nothing(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        QuotaService(session).set_limit(
            cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], R.INSTANCES, 1
        )
    create(cloud)
    before, held = counts(cloud), allocated(cloud)
    with pytest.raises(QuotaExceeded) as caught:
        create(cloud, name="second")
    assert caught.value.details["resource_type"] == "instances"
    assert counts(cloud) == before and allocated(cloud) == held
    assert cloud.used("dev", R.INSTANCES) == 1
    # Another account is not affected by dev's limit.
    assert create(cloud, "bob")


def test_memory_quota_counts_explicit_sizes(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        QuotaService(session).set_limit(
            cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], R.MEMORY, 1000
        )
    create(cloud, vcpus=1, memory_mib=600)
    with pytest.raises(QuotaExceeded):
        create(cloud, name="b", vcpus=1, memory_mib=600)
    assert cloud.used("dev", R.MEMORY) == 600


def test_capacity_unavailable_charges_no_quota(cloud: Cloud) -> None:
    before = counts(cloud)
    with pytest.raises(CapacityUnavailable):
        create(cloud, vcpus=HOST_CORES + 1, memory_mib=64)
    assert counts(cloud) == before
    assert cloud.used("dev", R.INSTANCES) == cloud.used("dev", R.CPU) == 0
    assert allocated(cloud) == allocated(cloud, "host-2") == (0, 0)


def test_placement_moves_on_when_a_host_is_full(cloud: Cloud) -> None:
    first, _ = create(cloud, vcpus=3, memory_mib=1024)
    second, _ = create(cloud, name="b", vcpus=3, memory_mib=1024)
    assert cloud.compute(first).host_id == cloud.ids["host-1"]
    assert cloud.compute(second).host_id == cloud.ids["host-2"]
    cloud.run_jobs()
    assert cloud.driver("host-2").guest_state(cloud.guest(second)) is PowerState.RUNNING
    assert cloud.driver("host-1").guest_state(cloud.guest(second)) is PowerState.ABSENT


# -- visibility -------------------------------------------------------------------------------


def test_other_tenants_get_not_found(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    before = counts(cloud)
    calls = [
        lambda service, scope: service.get(scope, compute_id),
        lambda service, scope: service.update(scope, compute_id, name="stolen"),
        lambda service, scope: service.resize(scope, compute_id, vcpus=2),
        lambda service, scope: service.perform(scope, compute_id, Action.STOP),
        lambda service, scope: service.delete(scope, compute_id),
    ]
    for user in ("bob", "carol"):
        with cloud.database.transaction() as session:
            service = ComputeService(session)
            scope = cloud.scopes[user]
            for call in calls:
                with pytest.raises(NotFound):
                    call(service, scope)
            assert service.list(scope) == [] and service.count(scope) == 0
    assert counts(cloud) == before
    with cloud.database.transaction() as session:
        service = ComputeService(session)
        for user in ("alice", "acmeadmin", "admin"):
            assert [c.id for c in service.list(cloud.scopes[user])] == [compute_id]
        assert service.get(cloud.root, compute_id).id == compute_id


def test_list_filters_and_pages(cloud: Cloud) -> None:
    ids = [create(cloud, name=f"vm-{i}", start=i % 2 == 0)[0] for i in range(5)]
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        service = ComputeService(session)
        alice = cloud.scopes["alice"]
        assert [c.id for c in service.list(alice)] == ids
        assert [c.id for c in service.list(alice, limit=2, offset=1)] == ids[1:3]
        assert [c.id for c in service.list(alice, name="vm-3")] == [ids[3]]
        assert [c.id for c in service.list(alice, state="stopped")] == [ids[1], ids[3]]
        assert service.count(alice, state=State.RUNNING) == 3
        with pytest.raises(InvalidInput):
            service.list(alice, state="available")
        with pytest.raises(InvalidInput):
            service.list(alice, limit=-1)
        # Ids and states only, the same computes in the same order.
        assert [(r.id, r.state) for r in service.list_states(alice)] == [
            (c.id, c.state) for c in service.list(alice)
        ]
        assert service.list_states(cloud.scopes["bob"]) == []
    perform(cloud, ids[0], Action.DELETE)
    with cloud.database.transaction() as session:
        service = ComputeService(session)
        assert [r.id for r in service.list_states(cloud.scopes["alice"])] == ids[1:]
        assert [r.id for r in service.list_states(cloud.scopes["acmeadmin"])] == ids[1:]


# -- invalid transitions ----------------------------------------------------------------------


def test_invalid_transitions_raise_and_change_nothing(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, start=False)
    # While the creation job is queued, no action is accepted.
    for action in (Action.START, Action.DELETE):
        with pytest.raises(InvalidTransition), cloud.database.transaction() as session:
            ComputeService(session).perform(cloud.scopes["alice"], compute_id, action)
    cloud.run_jobs()
    before = counts(cloud)
    for action, params in (
        (Action.PAUSE, {}),
        (Action.STOP, {}),
        (Action.RESUME, {}),
        (Action.RESTART, {}),
        (Action.FORCE_STOP, {}),
        (Action.SUSPEND, {}),
    ):
        with pytest.raises(InvalidTransition) as caught, cloud.database.transaction() as session:
            ComputeService(session).perform(cloud.scopes["alice"], compute_id, action, **params)
        assert caught.value.details["state"] == "stopped"
    perform(cloud, compute_id, Action.START)
    with pytest.raises(InvalidTransition), cloud.database.transaction() as session:
        ComputeService(session).perform(
            cloud.scopes["alice"], compute_id, Action.CAPTURE, image_name="x"
        )
    assert counts(cloud)[0] == before[0]
    assert state_of(cloud, compute_id) == (State.RUNNING, PowerState.RUNNING)
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Image)) == 1  # firmware only


def test_action_parameters_are_checked(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    bad = [
        (Action.START, {"force": True}),
        (Action.STOP, {"timeout": -1}),
        (Action.STOP, {"timeout": "soon"}),
        (Action.CAPTURE, {}),
        (Action.CAPTURE, {"image_name": ""}),
        ("reboot", {}),
        (Action.RESIZE, {}),
        (Action.DELETE, {"now": True}),
    ]
    for action, params in bad:
        with pytest.raises(InvalidInput), cloud.database.transaction() as session:
            ComputeService(session).perform(cloud.scopes["alice"], compute_id, action, **params)
    job = perform(cloud, compute_id, Action.STOP, timeout=5)
    assert job.state is JobState.SUCCESS and job.parameters["timeout"] == 5.0
    # perform(DELETE) is delete().
    assert perform(cloud, compute_id, Action.DELETE).action == "compute.delete"


def test_capture_goes_through_the_catalog(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, start=False)
    cloud.run_jobs()
    add_volume(cloud, compute_id)
    assert perform(cloud, compute_id, Action.CAPTURE, image_name="gold").state is JobState.SUCCESS
    assert cloud.used("dev", R.TEMPLATES) == 1
    before = counts(cloud)
    # The name is taken for this owner: refused, and nothing changes.
    with pytest.raises(AlreadyExists), cloud.database.transaction() as session:
        ComputeService(session).perform(
            cloud.scopes["alice"], compute_id, Action.CAPTURE, image_name="gold"
        )
    assert counts(cloud) == before and cloud.compute(compute_id).state == State.STOPPED
    with cloud.database.transaction() as session:
        QuotaService(session).set_limit(
            cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], R.TEMPLATES, 1
        )
    with pytest.raises(QuotaExceeded), cloud.database.transaction() as session:
        ComputeService(session).perform(
            cloud.scopes["alice"], compute_id, Action.CAPTURE, image_name="silver"
        )
    assert cloud.compute(compute_id).state == State.STOPPED
    # The image is the owner's, visible in the catalog, bootable on the host: a guest
    # of it boots its own copy, never the image's volume.
    with cloud.database.transaction() as session:
        image = CatalogService(session).find_entry(cloud.scopes["alice"], Image, "gold")
        assert (image.state, image.source_compute_id) == ("available", compute_id)
        image_id = image.id
    copy_id, job_id = create(cloud, name="copy", image_id=image_id)
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.SUCCESS
    boot = cloud.driver().guest_disks(cloud.guest(copy_id))[0].path
    assert boot.endswith(f"/concord-root-{cloud.guest(copy_id)}") and boot != image.location


def test_concurrent_requests_on_one_compute_conflict(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    with cloud.database.transaction() as first:
        compute = ComputeService(first).get(cloud.scopes["alice"], compute_id)
        assert compute.state == State.RUNNING
        # Another request stops it meanwhile and commits first.
        with cloud.database.transaction() as second:
            ComputeService(second).perform(cloud.scopes["alice"], compute_id, Action.STOP)
        # The first request read 'running' before; its conditional update now fails.
        from engine.compute.state import change_state

        with pytest.raises(Conflict):
            change_state(first, compute, State.RUNNING, State.PAUSING)


# -- update and resize ------------------------------------------------------------------------


def test_update_changes_only_given_fields(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, description="first", hostname="web")
    with cloud.database.transaction() as session:
        service = ComputeService(session)
        compute = service.update(
            cloud.scopes["alice"], compute_id, name="web-2", properties={"a": "b"}
        )
        assert (compute.name, compute.description, compute.hostname) == ("web-2", "first", "web")
        compute = service.update(cloud.scopes["alice"], compute_id, description=None, hostname=None)
        assert (compute.description, compute.hostname, compute.properties) == (
            None,
            None,
            {"a": "b"},
        )
        service.update(cloud.scopes["alice"], compute_id, name="web-2")  # no change: no event
        with pytest.raises(InvalidInput):
            service.update(cloud.scopes["alice"], compute_id, hostname="not a host")
    updates = [e for e in cloud.events(compute_id) if e.type == "compute.updated"]
    assert [sorted(e.payload["changed"]) for e in updates] == [
        ["name", "properties"],
        ["description", "hostname"],
    ]


def test_resize_only_when_stopped_and_applies_at_next_start(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    with pytest.raises(InvalidTransition), cloud.database.transaction() as session:
        ComputeService(session).resize(cloud.scopes["alice"], compute_id, vcpus=2)
    perform(cloud, compute_id, Action.STOP)
    with cloud.database.transaction() as session:
        compute = ComputeService(session).resize(
            cloud.scopes["alice"], compute_id, vcpus=3, memory_mib=256
        )
        assert (compute.vcpus, compute.memory_mib) == (3, 256)
    assert allocated(cloud) == (3, 256)
    assert (cloud.used("dev", R.CPU), cloud.used("dev", R.MEMORY)) == (3, 256)
    resized = cloud.events(compute_id)[-1]
    assert resized.type == "compute.resized"
    assert (resized.payload["previous_vcpus"], resized.payload["vcpus"]) == (1, 3)
    # Too big for its host: refused, nothing changes.
    with pytest.raises(CapacityUnavailable), cloud.database.transaction() as session:
        ComputeService(session).resize(cloud.scopes["alice"], compute_id, vcpus=HOST_CORES + 1)
    assert allocated(cloud) == (3, 256) and cloud.compute(compute_id).vcpus == 3
    perform(cloud, compute_id, Action.START)
    info = (
        cloud.pool.get(cloud.host().uri).lookupByName(f"concord-{cloud.guest(compute_id)}").info()
    )
    assert (info[3], info[1]) == (3, 256 * 1024)  # vCPUs, memory in KiB


def test_resize_beyond_quota_is_refused(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        QuotaService(session).set_limit(cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], R.CPU, 2)
    compute_id, _ = create(cloud, start=False)
    cloud.run_jobs()
    with pytest.raises(QuotaExceeded), cloud.database.transaction() as session:
        ComputeService(session).resize(cloud.scopes["alice"], compute_id, vcpus=3)
    assert cloud.compute(compute_id).vcpus == 1 and allocated(cloud) == (1, 512)


# -- transactions -----------------------------------------------------------------------------


def test_a_rolled_back_request_leaves_no_trace(cloud: Cloud) -> None:
    before = counts(cloud)
    session = cloud.database.session()
    try:
        compute, _job = ComputeService(session).create(
            cloud.scopes["alice"], name="ghost", vcpus=1, memory_mib=64
        )
        session.flush()
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(Event).where(Event.resource_id == compute.id)
            )
            == 1
        )
        session.rollback()
    finally:
        session.close()
    assert counts(cloud) == before
    assert allocated(cloud) == (0, 0) and cloud.used("dev", R.INSTANCES) == 0
    assert cloud.run_jobs() == 0


def test_the_job_and_its_event_commit_with_the_state(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    session = cloud.database.session()
    try:
        ComputeService(session).perform(cloud.scopes["alice"], compute_id, Action.STOP)
        session.rollback()
    finally:
        session.close()
    assert cloud.compute(compute_id).state == State.RUNNING
    assert cloud.event_types(compute_id)[-1] == "compute.started"
    assert cloud.run_jobs() == 0


def test_host_rows_match_the_simulated_hosts(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        for host in session.scalars(sa.select(Host)):
            info = cloud.drivers(host.uri).host_info()
            assert (info.cpu_cores, info.memory_mib, info.hostname) == (
                host.cpu_cores,
                host.memory_mib,
                host.name,
            )
