"""Every guest of an image boots its own copy of it, sized by its offering, and gives it back.

On ``test:///`` hosts: the image is a volume of the host's pool, as a captured
image or an operator's upload is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from unit.engine.cloud import POOL, Cloud, build_cloud, create

from engine.catalog.models import ComputeOffering, Image
from engine.compute._root_disk import GIB, image_path
from engine.compute.reconcile import reconcile
from engine.compute.root_disks import root_volume_name
from engine.compute.service import ComputeService
from engine.db import Database
from engine.errors import CapacityUnavailable, NotFound
from engine.inventory.capacity import pool_limit
from engine.inventory.models import Host, HostState, StoragePool
from engine.jobs.models import JobState
from engine.lifecycle import Action, State
from engine.schema import alembic_config
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quota_models import ResourceCount
from engine.tenancy.quotas import QuotaService


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


@pytest.fixture
def image(cloud: Cloud) -> str:
    """A public 1 GiB image on both hosts, and an offering with a 3 GiB root disk."""
    for host in ("host-1", "host-2"):
        cloud.driver(host).create_volume(POOL, "base.img", GIB)
    with cloud.database.transaction() as session:
        image = Image(name="base", location=f"{POOL}/base.img", state="available")
        roomy = ComputeOffering(name="roomy", vcpus=1, memory_mib=512, root_disk_gib=3)
        session.add_all([image, roomy])
        session.flush()
        cloud.ids["roomy"] = roomy.id
        return image.id


def volumes(cloud: Cloud) -> dict[str, int]:
    return {v.name: v.capacity_bytes for v in cloud.driver().list_volumes(POOL)}


def allocated(cloud: Cloud) -> int:
    with cloud.database.transaction() as session:
        pool = session.scalar(sa.select(StoragePool).where(StoragePool.name == f"host-1-{POOL}"))
        assert pool is not None
        return pool.allocated_bytes


def test_two_guests_of_one_image_boot_their_own_copies(cloud: Cloud, image: str) -> None:
    first, _ = create(cloud, name="a", image_id=image)
    second, _ = create(cloud, name="b", image_id=image, offering_id=cloud.ids["roomy"])
    cloud.run_jobs()
    assert cloud.compute(first).state == State.RUNNING
    boots = {c: cloud.driver().guest_disks(cloud.guest(c))[0] for c in (first, second)}
    assert {c: Path(d.path).name for c, d in boots.items()} == {
        c: root_volume_name(cloud.guest(c)) for c in (first, second)
    }
    assert all(d.device == "vda" for d in boots.values())
    # A copy of the image's size, or the offering's root disk when that is larger;
    # the image itself is untouched.
    found = volumes(cloud)
    assert found[root_volume_name(cloud.guest(first))] == GIB
    assert found[root_volume_name(cloud.guest(second))] == 3 * GIB
    assert found["base.img"] == GIB
    assert allocated(cloud) == 4 * GIB
    provisioned = [e for e in cloud.events(second) if e.type == "compute.provisioned"]
    assert provisioned[0].payload["root_disk_bytes"] == 3 * GIB


def test_deleting_a_guest_deletes_its_copy_and_frees_the_pool(cloud: Cloud, image: str) -> None:
    kept, _ = create(cloud, name="kept", image_id=image)
    doomed, _ = create(cloud, name="doomed", image_id=image)
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        job = ComputeService(session).delete(cloud.scopes["alice"], doomed)
    cloud.run_jobs()
    assert cloud.job(job.id).state is JobState.SUCCESS
    assert cloud.job(job.id).result["root_disk_removed"] is True
    assert set(volumes(cloud)) == {"base.img", root_volume_name(cloud.guest(kept))}
    assert allocated(cloud) == GIB
    row = cloud.compute(doomed)
    assert (row.root_pool_id, row.root_disk_bytes) == (None, 0)


def test_a_copy_left_by_an_attempt_that_died_is_made_again(cloud: Cloud, image: str) -> None:
    compute_id, _ = create(cloud, image_id=image)
    # What a host that failed in the middle of the copy leaves behind: a
    # volume with the copy's name that is not the image (here, far smaller),
    # and neither a guest nor a record of the copy.
    for host in ("host-1", "host-2"):
        cloud.driver(host).create_volume(POOL, root_volume_name(cloud.guest(compute_id)), 4096)
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    host = cloud.compute(compute_id).host_id
    name = next(n for n in ("host-1", "host-2") if cloud.host(n).id == host)
    copies = {v.name: v.capacity_bytes for v in cloud.driver(name).list_volumes(POOL)}
    assert copies[root_volume_name(cloud.guest(compute_id))] == GIB


def test_a_guest_keeps_its_copy_across_a_stop_and_start(cloud: Cloud, image: str) -> None:
    compute_id, _ = create(cloud, image_id=image)
    cloud.run_jobs()
    for action in (Action.STOP, Action.START):
        with cloud.database.transaction() as session:
            ComputeService(session).perform(cloud.scopes["alice"], compute_id, action)
        cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    assert Path(
        cloud.driver().guest_disks(cloud.guest(compute_id))[0].path
    ).name == root_volume_name(cloud.guest(compute_id))
    assert allocated(cloud) == GIB


def fill_pool(cloud: Cloud, host: str, room: int) -> None:
    """Leave ``room`` bytes in a host's pool (over-provisioning included)."""
    with cloud.database.transaction() as session:
        pool = session.scalar(sa.select(StoragePool).where(StoragePool.name == f"{host}-{POOL}"))
        assert pool is not None
        pool.allocated_bytes = pool_limit(pool) - room


def known_size(cloud: Cloud, image: str, size_bytes: int) -> None:
    with cloud.database.transaction() as session:
        session.execute(sa.update(Image).where(Image.id == image).values(size_bytes=size_bytes))


def test_a_guest_goes_to_a_host_whose_pool_has_room_for_its_copy(cloud: Cloud, image: str) -> None:
    known_size(cloud, image, GIB)
    fill_pool(cloud, "host-1", GIB // 2)  # first fit would pick host-1
    compute_id, _ = create(cloud, image_id=image)
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    assert cloud.compute(compute_id).host_id == cloud.host("host-2").id
    # The offering's root disk counts too: 3 GiB fit nowhere now.
    fill_pool(cloud, "host-2", 2 * GIB)
    with pytest.raises(CapacityUnavailable, match="with a root disk of 3221225472 bytes"):
        create(cloud, name="roomy", image_id=image, offering_id=cloud.ids["roomy"])
    # A guest without a root disk still goes anywhere.
    plain, _ = create(cloud, name="plain", image_id=cloud.ids["firmware"])
    assert cloud.compute(plain).host_id == cloud.host("host-1").id


def test_a_creation_without_room_for_the_copy_fails_and_leaves_nothing(
    cloud: Cloud, image: str
) -> None:
    # The image's size is not recorded, so placement cannot tell: the job finds out.
    with cloud.database.transaction() as session:
        # Half a GiB short of what the pools may promise (over-provisioning included).
        nearly_full = {
            p.id: pool_limit(p) - GIB // 2 for p in session.scalars(sa.select(StoragePool))
        }
        for pool_id, used in nearly_full.items():
            session.execute(
                sa.update(StoragePool).where(StoragePool.id == pool_id).values(allocated_bytes=used)
            )
    compute_id, job_id = create(cloud, image_id=image)
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.FAILED
    assert "no room for the compute's root disk" in (cloud.job(job_id).error or "")
    assert cloud.compute(compute_id).state == State.ERROR
    assert root_volume_name(cloud.guest(compute_id)) not in volumes(cloud)
    assert cloud.guest(compute_id) not in cloud.driver().list_guests()
    assert allocated(cloud) in nearly_full.values()  # unchanged


def test_a_root_disk_counts_against_primary_storage_until_it_is_gone(
    cloud: Cloud, image: str
) -> None:
    small, _ = create(cloud, name="small", image_id=image)
    roomy, _ = create(cloud, name="roomy", image_id=image, offering_id=cloud.ids["roomy"])
    cloud.run_jobs()
    # Like a volume of the same size (GiB, rounded up): 1 + 3.
    assert cloud.used("dev", ResourceType.PRIMARY_STORAGE) == 4
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], roomy)
    cloud.run_jobs()
    assert cloud.used("dev", ResourceType.PRIMARY_STORAGE) == 1
    assert cloud.compute(small).state == State.RUNNING


def test_a_root_disk_over_the_primary_storage_limit_fails_the_creation(
    cloud: Cloud, image: str
) -> None:
    with cloud.database.transaction() as session:
        QuotaService(session).set_limit(
            cloud.root, LimitOwner.ACCOUNT, cloud.ids["dev"], ResourceType.PRIMARY_STORAGE, 2
        )
    compute_id, job_id = create(cloud, image_id=image, offering_id=cloud.ids["roomy"])
    cloud.run_jobs()
    job = cloud.job(job_id)
    assert job.state is JobState.FAILED
    assert "limit for primary_storage is 2" in (job.error or "")
    assert cloud.compute(compute_id).state == State.ERROR
    # Nothing is left charged or copied; the compute's own resources are back too.
    assert cloud.used("dev", ResourceType.PRIMARY_STORAGE) == 0
    assert cloud.used("dev", ResourceType.INSTANCES) == 0
    assert root_volume_name(cloud.guest(compute_id)) not in volumes(cloud)
    assert allocated(cloud) == 0
    # A guest whose copy fits is created as usual.
    fits, _ = create(cloud, name="fits", image_id=image)
    cloud.run_jobs()
    assert cloud.compute(fits).state == State.RUNNING
    assert cloud.used("dev", ResourceType.PRIMARY_STORAGE) == 1


def domain_used(cloud: Cloud, domain: str) -> int:
    with cloud.database.transaction() as session:
        used = session.scalar(
            sa.select(ResourceCount.used).where(
                ResourceCount.owner_kind == LimitOwner.DOMAIN,
                ResourceCount.owner_id == cloud.ids[domain],
                ResourceCount.resource_type == ResourceType.PRIMARY_STORAGE,
            )
        )
        return int(used or 0)


def test_root_disks_made_before_they_counted_are_charged_by_the_upgrade(
    cloud: Cloud, image: str
) -> None:
    compute_id, _ = create(cloud, image_id=image, offering_id=cloud.ids["roomy"])
    cloud.run_jobs()
    assert (cloud.used("dev", ResourceType.PRIMARY_STORAGE), domain_used(cloud, "acme")) == (3, 3)
    # Revision 0001 is the schema of the databases whose root disks were never
    # charged: going down to it takes the charge away, as they had it.
    config = alembic_config(cloud.database)
    command.downgrade(config, "0001")
    assert (cloud.used("dev", ResourceType.PRIMARY_STORAGE), domain_used(cloud, "acme")) == (0, 0)
    command.upgrade(config, "head")
    assert (cloud.used("dev", ResourceType.PRIMARY_STORAGE), domain_used(cloud, "acme")) == (3, 3)
    # And it is given back with the disk, as any other.
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], compute_id)
    cloud.run_jobs()
    assert (cloud.used("dev", ResourceType.PRIMARY_STORAGE), domain_used(cloud, "acme")) == (0, 0)


def test_a_guest_of_an_image_that_boots_nothing_has_no_copy(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, image_id=cloud.ids["firmware"])
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    assert cloud.driver().guest_disks(cloud.guest(compute_id)) == ()
    assert allocated(cloud) == 0


def reconcile_now(cloud: Cloud) -> list[str]:
    with cloud.database.transaction() as session:
        return reconcile(session, cloud.drivers).root_disks_removed


def set_host_state(cloud: Cloud, state: HostState) -> None:
    with cloud.database.transaction() as session:
        session.execute(sa.update(Host).where(Host.name == "host-1").values(state=state))


def test_a_copy_left_on_a_down_host_keeps_its_claim_until_reconciliation(
    cloud: Cloud, image: str
) -> None:
    compute_id, _ = create(cloud, image_id=image)
    cloud.run_jobs()
    set_host_state(cloud, HostState.DOWN)
    with cloud.database.transaction() as session:
        job = ComputeService(session).delete(cloud.scopes["alice"], compute_id)
    cloud.run_jobs()
    assert cloud.job(job.id).result["root_disk_removed"] is False
    # The copy is still on the host: its bytes stay claimed, and counted.
    assert root_volume_name(cloud.guest(compute_id)) in volumes(cloud)
    assert allocated(cloud) == GIB
    assert cloud.used("dev", ResourceType.PRIMARY_STORAGE) == 1
    assert cloud.compute(compute_id).root_pool_id is not None
    set_host_state(cloud, HostState.UP)
    # The guest the deletion could not destroy still uses it: left for the operator.
    assert reconcile_now(cloud) == []
    assert root_volume_name(cloud.guest(compute_id)) in volumes(cloud)
    cloud.driver().destroy_guest(cloud.guest(compute_id))
    assert reconcile_now(cloud) == [compute_id]
    assert root_volume_name(cloud.guest(compute_id)) not in volumes(cloud)
    assert allocated(cloud) == 0
    assert cloud.used("dev", ResourceType.PRIMARY_STORAGE) == 0
    assert reconcile_now(cloud) == []


def test_reconciliation_removes_only_orphan_copies(cloud: Cloud, image: str) -> None:
    failed, failed_job = create(cloud, name="failed", image_id=image)
    with cloud.database.transaction() as session:
        session.execute(sa.update(StoragePool).values(allocated_bytes=10**15))
    cloud.run_jobs()
    assert cloud.job(failed_job).state is JobState.FAILED
    with cloud.database.transaction() as session:
        session.execute(sa.update(StoragePool).values(allocated_bytes=0))
    running, _ = create(cloud, name="running", image_id=image)
    cloud.run_jobs()
    pending, _ = create(cloud, name="pending", image_id=image)  # its job not run yet
    stranger = str(uuid.uuid4())
    driver = cloud.driver()
    guests = {c: cloud.guest(c) for c in (failed, pending, running)} | {stranger: stranger}
    for compute_id in (failed, pending, stranger):
        # A copy the failed creation could not remove, one the pending creation is
        # making, one of a compute this database never knew.
        driver.create_volume(POOL, root_volume_name(guests[compute_id]), GIB)
    assert reconcile_now(cloud) == [failed]
    kept = {root_volume_name(guests[c]) for c in (running, pending, stranger)}
    assert kept <= set(volumes(cloud))
    assert root_volume_name(cloud.guest(failed)) not in volumes(cloud)


def test_an_image_missing_from_the_host_names_no_pool_or_volume_to_clients(cloud: Cloud) -> None:
    # The image's location names the installation's pools and volumes: the
    # operators' log has it, the error (whose details clients read) does not.
    with pytest.raises(NotFound) as caught:
        image_path(cloud.driver(), f"{POOL}/nowhere.img")
    assert caught.value.details == {"subject": "image"}
    assert "nowhere" not in caught.value.message and POOL not in caught.value.message
