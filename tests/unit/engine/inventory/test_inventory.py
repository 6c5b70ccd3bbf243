"""Inventory administration: zones, pods, clusters, hosts from real libvirt test hosts.

Runs on SQLite and MariaDB over the seeded cloud of ``tests/conftest.py``. Every
host is a libvirt ``test:///`` node file written under ``tmp_path`` and opened
through a private connection pool, so its capacity really comes from libvirt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.compute.models import Compute
from engine.db import Database
from engine.drivers.base import HypervisorDriver
from engine.drivers.libvirt import ConnectionPool, LibvirtDriver, write_test_host
from engine.errors import (
    AlreadyExists,
    Conflict,
    DriverUnavailable,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from engine.inventory.models import AllocationState, Host, HostState, StoragePool
from engine.inventory.service import InventoryService
from engine.lifecycle import State
from engine.scope import Scope
from engine.storage.models import Volume
from engine.tenancy.credentials import CredentialService
from engine.tenancy.passwords import PasswordHasher

GIB = 1024**3
UNREACHABLE = "qemu+unix:///system?socket=/nonexistent/sock"
ScopeOf = Callable[[str], Scope]
HostWriter = Callable[..., str]


@pytest.fixture
def session(database: Database, tenancy: object) -> Iterator[Session]:
    """A session over the seeded cloud; whatever a test changes is rolled back."""
    with database.session() as session:
        yield session
        session.rollback()


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    """A private libvirt connection pool: its test hosts vanish with it."""
    pool = ConnectionPool()
    yield pool
    pool.close_all()


@pytest.fixture
def drivers(pool: ConnectionPool) -> Callable[[str], HypervisorDriver]:
    return lambda uri: LibvirtDriver(uri, pool)


@pytest.fixture
def service(session: Session, drivers: Callable[[str], HypervisorDriver]) -> InventoryService:
    return InventoryService(session, drivers)


@pytest.fixture
def scope_of(session: Session, hasher: PasswordHasher) -> ScopeOf:
    credentials = CredentialService(session, hasher)
    return lambda username: credentials.authenticate_password(username, f"{username}-password")


@pytest.fixture
def write_host(tmp_path: Path) -> HostWriter:
    """Write a simulated host's node file; returns its ``test:///`` URI."""

    def write(
        name: str, cores: int = 16, mhz: int = 2400, memory_mib: int = 65536, pools=None
    ) -> str:
        pools = [("local", 300, f"/srv/{name}")] if pools is None else pools
        return write_test_host(
            tmp_path / f"{name}.xml",
            hostname=name,
            cpu_cores=cores,
            cpu_mhz=mhz,
            memory_mib=memory_mib,
            pools=pools,
        )

    return write


@pytest.fixture
def cluster(service: InventoryService, tenancy) -> str:
    zone = service.create_zone(tenancy.root, "zone-1", "the first zone")
    pod = service.create_pod(tenancy.root, zone.id, "pod-1")
    return service.create_cluster(tenancy.root, pod.id, "cluster-1", cpu_overprovisioning=4.0).id


# -- zones, pods, clusters ---------------------------------------------------------


def test_zone_pod_cluster_tree(service: InventoryService, tenancy) -> None:
    root = tenancy.root
    zone = service.create_zone(root, "zone-a", "A")
    pod = service.create_pod(root, zone.id, "pod-a")
    cluster = service.create_cluster(root, pod.id, "cluster-a")
    assert (cluster.cpu_overprovisioning, cluster.memory_overprovisioning) == (1.0, 1.0)
    assert cluster.storage_overprovisioning == 2.0
    assert cluster.hypervisor_type == ""  # the first host decides
    assert service.find_zone(root, "zone-a").id == zone.id
    assert service.find_pod(root, zone.id, "pod-a").id == pod.id
    assert service.find_cluster(root, "cluster-a").id == cluster.id
    assert service.find_cluster(root, "cluster-a", zone_id=zone.id).id == cluster.id
    assert [p.id for p in service.list_pods(root, zone.id)] == [pod.id]
    assert [c.id for c in service.list_clusters(root, pod_id=pod.id)] == [cluster.id]
    # Names are unique per parent, not globally.
    other = service.create_zone(root, "zone-b")
    service.create_pod(root, other.id, "pod-a")
    other_cluster = service.create_cluster(
        root, service.find_pod(root, other.id, "pod-a").id, "cluster-a"
    )
    with pytest.raises(InvalidInput, match="name the pod or zone"):
        service.find_cluster(root, "cluster-a")
    assert service.find_cluster(root, "cluster-a", zone_id=other.id).id == other_cluster.id
    with pytest.raises(AlreadyExists):
        service.create_zone(root, "zone-a")
    with pytest.raises(AlreadyExists):
        service.create_pod(root, zone.id, "pod-a")
    with pytest.raises(AlreadyExists):
        service.create_cluster(root, pod.id, "cluster-a")
    with pytest.raises(NotFound):
        service.find_cluster(root, "nope")


@pytest.mark.parametrize("factor", [0, -1.0, math.nan, math.inf, "2", True])
def test_overprovisioning_factors_must_be_positive_numbers(
    service: InventoryService, tenancy, factor: object
) -> None:
    zone = service.create_zone(tenancy.root, "z")
    pod = service.create_pod(tenancy.root, zone.id, "p")
    for name in ("cpu_overprovisioning", "memory_overprovisioning", "storage_overprovisioning"):
        with pytest.raises(InvalidInput, match=name):
            service.create_cluster(tenancy.root, pod.id, "c", **{name: factor})
    assert service.list_clusters(tenancy.root) == []


def test_zones_are_public_but_only_enabled_ones(
    service: InventoryService, tenancy, scope_of: ScopeOf
) -> None:
    root = tenancy.root
    with pytest.raises(NotFound, match="no zone is available"):
        service.default_zone(scope_of("alice"))
    first = service.create_zone(root, "first")
    second = service.create_zone(root, "second")
    alice = scope_of("alice")
    assert service.default_zone(alice).id == first.id
    service.set_zone_allocation(root, first.id, AllocationState.DISABLED)
    assert service.default_zone(alice).id == second.id
    assert [z.name for z in service.list_zones(alice)] == ["second"]
    assert [z.name for z in service.list_zones(root)] == ["first", "second"]
    with pytest.raises(NotFound):
        service.get_zone(alice, first.id)
    with pytest.raises(NotFound):
        service.find_zone(alice, "first")
    assert service.get_zone(root, first.id).allocation_state is AllocationState.DISABLED
    service.set_zone_allocation(root, second.id, AllocationState.DISABLED)
    with pytest.raises(NotFound):
        service.default_zone(alice)


@pytest.mark.parametrize("username", ["acmeadmin", "alice", "carol"])
def test_only_root_administers_or_reads_the_infrastructure(
    service: InventoryService, tenancy, scope_of: ScopeOf, cluster: str, write_host, username
) -> None:
    host = service.add_host(tenancy.root, cluster, write_host("h1"))
    scope = scope_of(username)
    zone_id = service.list_zones(tenancy.root)[0].id
    attempts = [
        lambda: service.create_zone(scope, "mine"),
        lambda: service.set_zone_allocation(scope, zone_id, AllocationState.DISABLED),
        lambda: service.create_pod(scope, zone_id, "mine"),
        lambda: service.list_pods(scope),
        lambda: service.list_clusters(scope),
        lambda: service.get_cluster(scope, cluster),
        lambda: service.add_host(scope, cluster, write_host("h2")),
        lambda: service.list_hosts(scope),
        lambda: service.host_capacities(scope),
        lambda: service.get_host(scope, host.id),
        lambda: service.set_host_state(scope, host.id, HostState.MAINTENANCE),
        lambda: service.remove_host(scope, host.id),
        lambda: service.list_storage_pools(scope),
        lambda: service.create_image_store(scope, zone_id, "mine", "/srv/images"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert [z.id for z in service.list_zones(scope)] == [zone_id]  # zones are readable


# -- hosts ---------------------------------------------------------------------------


def test_add_host_records_what_libvirt_reports(
    service: InventoryService, tenancy, cluster: str, write_host, drivers
) -> None:
    uri = write_host(
        "node-1",
        cores=16,
        mhz=2400,
        memory_mib=65536,
        pools=[("local", 300, "/srv/a"), ("scratch", 20, "/srv/b")],
    )
    lines: list[str] = []
    host = service.add_host(
        tenancy.root, cluster, uri, tags=["ssd", "ssd", "fast"], progress=lines.append
    )
    assert (host.name, host.hostname, host.uri) == ("node-1", "node-1", uri)
    assert (host.cpu_cores, host.cpu_mhz, host.memory_mib) == (16, 2400, 65536)
    assert (host.hypervisor_type, host.arch) == ("test", "x86_64")
    assert host.state is HostState.UP and host.allocation_state is AllocationState.ENABLED
    assert host.tags == "ssd fast" and host.last_seen is not None
    assert service.get_cluster(tenancy.root, cluster).hypervisor_type == "test"
    # Pools are what libvirt reports (the 9.0 test driver reports 100 GiB for any pool).
    reported = {p.name: p.capacity_bytes for p in drivers(uri).list_pools()}
    pools = service.list_storage_pools(tenancy.root, host_id=host.id)
    assert {p.pool_name: p.capacity_bytes for p in pools} == reported
    assert {p.name for p in pools} == {"node-1/local", "node-1/scratch"}
    assert all(p.cluster_id == cluster and p.allocated_bytes == 0 for p in pools)
    assert lines[0] == f"connecting to {uri}"
    assert "16 cores at 2400 MHz, 65536 MiB" in lines[1]
    assert lines[-1].startswith("added host node-1")
    assert len(lines) == 5  # connect, read, two pools, done


def test_host_capacity_applies_the_cluster_factors(
    service: InventoryService, tenancy, cluster: str, write_host
) -> None:
    host = service.add_host(tenancy.root, cluster, write_host("h", cores=8, memory_mib=4096))
    host.allocated_vcpus, host.allocated_memory_mib = 5, 1024
    [capacity] = service.host_capacities(tenancy.root)
    assert capacity.host.id == host.id
    assert (capacity.vcpus_allocated, capacity.vcpus_total) == (5, 32)  # 8 cores x 4.0
    assert (capacity.memory_allocated_mib, capacity.memory_total_mib) == (1024, 4096)
    [pool] = service.list_storage_pools(tenancy.root, host_id=host.id)
    assert capacity.storage_total_bytes == 2 * pool.capacity_bytes  # storage factor 2.0
    zone = service.list_zones(tenancy.root)[0]
    assert len(service.host_capacities(tenancy.root, zone_id=zone.id)) == 1
    assert service.host_capacities(tenancy.root, cluster_id="no-such-cluster") == []


def test_host_names_default_to_the_hostname_and_must_be_unique(
    service: InventoryService, tenancy, cluster: str, write_host, tmp_path: Path
) -> None:
    root = tenancy.root
    uri = write_host("same")
    service.add_host(root, cluster, uri)
    with pytest.raises(AlreadyExists, match="URI"):
        service.add_host(root, cluster, uri, name="other")
    twin = write_test_host(
        tmp_path / "twin.xml", hostname="same", cpu_cores=1, cpu_mhz=1, memory_mib=1
    )
    with pytest.raises(AlreadyExists, match="host 'same'"):
        service.add_host(root, cluster, twin)
    assert service.add_host(root, cluster, twin, name="twin").hostname == "same"
    for bad in ("has space", "", "x" * 65):
        with pytest.raises(InvalidInput):
            service.add_host(root, cluster, write_host("n"), name=bad)
    with pytest.raises(InvalidInput, match="tag"):
        service.add_host(root, cluster, write_host("n"), tags=["two words"])
    with pytest.raises(InvalidInput, match="URI"):
        service.add_host(root, cluster, "")
    assert [h.name for h in service.list_hosts(root)] == ["same", "twin"]


def test_unreachable_hosts_are_refused(
    service: InventoryService, tenancy, cluster: str, tmp_path: Path
) -> None:
    with pytest.raises(DriverUnavailable):
        service.add_host(tenancy.root, cluster, UNREACHABLE)
    with pytest.raises(DriverUnavailable):
        service.add_host(tenancy.root, cluster, f"test://{tmp_path}/missing.xml")
    assert service.list_hosts(tenancy.root) == []


def test_a_cluster_keeps_one_hypervisor_type(
    service: InventoryService, tenancy, write_host
) -> None:
    zone = service.create_zone(tenancy.root, "z")
    pod = service.create_pod(tenancy.root, zone.id, "p")
    kvm = service.create_cluster(tenancy.root, pod.id, "kvm", hypervisor_type="kvm")
    with pytest.raises(Conflict, match="runs kvm"):
        service.add_host(tenancy.root, kvm.id, write_host("h"))


def test_maintenance_and_enable(
    service: InventoryService, tenancy, cluster: str, write_host, pool: ConnectionPool
) -> None:
    uri = write_host("h")
    host = service.add_host(tenancy.root, cluster, uri)
    service.set_host_state(tenancy.root, host.id, HostState.MAINTENANCE)
    assert host.state is HostState.MAINTENANCE
    service.set_host_allocation(tenancy.root, host.id, AllocationState.DISABLED)
    assert host.allocation_state is AllocationState.DISABLED
    service.set_host_state(tenancy.root, host.id, HostState.UP)
    assert host.state is HostState.UP
    # A host that does not answer cannot be declared up.
    service.set_host_state(tenancy.root, host.id, HostState.MAINTENANCE)
    pool.close(uri)
    Path(uri.removeprefix("test://")).unlink()
    with pytest.raises(DriverUnavailable):
        service.set_host_state(tenancy.root, host.id, HostState.UP)
    assert host.state is HostState.MAINTENANCE
    service.update_host(tenancy.root, host.id, tags=["gpu"], ha_reserved=True)
    assert (host.tags, host.ha_reserved) == ("gpu", True)


def test_refresh_rereads_size_and_pools(
    service: InventoryService, tenancy, cluster: str, write_host, pool: ConnectionPool
) -> None:
    uri = write_host("h", cores=4, memory_mib=8192, pools=[("old", 10, "/srv/old")])
    host = service.add_host(tenancy.root, cluster, uri)
    write_host("h", cores=12, memory_mib=16384, pools=[("new", 10, "/srv/new")])
    pool.close(uri)  # the next connection reads the new node file
    service.refresh_host(tenancy.root, host.id)
    assert (host.cpu_cores, host.memory_mib) == (12, 16384)
    pools = {p.pool_name: p for p in service.list_storage_pools(tenancy.root, host_id=host.id)}
    assert pools["old"].allocation_state is AllocationState.DISABLED
    assert pools["new"].allocation_state is AllocationState.ENABLED


def _guest(session: Session, tenancy, zone_id: str, host_id: str, state: str) -> Compute:
    compute = Compute(
        name="vm",
        state=state,
        account_id=tenancy.ids["dev"],
        domain_id=tenancy.ids["acme"],
        zone_id=zone_id,
        vcpus=1,
        memory_mib=64,
        host_id=host_id,
    )
    session.add(compute)
    session.flush()
    return compute


def test_remove_host_is_refused_while_guests_or_volumes_are_on_it(
    service: InventoryService, session: Session, tenancy, cluster: str, write_host
) -> None:
    root = tenancy.root
    host = service.add_host(root, cluster, write_host("h"))
    zone_id = service.list_zones(root)[0].id
    guest = _guest(session, tenancy, zone_id, host.id, State.STOPPED.value)
    with pytest.raises(Conflict, match="1 guest"):
        service.remove_host(root, host.id)
    guest.state = State.DELETED.value  # deleted guests do not hold a host
    [pool] = service.list_storage_pools(root, host_id=host.id)
    volume = Volume(
        name="data",
        state=State.AVAILABLE.value,
        account_id=tenancy.ids["dev"],
        domain_id=tenancy.ids["acme"],
        zone_id=zone_id,
        size_bytes=GIB,
        pool_id=pool.id,
    )
    session.add(volume)
    session.flush()
    with pytest.raises(Conflict, match="1 volume"):
        service.remove_host(root, host.id)
    session.delete(volume)
    service.remove_host(root, host.id)
    assert service.list_hosts(root) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(StoragePool)) == 0
    with pytest.raises(NotFound):
        service.get_host(root, host.id)


def test_image_stores(service: InventoryService, tenancy) -> None:
    zone = service.create_zone(tenancy.root, "z")
    store = service.create_image_store(tenancy.root, zone.id, "images", "/srv/images")
    service.create_image_store(tenancy.root, zone.id, "pooled", "pool:templates")
    assert [s.name for s in service.list_image_stores(tenancy.root, zone.id)] == [
        "images",
        "pooled",
    ]
    assert store.zone_id == zone.id
    for bad in ("relative/path", "pool:", "", "/a\x00b"):
        with pytest.raises(InvalidInput):
            service.create_image_store(tenancy.root, zone.id, "bad", bad)
    with pytest.raises(AlreadyExists):
        service.create_image_store(tenancy.root, zone.id, "images", "/elsewhere")
    with pytest.raises(NotFound):
        service.create_image_store(tenancy.root, "no-zone", "x", "/srv/x")


# -- shared pools -----------------------------------------------------------------------------


def _two_hosts_sharing(service: InventoryService, tenancy, cluster: str, write_host) -> list:
    shared = ("nfs", 100, "/srv/nfs")
    return [
        service.add_host(
            tenancy.root, cluster, write_host(name, pools=[("local", 300, f"/srv/{name}"), shared])
        )
        for name in ("s1", "s2")
    ]


def test_a_shared_pool_replaces_the_hosts_local_records_of_it(
    service: InventoryService, tenancy, cluster: str, write_host, drivers, session: Session
) -> None:
    hosts = _two_hosts_sharing(service, tenancy, cluster, write_host)
    shared = service.add_shared_pool(tenancy.root, cluster, "nfs", tags=["fast"])
    assert (shared.host_id, shared.cluster_id, shared.name) == (None, cluster, "cluster-1/nfs")
    reported = {p.name: p.capacity_bytes for p in drivers(hosts[0].uri).list_pools()}
    assert shared.capacity_bytes == reported["nfs"] and shared.tags == "fast"
    for host in hosts:
        local = service.list_storage_pools(tenancy.root, host_id=host.id)
        assert [p.pool_name for p in local] == ["local"]
    with pytest.raises(AlreadyExists):
        service.add_shared_pool(tenancy.root, cluster, "nfs")
    # A host added later does not record the shared pool as its own.
    later = service.add_host(
        tenancy.root, cluster, write_host("s3", pools=[("local", 1, "/x"), ("nfs", 100, "/n")])
    )
    service.refresh_host(tenancy.root, later.id)
    assert [p.pool_name for p in service.list_storage_pools(tenancy.root, host_id=later.id)] == [
        "local"
    ]


def test_a_pool_is_shared_only_if_every_up_host_has_it_and_no_volume_is_in_it(
    service: InventoryService, tenancy, cluster: str, write_host, session: Session, scope_of
) -> None:
    hosts = _two_hosts_sharing(service, tenancy, cluster, write_host)
    with pytest.raises(Conflict, match="no active libvirt pool 'local2'"):
        service.add_shared_pool(tenancy.root, cluster, "local2")
    with pytest.raises(PermissionDenied):
        service.add_shared_pool(scope_of("acmeadmin"), cluster, "nfs")
    with pytest.raises(NotFound):
        service.add_shared_pool(tenancy.root, "no-such-cluster", "nfs")
    local_nfs = next(
        p for p in service.list_storage_pools(tenancy.root, host_id=hosts[0].id)
        if p.pool_name == "nfs"
    )  # fmt: skip
    local_nfs.allocated_bytes = GIB  # a volume lives in the host-local record
    session.flush()
    with pytest.raises(Conflict, match="volumes live in host-local records"):
        service.add_shared_pool(tenancy.root, cluster, "nfs")
    # Its size is read from the hosts that are up: with none, nothing to read it from.
    session.execute(sa.update(StoragePool).values(allocated_bytes=0))
    session.execute(sa.update(Host).values(state=HostState.DOWN))
    with pytest.raises(Conflict, match="no host up"):
        service.add_shared_pool(tenancy.root, cluster, "nfs")
