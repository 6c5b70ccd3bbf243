"""Every lifecycle path records, in its own transaction, the facts usage accounting needs.

Each test drives real services and jobs over simulated libvirt hosts, then
folds the resource's recorded events with :func:`engine.usage.types.holdings`
(what the aggregator does) and checks that what the events say the resource
holds is what it really holds: a running guest with its offering's vCPUs and
memory, a stopped one only allocated, a volume its GiB, an interface its
address, an image its size; nothing once deleted or after a failed creation.
Every metered event names the owner (account, project, domain).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from unit.engine.cloud import Cloud, add_volume, build_cloud, create, perform
from unit.engine.usage_facts import held

from engine.catalog.models import Image
from engine.catalog.service import CatalogService
from engine.compute.interfaces import InterfaceService
from engine.compute.reconcile import reconcile
from engine.compute.service import ComputeService
from engine.db import Database
from engine.jobs.models import JobState
from engine.lifecycle import Action, State
from engine.network.service import NetworkService
from engine.storage.service import StorageService
from engine.tenancy.passwords import PasswordHasher
from engine.usage.types import UsageType, holdings

U = UsageType


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def offering_of(cloud: Cloud, resource_id: str) -> set[str]:
    last = cloud.events(resource_id)[-1]
    found = holdings(last.resource_type, last.type, last.account_id, last.payload) or set()
    return {h.offering_id for h in found}


def call(cloud: Cloud, service: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    with cloud.database.transaction() as session:
        result = getattr(service(session), method)(cloud.scopes["alice"], *args, **kwargs)
        return tuple(r.id for r in result) if isinstance(result, tuple) else result.id


RUNNING_SMALL = {(U.ALLOCATED_VM, 1), (U.RUNNING_VM, 1), (U.CPU, 1), (U.MEMORY, 512)}


def test_a_guest_is_metered_through_start_stop_resize_capture_and_delete(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    # Allocated from its creation request: it holds a placement already.
    assert held(cloud, compute_id) == {(U.ALLOCATED_VM, 1)}
    event = cloud.events(compute_id)[0]
    assert event.type == "compute.created"
    for fact in ("zone_id", "host_id", "offering_id", "vcpus", "memory_mib", "project_id"):
        assert fact in event.payload
    cloud.run_jobs()
    assert held(cloud, compute_id) == RUNNING_SMALL
    assert offering_of(cloud, compute_id) == {cloud.ids["small"]}
    perform(cloud, compute_id, Action.STOP)
    assert held(cloud, compute_id) == {(U.ALLOCATED_VM, 1)}
    with cloud.database.transaction() as session:
        ComputeService(session).resize(
            cloud.scopes["alice"], compute_id, offering_id=cloud.ids["large"]
        )
    assert cloud.event_types(compute_id)[-1] == "compute.resized"
    assert offering_of(cloud, compute_id) == {cloud.ids["large"]}
    perform(cloud, compute_id, Action.START)
    assert held(cloud, compute_id) == {
        (U.ALLOCATED_VM, 1),
        (U.RUNNING_VM, 1),
        (U.CPU, 2),
        (U.MEMORY, 2048),
    }
    perform(cloud, compute_id, Action.PAUSE)
    assert (U.RUNNING_VM, 1) in held(cloud, compute_id)  # paused guests hold their host
    perform(cloud, compute_id, Action.RESUME)
    perform(cloud, compute_id, Action.STOP)
    add_volume(cloud, compute_id)
    job = perform(cloud, compute_id, Action.CAPTURE, image_name="gold")
    assert job.state is JobState.SUCCESS
    with cloud.database.transaction() as session:
        image = CatalogService(session).find_entry(cloud.scopes["alice"], Image, "gold")
        image_id, size = image.id, image.size_bytes
    assert held(cloud, image_id) == {(U.SNAPSHOT, -(-size // 2**20))}
    with cloud.database.transaction() as session:
        CatalogService(session).delete_entry(cloud.scopes["alice"], Image, image_id)
    assert held(cloud, image_id) == set()
    with cloud.database.transaction() as session:
        ComputeService(session).delete(cloud.scopes["alice"], compute_id)
    cloud.run_jobs()
    assert held(cloud, compute_id) == set()


def test_a_failed_creation_holds_nothing(cloud: Cloud) -> None:
    Path(cloud.host().uri.removeprefix("test://")).unlink()
    compute_id, job_id = create(cloud)
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.FAILED
    assert cloud.event_types(compute_id)[-1] == "compute.create.failed"
    assert held(cloud, compute_id) == set()


def test_a_reconciliation_correction_stops_the_running_time(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    assert held(cloud, compute_id) == RUNNING_SMALL
    cloud.pool.get(cloud.host().uri).lookupByName(f"concord-{cloud.guest(compute_id)}").destroy()
    with cloud.database.transaction() as session:
        reconcile(session, cloud.drivers)
    assert cloud.event_types(compute_id)[-1] == "compute.observed"
    assert cloud.compute(compute_id).state == State.STOPPED
    assert held(cloud, compute_id) == {(U.ALLOCATED_VM, 1)}


def test_volumes_are_metered_by_size_until_deleted(cloud: Cloud) -> None:
    volume_id, _ = call(cloud, StorageService, "create_volume", name="data", size_gib=1)
    assert held(cloud, volume_id) == {(U.VOLUME, 1)}
    cloud.run_jobs()
    call(cloud, StorageService, "resize", volume_id, 3)
    cloud.run_jobs()
    assert cloud.event_types(volume_id)[-1] == "volume.resized"
    assert held(cloud, volume_id) == {(U.VOLUME, 3)}
    call(cloud, StorageService, "delete", volume_id)
    cloud.run_jobs()
    assert held(cloud, volume_id) == set()


def test_networks_and_addresses_are_metered_until_released(cloud: Cloud) -> None:
    network_id, _ = call(cloud, NetworkService, "create_network", name="net", cidr="10.0.0.0/24")
    cloud.run_jobs()
    assert held(cloud, network_id) == {(U.NETWORK, 1)}
    compute_id, _ = create(cloud, start=False)
    cloud.run_jobs()
    nic_id, _ = call(
        cloud, InterfaceService, "attach_interface", compute_id=compute_id, network_id=network_id
    )
    assert held(cloud, nic_id) == {(U.IP_ADDRESS, 1)}
    cloud.run_jobs()
    call(cloud, InterfaceService, "detach_interface", nic_id)
    cloud.run_jobs()
    assert held(cloud, nic_id) == set()
    call(cloud, NetworkService, "delete", network_id)
    cloud.run_jobs()
    assert held(cloud, network_id) == set()


def test_registered_images_are_metered_as_templates(cloud: Cloud) -> None:
    with cloud.database.transaction() as session:
        image = CatalogService(session).create_image(
            cloud.scopes["alice"], "mine", size_bytes=5 * 2**20 + 1
        )
        image_id = image.id
    assert cloud.event_types(image_id) == ["image.created"]
    assert held(cloud, image_id) == {(U.TEMPLATE, 6)}
    with cloud.database.transaction() as session:
        CatalogService(session).delete_entry(cloud.scopes["alice"], Image, image_id)
    assert cloud.event_types(image_id) == ["image.created", "image.deleted"]
    assert held(cloud, image_id) == set()
