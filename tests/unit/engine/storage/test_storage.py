"""StorageService and the storage handlers on simulated libvirt hosts, on SQLite and MariaDB.

Requests run in committed transactions (as the HTTP edge does); queued jobs
run with :meth:`Worker.run_until_idle`; results are checked against the
records, the quota counters, the pools' allocation and what libvirt's
``test:///`` hosts report.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from unit.engine.cloud import POOL, Cloud, build_cloud

from engine.catalog.models import DiskOffering, Image
from engine.compute._attachment_handlers import complete_prepared_attachments
from engine.compute.attachments import AttachmentService
from engine.compute.models import Compute
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
from engine.inventory.models import AllocationState, StoragePool
from engine.jobs.models import Job, JobState
from engine.lifecycle import Action, State
from engine.storage.models import StorageAttachment, Volume
from engine.storage.service import StorageService
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quotas import QuotaService

R = ResourceType
GIB = 1024**3


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    for cloud in build_cloud(database, tenancy, hasher, tmp_path):
        with database.transaction() as session:
            fixed = DiskOffering(name="small-disk", size_gib=2, storage_tags="")
            custom = DiskOffering(name="custom-disk", size_gib=None)
            tagged = DiskOffering(name="fast-disk", size_gib=1, storage_tags="ssd")
            session.add_all([fixed, custom, tagged])
            session.flush()
            cloud.ids.update(small_disk=fixed.id, custom_disk=custom.id, fast_disk=tagged.id)
            for pool in session.scalars(sa.select(StoragePool)):
                cloud.ids[f"pool:{pool.name}"] = pool.id
        yield cloud


# -- helpers ----------------------------------------------------------------------------------


def create_volume(cloud: Cloud, user: str = "alice", **kwargs: Any) -> tuple[str, str]:
    """Create a volume in a committed transaction; return (volume id, job id)."""
    kwargs.setdefault("name", "data")
    if "offering_id" not in kwargs and "size_gib" not in kwargs:
        kwargs["size_gib"] = 2
    with cloud.database.transaction() as session:
        volume, job = StorageService(session).create_volume(cloud.scopes[user], **kwargs)
        return volume.id, job.id


def volume(cloud: Cloud, volume_id: str) -> Volume:
    with cloud.database.transaction() as session:
        row = session.get(Volume, volume_id)
        assert row is not None
        return row


#: What AttachmentService does (a compute's links to volumes); StorageService does the rest.
ATTACHMENT_METHODS = frozenset(
    {"get_attachment", "list_attachments", "attach", "detach", "prepare_attachment"}
)


def call(cloud: Cloud, method: str, *args: Any, user: str = "alice", **kwargs: Any) -> Any:
    """Call a StorageService or AttachmentService method as ``user`` in a committed transaction."""
    service = AttachmentService if method in ATTACHMENT_METHODS else StorageService
    with cloud.database.transaction() as session:
        result = getattr(service(session), method)(cloud.scopes[user], *args, **kwargs)
        return result.id if isinstance(result, Job) else result


def run(cloud: Cloud, job_id: str) -> Job:
    cloud.run_jobs()
    return cloud.job(job_id)


def pool_allocated(cloud: Cloud, name: str = "host-1-images") -> int:
    with cloud.database.transaction() as session:
        pool = session.get(StoragePool, cloud.ids[f"pool:{name}"])
        assert pool is not None
        return pool.allocated_bytes


def set_pool(cloud: Cloud, name: str, state: AllocationState) -> None:
    with cloud.database.transaction() as session:
        pool = session.get(StoragePool, cloud.ids[f"pool:{name}"])
        assert pool is not None
        pool.allocation_state = state


def pool_volumes(cloud: Cloud, host: str = "host-1") -> dict[str, int]:
    return {v.name: v.capacity_bytes for v in cloud.driver(host).list_volumes(POOL)}


def counts(cloud: Cloud) -> tuple[int, ...]:
    with cloud.database.transaction() as session:
        return tuple(
            session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in (Volume, StorageAttachment, Job, Event)
        )


def new_compute(cloud: Cloud, start: bool = False, user: str = "alice") -> str:
    """A compute created through ComputeService and its job run (on host-1: first fit)."""
    with cloud.database.transaction() as session:
        compute, _ = ComputeService(session).create(
            cloud.scopes[user], name="vm", offering_id=cloud.ids["small"], start=start
        )
        compute_id = compute.id
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == (State.RUNNING if start else State.STOPPED)
    return compute_id


def attach(cloud: Cloud, compute_id: str, volume_id: str, **kwargs: Any) -> tuple[str, str]:
    with cloud.database.transaction() as session:
        attachment, job = AttachmentService(session).attach(
            cloud.scopes[kwargs.pop("user", "alice")],
            compute_id=compute_id,
            volume_id=volume_id,
            **kwargs,
        )
        return attachment.id, job.id


def ready_volume(cloud: Cloud, size_gib: int = 1, **kwargs: Any) -> str:
    volume_id, job_id = create_volume(cloud, size_gib=size_gib, **kwargs)
    assert run(cloud, job_id).state is JobState.SUCCESS
    return volume_id


# -- volume lifecycle -------------------------------------------------------------------------


def test_volume_lifecycle_in_a_real_pool(cloud: Cloud) -> None:
    volume_id, job_id = create_volume(
        cloud, size_gib=2, description="logs", properties={"tier": "cold"}
    )
    row = volume(cloud, volume_id)
    assert (row.state, row.size_bytes, row.path) == ("creating", 2 * GIB, None)
    assert row.pool_id == cloud.ids["pool:host-1-images"]
    # Charged and reserved at request time, in the request's transaction.
    assert (cloud.used("dev", R.VOLUMES), cloud.used("dev", R.PRIMARY_STORAGE)) == (1, 2)
    assert pool_allocated(cloud) == 2 * GIB

    job = run(cloud, job_id)
    assert job.state is JobState.SUCCESS, job.error
    row = volume(cloud, volume_id)
    assert row.state == "available" and row.path
    assert pool_volumes(cloud)[f"concord-volume-{volume_id}"] == 2 * GIB

    job = run(cloud, call(cloud, "resize", volume_id, 3))
    assert job.state is JobState.SUCCESS, job.error
    assert (volume(cloud, volume_id).state, volume(cloud, volume_id).size_bytes) == (
        "available",
        3 * GIB,
    )
    assert pool_volumes(cloud)[f"concord-volume-{volume_id}"] == 3 * GIB
    assert cloud.used("dev", R.PRIMARY_STORAGE) == 3 and pool_allocated(cloud) == 3 * GIB

    assert run(cloud, call(cloud, "perform", volume_id, Action.OFFLINE)).state is JobState.SUCCESS
    assert volume(cloud, volume_id).state == "offline"
    assert run(cloud, call(cloud, "perform", volume_id, "online")).state is JobState.SUCCESS
    assert volume(cloud, volume_id).state == "available"

    job = run(cloud, call(cloud, "delete", volume_id))
    assert job.state is JobState.SUCCESS, job.error
    assert volume(cloud, volume_id).state == "deleted"
    assert f"concord-volume-{volume_id}" not in pool_volumes(cloud)
    assert (cloud.used("dev", R.VOLUMES), cloud.used("dev", R.PRIMARY_STORAGE)) == (0, 0)
    assert pool_allocated(cloud) == 0
    with cloud.database.transaction() as session:
        service = StorageService(session)
        with pytest.raises(NotFound):
            service.get(cloud.scopes["alice"], volume_id)
        assert service.list(cloud.scopes["alice"]) == []
        assert service.get(cloud.scopes["alice"], volume_id, include_deleted=True).id == volume_id

    assert cloud.event_types(volume_id) == [
        "volume.created",
        "volume.provisioned",
        "volume.resize.requested",
        "volume.resized",
        "volume.offline.requested",
        "volume.offline",
        "volume.online.requested",
        "volume.online",
        "volume.delete.requested",
        "volume.deleted",
    ]
    events = cloud.events(volume_id)
    created, resized, deleted = events[0], events[3], events[-1]
    assert created.user_id == cloud.ids["alice"] and created.job_id == job_id
    assert {
        k: created.payload[k]
        for k in (
            "size_bytes",
            "size_gib",
            "pool_id",
            "host_id",
            "zone_id",
            "offering_id",
            "account_id",
            "state",
        )
    } == {
        "size_bytes": 2 * GIB,
        "size_gib": 2,
        "pool_id": cloud.ids["pool:host-1-images"],
        "host_id": cloud.ids["host-1"],
        "zone_id": cloud.ids["zone"],
        "offering_id": None,
        "account_id": cloud.ids["dev"],
        "state": "creating",
    }
    assert created.payload["created"]
    assert (resized.payload["size_bytes"], resized.payload["previous_size_bytes"]) == (
        3 * GIB,
        2 * GIB,
    )
    assert (deleted.payload["state"], deleted.payload["previous_state"]) == ("deleted", "available")


def test_sizes_from_offerings(cloud: Cloud) -> None:
    fixed, _ = create_volume(cloud, offering_id=cloud.ids["small_disk"])
    custom, _ = create_volume(cloud, offering_id=cloud.ids["custom_disk"], size_gib=5)
    override, _ = create_volume(cloud, offering_id=cloud.ids["small_disk"], size_gib=1)
    assert [volume(cloud, v).size_bytes // GIB for v in (fixed, custom, override)] == [2, 5, 1]
    assert volume(cloud, fixed).offering_id == cloud.ids["small_disk"]
    with pytest.raises(InvalidInput, match="custom-sized") as caught:
        create_volume(cloud, offering_id=cloud.ids["custom_disk"])
    assert caught.value.details["field"] == "size_gib"
    # Storage tags restrict the pools: no pool carries 'ssd'.
    with pytest.raises(CapacityUnavailable):
        create_volume(cloud, offering_id=cloud.ids["fast_disk"])
    with cloud.database.transaction() as session:
        pool = session.get(StoragePool, cloud.ids["pool:host-2-images"])
        assert pool is not None
        pool.tags = "ssd"
    tagged, _ = create_volume(cloud, offering_id=cloud.ids["fast_disk"])
    assert volume(cloud, tagged).pool_id == cloud.ids["pool:host-2-images"]


def test_volume_from_an_image_without_content_is_bootable(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        image = Image(name="with-bytes", location=f"{POOL}/base.img", state="available")
        session.add(image)
        session.flush()
        with_bytes = image.id
    volume_id, _ = create_volume(cloud, image_id=cloud.ids["firmware"], size_gib=None)
    row = volume(cloud, volume_id)
    assert (row.bootable, row.image_id, row.size_bytes) == (True, cloud.ids["firmware"], GIB)
    with pytest.raises(InvalidInput, match="content"):
        create_volume(cloud, image_id=with_bytes)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size_gib": 0}, "size_gib"),
        ({"size_gib": -1}, "size_gib"),
        ({"size_gib": True}, "size_gib"),
        ({"size_gib": 1.5}, "size_gib"),
        ({"size_gib": 2.000001}, "size_gib"),
        ({"size_gib": float("nan")}, "size_gib"),
        ({"size_gib": 10**9}, "size_gib"),
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"description": "x" * 1025}, "description"),
        ({"properties": {"k": 1}}, "properties"),
    ],
)
def test_invalid_creation_changes_nothing(cloud: Cloud, kwargs: dict[str, Any], field: str) -> None:
    before = counts(cloud)
    with pytest.raises(InvalidInput) as caught:
        create_volume(cloud, **kwargs)
    assert caught.value.details.get("field") == field
    assert counts(cloud) == before and cloud.used("dev", R.VOLUMES) == 0


def test_a_size_is_a_whole_number_of_gib_never_rounded(cloud: Cloud) -> None:
    # A whole number written as a float is that number; anything else is refused.
    volume_id = ready_volume(cloud, size_gib=2.0)
    assert volume(cloud, volume_id).size_bytes == 2 * 1024**3
    before = counts(cloud)
    with pytest.raises(InvalidInput, match=r"whole number of GiB, not 2\.5 GiB"):
        call(cloud, "resize", volume_id, 2.5)
    assert counts(cloud) == before and volume(cloud, volume_id).size_bytes == 2 * 1024**3


def test_unknown_references_are_not_found(cloud: Cloud) -> None:
    for kwargs in ({"zone_id": new_id()}, {"offering_id": new_id()}, {"image_id": new_id()}):
        with pytest.raises(NotFound):
            create_volume(cloud, **kwargs)
    with cloud.database.transaction() as session, pytest.raises(InvalidInput, match="account"):
        StorageService(session).create_volume(cloud.root, name="x", size_gib=1)


# -- quotas and capacity ----------------------------------------------------------------------


def test_quotas_are_charged_released_and_refused_atomically(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        quotas = QuotaService(session)
        quotas.set_limit(cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], R.PRIMARY_STORAGE, 5)
        quotas.set_limit(cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], R.VOLUMES, 2)
    first = ready_volume(cloud, 3)
    before = counts(cloud)
    with pytest.raises(QuotaExceeded) as caught:
        create_volume(cloud, size_gib=3)
    assert caught.value.details["resource_type"] == "primary_storage"
    assert counts(cloud) == before and pool_allocated(cloud) == 3 * GIB
    assert (cloud.used("dev", R.VOLUMES), cloud.used("dev", R.PRIMARY_STORAGE)) == (1, 3)
    # Growing is charged too, and refused as a whole.
    with pytest.raises(QuotaExceeded):
        call(cloud, "resize", first, 6)
    assert volume(cloud, first).state == "available" and counts(cloud) == before
    ready_volume(cloud, 2)
    with pytest.raises(QuotaExceeded) as caught:
        create_volume(cloud, size_gib=0 + 1)
    assert caught.value.details["resource_type"] == "volumes"
    # bob (another account) is not limited by dev's limits.
    assert create_volume(cloud, "bob", size_gib=4)


def test_capacity_unavailable_charges_nothing(cloud: Cloud) -> None:
    # Each 10 GiB pool may promise 20 GiB (the cluster's storage factor 2.0).
    ready_volume(cloud, 15)
    assert volume_pools(cloud) == {cloud.ids["pool:host-1-images"]}
    second = ready_volume(cloud, 15)
    assert volume(cloud, second).pool_id == cloud.ids["pool:host-2-images"]
    before = counts(cloud)
    with pytest.raises(CapacityUnavailable):
        create_volume(cloud, size_gib=6)
    assert counts(cloud) == before and cloud.used("dev", R.PRIMARY_STORAGE) == 30
    with pytest.raises(CapacityUnavailable):
        call(cloud, "resize", second, 21)
    assert volume(cloud, second).state == "available"
    assert cloud.used("dev", R.PRIMARY_STORAGE) == 30
    assert pool_allocated(cloud, "host-2-images") == 15 * GIB


def volume_pools(cloud: Cloud) -> set[str | None]:
    with cloud.database.transaction() as session:
        return set(session.scalars(sa.select(Volume.pool_id)))


# -- transitions, tenants, updates ------------------------------------------------------------


def test_invalid_transitions_raise_and_change_nothing(cloud: Cloud) -> None:
    volume_id, _ = create_volume(cloud)
    before = counts(cloud)
    for method, args in (
        ("resize", (3,)),
        ("delete", ()),
        ("perform", (Action.OFFLINE,)),
        ("perform", (Action.ONLINE,)),
    ):
        with pytest.raises(InvalidTransition):
            call(cloud, method, volume_id, *args)
    assert counts(cloud) == before and volume(cloud, volume_id).state == "creating"
    cloud.run_jobs()
    with pytest.raises(InvalidTransition):
        call(cloud, "perform", volume_id, Action.ONLINE)
    with pytest.raises(InvalidInput, match="only grows"):
        call(cloud, "resize", volume_id, 2)
    for action, params in (
        (Action.START, {}),
        ("nonsense", {}),
        (Action.RESIZE, {}),
        (Action.ONLINE, {"size_gib": 3}),
    ):
        with pytest.raises(InvalidInput):
            call(cloud, "perform", volume_id, action, **params)
    assert volume(cloud, volume_id).state == "available"


def test_other_tenants_get_not_found(cloud: Cloud) -> None:
    volume_id, _ = create_volume(cloud)
    for user in ("bob", "carol"):
        for method, args in (
            ("get", ()),
            ("delete", ()),
            ("resize", (5,)),
            ("perform", (Action.OFFLINE,)),
        ):
            with pytest.raises(NotFound):
                call(cloud, method, volume_id, *args, user=user)
        assert call(cloud, "list", user=user) == []
    # The domain administrator of acme sees it; root sees everything.
    assert call(cloud, "get", volume_id, user="acmeadmin").id == volume_id
    assert [v.id for v in call(cloud, "list", user="admin")] == [volume_id]


def test_update_and_list_filters(cloud: Cloud) -> None:
    first, _ = create_volume(cloud, name="a")
    create_volume(cloud, name="b")
    row = call(cloud, "update", first, name="renamed", properties={"k": "v"})
    assert (row.name, row.properties, row.description) == ("renamed", {"k": "v"}, None)
    assert call(cloud, "update", first, name="renamed").name == "renamed"  # no change: no event
    assert cloud.event_types(first)[-1] == "volume.updated"
    assert len([t for t in cloud.event_types(first) if t == "volume.updated"]) == 1
    assert [v.name for v in call(cloud, "list", name="b")] == ["b"]
    listed = [(v.id, v.state) for v in call(cloud, "list")]
    assert [(r.id, r.state) for r in call(cloud, "list_states")] == listed
    assert call(cloud, "list_states", user="bob") == []
    assert [v.name for v in call(cloud, "list", state="creating", limit=1, offset=1)] == ["b"]
    with pytest.raises(InvalidInput):
        call(cloud, "list", state="bogus")
    with pytest.raises(InvalidInput):
        call(cloud, "update", first, name="")


# -- failures and idempotency -----------------------------------------------------------------


def test_failed_creation_gives_everything_back(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        pool = session.get(StoragePool, cloud.ids["pool:host-1-images"])
        assert pool is not None
        pool.pool_name = "no-such-pool"
    volume_id, job_id = create_volume(cloud, size_gib=2)
    job = run(cloud, job_id)
    assert job.state is JobState.FAILED and job.error == "storage pool not found"
    row = volume(cloud, volume_id)
    assert (row.state, row.state_message, row.quota_held) == ("error", job.error, False)
    assert cloud.used("dev", R.PRIMARY_STORAGE) == 0 and pool_allocated(cloud) == 0
    assert cloud.event_types(volume_id)[-1] == "volume.create.failed"
    # From error the owner deletes it; nothing is released twice.
    assert run(cloud, call(cloud, "delete", volume_id)).state is JobState.SUCCESS
    assert volume(cloud, volume_id).state == "deleted"
    assert cloud.used("dev", R.VOLUMES) == 0 and pool_allocated(cloud) == 0


def test_jobs_rerun_after_a_dead_worker_succeed(cloud: Cloud) -> None:
    # The worker died after creating the pool volume, before committing.
    volume_id, job_id = create_volume(cloud, size_gib=1)
    cloud.driver().create_volume(POOL, f"concord-volume-{volume_id}", GIB)
    assert run(cloud, job_id).state is JobState.SUCCESS
    # ... after growing it.
    resize = call(cloud, "resize", volume_id, 2)
    cloud.driver().resize_volume(POOL, f"concord-volume-{volume_id}", 2 * GIB)
    assert run(cloud, resize).state is JobState.SUCCESS
    # ... after deleting it.
    delete = call(cloud, "delete", volume_id)
    cloud.driver().delete_volume(POOL, f"concord-volume-{volume_id}")
    assert run(cloud, delete).state is JobState.SUCCESS
    assert cloud.used("dev", R.PRIMARY_STORAGE) == 0 and pool_allocated(cloud) == 0


def test_a_rolled_back_request_leaves_no_trace(cloud: Cloud) -> None:
    before = counts(cloud)
    session = cloud.database.session()
    try:
        StorageService(session).create_volume(cloud.scopes["alice"], name="ghost", size_gib=1)
        session.flush()
        session.rollback()
    finally:
        session.close()
    assert counts(cloud) == before
    assert cloud.used("dev", R.VOLUMES) == 0 and pool_allocated(cloud) == 0
    assert cloud.run_jobs() == 0


# -- attachments ------------------------------------------------------------------------------


def test_attach_and_detach_on_a_stopped_guest(cloud: Cloud) -> None:
    compute_id = new_compute(cloud)
    first, second = ready_volume(cloud), ready_volume(cloud)
    attachment_id, job_id = attach(cloud, compute_id, first, mountpoint="/data")
    with cloud.database.transaction() as session:
        row = session.get(StorageAttachment, attachment_id)
        assert row is not None and (row.state, row.device) == ("attaching", "vdb")
    job = run(cloud, job_id)
    assert job.state is JobState.SUCCESS, job.error
    assert job.result == {"state": "attached", "device": "vdb", "live": False}
    path = volume(cloud, first).path
    assert [(d.device, d.path) for d in cloud.driver().guest_disks(cloud.guest(compute_id))] == [
        ("vdb", path)
    ]
    _, job_id = attach(cloud, compute_id, second, device="sdc")
    assert run(cloud, job_id).state is JobState.SUCCESS
    disks = {d.device: d for d in cloud.driver().guest_disks(cloud.guest(compute_id))}
    assert (disks["sdc"].bus, disks["sdc"].path) == ("scsi", volume(cloud, second).path)
    listed = call(cloud, "list_attachments", compute_id=compute_id)
    assert [(a.device, a.state, a.mountpoint) for a in listed] == [
        ("sdc", "attached", None),
        ("vdb", "attached", "/data"),
    ]

    # Attached volumes cannot be deleted nor taken offline; nothing changes.
    before = counts(cloud)
    for method, args in (("delete", ()), ("perform", (Action.OFFLINE,))):
        with pytest.raises(Conflict, match="attached"):
            call(cloud, method, first, *args)
    assert counts(cloud) == before and volume(cloud, first).state == "available"

    job = run(cloud, call(cloud, "detach", attachment_id))
    assert job.state is JobState.SUCCESS, job.error
    assert [d.device for d in cloud.driver().guest_disks(cloud.guest(compute_id))] == ["sdc"]
    with pytest.raises(NotFound):
        call(cloud, "get_attachment", attachment_id)
    # The volume is free again: attachable elsewhere, deletable.
    assert run(cloud, attach(cloud, compute_id, first)[1]).state is JobState.SUCCESS
    assert {d.device for d in cloud.driver().guest_disks(cloud.guest(compute_id))} == {"vdb", "sdc"}
    assert cloud.event_types(attachment_id) == [
        "storage_attachment.created",
        "storage_attachment.attached",
        "storage_attachment.detach.requested",
        "storage_attachment.deleted",
    ]
    attached = cloud.events(attachment_id)[1].payload
    assert {k: attached[k] for k in ("compute_id", "volume_id", "device", "host_id")} == {
        "compute_id": compute_id,
        "volume_id": first,
        "device": "vdb",
        "host_id": cloud.ids["host-1"],
    }

    # The guest starts with its disks; deleting the compute drops its links.
    with cloud.database.transaction() as session:
        start = ComputeService(session).perform(cloud.scopes["alice"], compute_id, Action.START)
    assert run(cloud, start.id).state is JobState.SUCCESS
    assert cloud.driver().guest_state(cloud.guest(compute_id)) is PowerState.RUNNING
    assert {d.device for d in cloud.driver().guest_disks(cloud.guest(compute_id))} == {"vdb", "sdc"}


def test_attach_and_detach_on_a_running_guest(cloud: Cloud) -> None:
    compute_id = new_compute(cloud, start=True)
    volume_id = ready_volume(cloud)
    attachment_id, job_id = attach(cloud, compute_id, volume_id)
    job = run(cloud, job_id)
    assert job.state is JobState.SUCCESS and job.result["live"] is True
    assert [d.device for d in cloud.driver().guest_disks(cloud.guest(compute_id))] == ["vdb"]
    # A volume attached to a running guest still grows.
    assert run(cloud, call(cloud, "resize", volume_id, 2)).state is JobState.SUCCESS
    assert pool_volumes(cloud)[f"concord-volume-{volume_id}"] == 2 * GIB
    assert run(cloud, call(cloud, "detach", attachment_id)).state is JobState.SUCCESS
    assert cloud.driver().guest_disks(cloud.guest(compute_id)) == ()
    assert cloud.driver().guest_state(cloud.guest(compute_id)) is PowerState.RUNNING
    assert run(cloud, call(cloud, "delete", volume_id)).state is JobState.SUCCESS


def test_attach_refusals_change_nothing(cloud: Cloud) -> None:
    compute_id = new_compute(cloud)
    bobs = new_compute(cloud, user="bob")
    creating, _ = create_volume(cloud)
    with pytest.raises(InvalidTransition, match="creating"):
        attach(cloud, compute_id, creating)
    cloud.run_jobs()
    volume_id = creating
    before = counts(cloud)
    with pytest.raises(NotFound):
        attach(cloud, bobs, volume_id)  # alice cannot see bob's compute
    with pytest.raises(NotFound):
        attach(cloud, compute_id, volume_id, user="bob")
    with pytest.raises(Conflict, match="different owners"):
        attach(cloud, bobs, volume_id, user="acmeadmin")
    for device in ("vdb1", "nvme0", "a"):
        with pytest.raises(InvalidInput):
            attach(cloud, compute_id, volume_id, device=device)
    assert counts(cloud) == before
    other = ready_volume(cloud)
    attach(cloud, compute_id, volume_id, device="vdc")
    with pytest.raises(Conflict, match="already attached"):
        attach(cloud, compute_id, volume_id)
    with pytest.raises(AlreadyExists):
        attach(cloud, compute_id, other, device="vdc")
    # A job runs on the attachment: no detach until it ends.
    attachment = call(cloud, "list_attachments", volume_id=volume_id)[0]
    with pytest.raises(InvalidTransition):
        call(cloud, "detach", attachment.id)


def test_a_volume_must_be_reachable_from_the_guests_host(cloud: Cloud) -> None:
    compute_id = new_compute(cloud)  # on host-1
    set_pool(cloud, "host-1-images", AllocationState.DISABLED)
    elsewhere = ready_volume(cloud)  # in host-2's local pool
    assert volume(cloud, elsewhere).pool_id == cloud.ids["pool:host-2-images"]
    with pytest.raises(Conflict, match="local to another host"):
        attach(cloud, compute_id, elsewhere)
    # A shared pool of the cluster is reachable from every host of it.
    with cloud.database.transaction() as session:
        shared = StoragePool(
            cluster_id=cloud.ids["cluster"],
            host_id=None,
            name="shared",
            pool_name=POOL,
            capacity_bytes=50 * GIB,
        )
        session.add(shared)
        session.flush()
        cloud.ids["pool:shared"] = shared.id
    set_pool(cloud, "host-2-images", AllocationState.DISABLED)
    shared_volume = ready_volume(cloud)
    assert volume(cloud, shared_volume).pool_id == cloud.ids["pool:shared"]
    assert run(cloud, attach(cloud, compute_id, shared_volume)[1]).state is JobState.SUCCESS


def test_prepared_attachment_joins_the_guest_at_creation(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        scope = cloud.scopes["alice"]
        storage = StorageService(session)
        vol, _ = storage.create_volume(scope, name="boot-data", size_gib=1)
        compute, _ = ComputeService(session).create(
            scope, name="vm", offering_id=cloud.ids["small"], start=False
        )
        attachment = AttachmentService(session).prepare_attachment(scope, compute, vol)
        assert (attachment.state, attachment.device) == ("attaching", "vdb")
        ids = (vol.id, compute.id, attachment.id)
        # Prepared attachments are for computes being created only.
        with pytest.raises(InvalidTransition):
            AttachmentService(session).attach(scope, compute_id=compute.id, volume_id=vol.id)
    volume_id, compute_id, attachment_id = ids
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == "stopped"
    # The compute's creation defines the guest with the disk (from the rows)...
    assert [(d.device, d.path) for d in cloud.driver().guest_disks(cloud.guest(compute_id))] == [
        ("vdb", volume(cloud, volume_id).path)
    ]
    # ... and completes the attachment itself.
    assert call(cloud, "get_attachment", attachment_id).state == "attached"
    with cloud.database.transaction() as session:
        row = session.get(Compute, compute_id)
        assert row is not None
        assert complete_prepared_attachments(session, row) == 0  # nothing left to complete
    assert "storage_attachment.attached" in cloud.event_types(attachment_id)
    with cloud.database.transaction() as session:
        row = session.get(Compute, compute_id)
        assert row is not None
        with pytest.raises(InvalidTransition):
            AttachmentService(session).prepare_attachment(
                cloud.scopes["alice"], row, session.get(Volume, volume_id)
            )


def test_detach_tolerates_a_disk_already_gone(cloud: Cloud) -> None:
    compute_id = new_compute(cloud)
    volume_id = ready_volume(cloud)
    attachment_id, job_id = attach(cloud, compute_id, volume_id)
    run(cloud, job_id)
    cloud.driver().detach_volume(cloud.guest(compute_id), "vdb")  # done before a worker died
    assert run(cloud, call(cloud, "detach", attachment_id)).state is JobState.SUCCESS
    assert call(cloud, "list_attachments") == []
