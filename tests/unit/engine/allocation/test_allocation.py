"""Placement of guests on hosts and volumes in pools, alone and concurrently.

The hosts are real libvirt ``test:///`` hosts added through
:class:`InventoryService`, so their sizes come from libvirt; the test cloud is
built in its own committed transaction so that the concurrency test can use
one transaction per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from engine.allocation.requests import ComputeRequest
from engine.allocation.root_pools import host_pool, root_pools
from engine.allocation.service import AllocationService
from engine.db import Database
from engine.drivers.libvirt import ConnectionPool, LibvirtDriver, write_test_host
from engine.errors import CapacityUnavailable, Conflict, InvalidInput
from engine.inventory.capacity import host_limits
from engine.inventory.models import (
    AllocationState,
    Cluster,
    Host,
    HostState,
    Pod,
    StoragePool,
    Zone,
)
from engine.inventory.service import InventoryService
from engine.scope import Scope
from engine.tenancy.service import TenancyService

GIB = 1024**3


@dataclass
class Cloud:
    """One zone, one pod, one cluster and its hosts, by name."""

    zone: str
    pod: str
    cluster: str
    hosts: dict[str, str]


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    pool = ConnectionPool()
    yield pool
    pool.close_all()


@pytest.fixture
def build(database: Database, pool: ConnectionPool, tmp_path: Path) -> Callable[..., Cloud]:
    """Build and commit a cloud: ``build((name, cores, memory_mib, pool_gib), ..., **factors)``."""

    def build(*hosts: tuple[str, int, int, int], **factors: float) -> Cloud:
        with database.transaction() as session:
            system = Scope.system(TenancyService(session).ensure_root())
            inventory = InventoryService(session, lambda uri: LibvirtDriver(uri, pool))
            zone = inventory.create_zone(system, "zone")
            pod = inventory.create_pod(system, zone.id, "pod")
            cluster = inventory.create_cluster(system, pod.id, "cluster", **factors)
            ids = {}
            for name, cores, memory_mib, pool_gib in hosts:
                pools = [("local", pool_gib, f"/srv/{name}")] if pool_gib else []
                uri = write_test_host(
                    tmp_path / f"{name}.xml",
                    hostname=name,
                    cpu_cores=cores,
                    cpu_mhz=2000,
                    memory_mib=memory_mib,
                    pools=pools,
                )
                ids[name] = inventory.add_host(system, cluster.id, uri).id
            return Cloud(zone.id, pod.id, cluster.id, ids)

    return build


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session() as session:
        yield session
        session.rollback()


def _request(cloud: Cloud, vcpus: int = 1, memory_mib: int = 512, **kw) -> ComputeRequest:
    return ComputeRequest(cloud.zone, vcpus, memory_mib, **kw)


def _names(cloud: Cloud, hosts: list[Host]) -> list[str]:
    by_id = {v: k for k, v in cloud.hosts.items()}
    return [by_id[h.id] for h in hosts]


def test_first_fit_fills_hosts_in_creation_order(build, session: Session) -> None:
    cloud = build(("h1", 2, 2048, 0), ("h2", 2, 2048, 0), ("h3", 2, 2048, 0))
    allocation = AllocationService(session)
    placed = [allocation.place_compute(_request(cloud)) for _ in range(6)]
    assert _names(cloud, placed) == ["h1", "h1", "h2", "h2", "h3", "h3"]
    with pytest.raises(CapacityUnavailable):
        allocation.place_compute(_request(cloud))
    host = session.get(Host, cloud.hosts["h1"])
    assert (host.allocated_vcpus, host.allocated_memory_mib) == (2, 1024)


def test_overprovisioning_factors_multiply_capacity(build, session: Session) -> None:
    cloud = build(("h1", 4, 1024, 0), cpu_overprovisioning=2.0, memory_overprovisioning=1.5)
    allocation = AllocationService(session)
    for _ in range(8):  # 4 cores x 2.0
        allocation.place_compute(_request(cloud, 1, 64))
    with pytest.raises(CapacityUnavailable):
        allocation.place_compute(_request(cloud, 1, 64))
    allocation.release_host(cloud.hosts["h1"], 8, 512)
    allocation.place_compute(_request(cloud, 1, 1536))  # 1024 MiB x 1.5
    with pytest.raises(CapacityUnavailable):
        allocation.place_compute(_request(cloud, 1, 1))


def test_fractional_factors_truncate_on_every_backend(build, session: Session) -> None:
    # 3 cores x 1.9 = 5.7: five vCPUs. MariaDB's CAST rounds 5.7 to 6, which
    # is why the limit is computed in Python and not in SQL.
    cloud = build(("h1", 3, 1024, 0), cpu_overprovisioning=1.9)
    allocation = AllocationService(session)
    host = session.get(Host, cloud.hosts["h1"])
    assert host_limits(host) == (5, 1024)
    assert not allocation.claim_host(host, 6, 1)
    assert allocation.claim_host(host, 5, 1)
    assert not allocation.claim_host(host, 1, 1)


def test_tags_avoid_set_and_ha_reserved_hosts(build, session: Session) -> None:
    cloud = build(("h1", 4, 4096, 0), ("h2", 4, 4096, 0), ("h3", 4, 4096, 0))
    for name, tags, reserved in (("h1", "", False), ("h2", "ssd gpu", False), ("h3", "", True)):
        host = session.get(Host, cloud.hosts[name])
        host.tags, host.ha_reserved = tags, reserved
    session.flush()
    allocation = AllocationService(session)
    assert _names(cloud, [allocation.place_compute(_request(cloud))]) == ["h1"]
    tagged = allocation.place_compute(_request(cloud, host_tags=frozenset({"ssd", "gpu"})))
    assert _names(cloud, [tagged]) == ["h2"]
    with pytest.raises(CapacityUnavailable):
        allocation.place_compute(_request(cloud, host_tags=frozenset({"ssd", "nvme"})))
    avoided = allocation.place_compute(_request(cloud, avoid=frozenset({cloud.hosts["h1"]})))
    assert _names(cloud, [avoided]) == ["h2"]
    # Only HA restarts may use the reserved host.
    everything_but_h3 = frozenset({cloud.hosts["h1"], cloud.hosts["h2"]})
    with pytest.raises(CapacityUnavailable):
        allocation.place_compute(_request(cloud, avoid=everything_but_h3))
    ha = allocation.place_compute(_request(cloud, avoid=everything_but_h3, for_ha=True))
    assert _names(cloud, [ha]) == ["h3"]


@pytest.mark.parametrize(
    "change",
    ["zone", "pod", "cluster", "host", *[s.value for s in HostState if s is not HostState.UP]],
)
def test_disabled_or_unhealthy_hosts_take_nothing(build, session: Session, change: str) -> None:
    cloud = build(("h1", 4, 4096, 0), ("h2", 4, 4096, 0))
    model, row_id = {
        "zone": (Zone, cloud.zone),
        "pod": (Pod, cloud.pod),
        "cluster": (Cluster, cloud.cluster),
    }.get(change, (Host, cloud.hosts["h1"]))
    row = session.get(model, row_id)
    if change in ("zone", "pod", "cluster", "host"):
        row.allocation_state = AllocationState.DISABLED
    else:
        row.state = HostState(change)
    session.flush()
    allocation = AllocationService(session)
    if change in ("zone", "pod", "cluster"):
        with pytest.raises(CapacityUnavailable):
            allocation.place_compute(_request(cloud))
    else:
        assert _names(cloud, [allocation.place_compute(_request(cloud))]) == ["h2"]


def test_release_never_goes_below_zero_and_frees_room_in_the_same_session(
    build, session: Session
) -> None:
    cloud = build(("h1", 1, 1024, 0))
    allocation = AllocationService(session)
    host = allocation.place_compute(_request(cloud, 1, 1024))  # kept: stays in the session
    with pytest.raises(CapacityUnavailable):
        allocation.place_compute(_request(cloud, 1, 1024))
    allocation.release_host(host.id, 1, 1024)
    # The host object in this session is stale after the release UPDATE; placement
    # must re-read it rather than see a full host (a resize releases then places).
    assert allocation.place_compute(_request(cloud, 1, 1024)) is host
    assert host.allocated_vcpus == 1
    allocation.release_host(cloud.hosts["h1"], 5, 99999)
    session.refresh(host)
    assert (host.allocated_vcpus, host.allocated_memory_mib) == (0, 0)


def test_requests_are_validated(build) -> None:
    cloud = build(("h1", 1, 1024, 0))
    for vcpus, memory in ((0, 1), (1, 0)):
        with pytest.raises(InvalidInput):
            ComputeRequest(cloud.zone, vcpus, memory)


def test_volume_placement(build, session: Session) -> None:
    cloud = build(("h1", 4, 4096, 10), ("h2", 4, 4096, 10))
    allocation = AllocationService(session)
    pools = {p.host_id: p for p in session.query(StoragePool)}
    local_h1, local_h2 = pools[cloud.hosts["h1"]], pools[cloud.hosts["h2"]]
    capacity = local_h1.capacity_bytes  # what libvirt reported
    # With a host: only its local pools (and shared pools of its cluster).
    assert allocation.place_volume(cloud.zone, GIB, host_id=cloud.hosts["h2"]).id == local_h2.id
    # Without one: any pool of the zone, in creation order.
    assert allocation.place_volume(cloud.zone, GIB).id == local_h1.id
    # The storage factor (2.0 by default) lets a pool promise twice its size.
    assert allocation.place_volume(cloud.zone, 2 * capacity - GIB).id == local_h1.id
    assert allocation.place_volume(cloud.zone, GIB).id == local_h2.id  # h1 is full
    with pytest.raises(CapacityUnavailable):
        allocation.place_volume(cloud.zone, 2 * capacity, host_id=cloud.hosts["h1"])
    with pytest.raises(CapacityUnavailable):
        allocation.place_volume(cloud.zone, GIB, tags=frozenset({"ssd"}))
    local_h2.tags = "ssd"
    session.flush()
    assert allocation.place_volume(cloud.zone, GIB, tags=frozenset({"ssd"})).id == local_h2.id
    # Pools of hosts that are down are skipped without a host; a disabled zone takes nothing.
    session.get(Host, cloud.hosts["h2"]).state = HostState.DOWN
    session.flush()
    with pytest.raises(CapacityUnavailable):
        allocation.place_volume(cloud.zone, 2 * GIB, tags=frozenset({"ssd"}))
    allocation.release_pool(local_h1.id, 10 * capacity)
    session.get(Zone, cloud.zone).allocation_state = AllocationState.DISABLED
    session.flush()
    with pytest.raises(CapacityUnavailable):
        allocation.place_volume(cloud.zone, GIB)
    with pytest.raises(InvalidInput):
        allocation.place_volume(cloud.zone, 0)
    session.refresh(local_h1)
    assert local_h1.allocated_bytes == 0  # released, never below zero


def test_concurrent_placements_never_overcommit(build, database: Database) -> None:
    # Each thread has its own connection and transaction. On MariaDB the claims
    # race for row locks under READ COMMITTED; SQLite serialises the writers.
    # Limits 3 x 1.9 -> 5 and 2 x 1.9 -> 3: exactly 8 one-vCPU guests fit. With
    # the limits computed in SQL, MariaDB rounded them to 6 and 4 and let 10 in.
    cloud = build(("h1", 3, 65536, 0), ("h2", 2, 65536, 0), cpu_overprovisioning=1.9)
    capacity, threads = 8, 14
    barrier = threading.Barrier(threads)
    placed: list[str] = []
    refused: list[Exception] = []
    lock = threading.Lock()

    def place() -> None:
        barrier.wait()
        try:
            with database.transaction() as session:
                host = AllocationService(session).place_compute(_request(cloud, 1, 64))
                host_id = host.id
        except CapacityUnavailable as exc:
            with lock:
                refused.append(exc)
            return
        with lock:
            placed.append(host_id)

    workers = [threading.Thread(target=place) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert len(placed) == capacity and len(refused) == threads - capacity
    with database.session() as session:
        for name, limit in (("h1", 5), ("h2", 3)):
            host = session.get(Host, cloud.hosts[name])
            assert host.allocated_vcpus == placed.count(host.id) == limit


def test_a_volume_without_a_host_goes_to_a_shared_pool_first(build, session: Session) -> None:
    cloud = build(("h1", 4, 4096, 10), ("h2", 4, 4096, 10))
    local_h1 = next(p for p in session.query(StoragePool) if p.host_id == cloud.hosts["h1"])
    # Registered after the hosts' local pools: creation order alone would pick h1's.
    shared = StoragePool(
        cluster_id=local_h1.cluster_id,
        host_id=None,
        name="shared",
        pool_name="shared",
        capacity_bytes=10 * GIB,
    )
    session.add(shared)
    session.flush()
    allocation = AllocationService(session)
    # Any guest of the cluster can use it; a host's guest may also use its local pool.
    assert allocation.place_volume(cloud.zone, GIB).id == shared.id
    assert allocation.place_volume(cloud.zone, GIB, host_id=cloud.hosts["h1"]).id == local_h1.id
    # Full: the local pools of up hosts next.
    assert allocation.place_volume(cloud.zone, 19 * GIB).id == shared.id
    assert allocation.place_volume(cloud.zone, GIB).id == local_h1.id


def test_a_guest_goes_where_its_volumes_are_reached(build, session: Session) -> None:
    cloud = build(("h1", 4, 4096, 10), ("h2", 4, 4096, 10))
    local = {p.host_id: p.id for p in session.query(StoragePool)}
    allocation = AllocationService(session)
    near_h2 = allocation.volume_reach([local[cloud.hosts["h2"]], None])  # None: not placed yet
    assert near_h2 == ({cloud.hosts["h2"]}, {cloud.cluster})
    on_hosts, in_clusters = near_h2
    # First fit alone would take h1.
    placed = allocation.place_compute(_request(cloud, on_hosts=on_hosts, in_clusters=in_clusters))
    assert _names(cloud, [placed]) == ["h2"]
    assert _names(cloud, [allocation.place_compute(_request(cloud))]) == ["h1"]
    # h2 cannot take 4 more vCPUs; h1 could, but does not reach the volume.
    with pytest.raises(CapacityUnavailable, match="next to its volumes"):
        allocation.place_compute(
            _request(cloud, vcpus=4, on_hosts=on_hosts, in_clusters=in_clusters)
        )
    # A shared pool is reached from every host of its cluster; no volume, anywhere.
    shared = StoragePool(
        cluster_id=cloud.cluster, host_id=None, name="s", pool_name="s", capacity_bytes=GIB
    )
    other = Cluster(pod_id=cloud.pod, name="other", hypervisor_type="test")
    session.add_all([shared, other])
    session.flush()
    elsewhere = StoragePool(
        cluster_id=other.id, host_id=None, name="o", pool_name="o", capacity_bytes=GIB
    )
    session.add(elsewhere)
    session.flush()
    assert allocation.volume_reach([shared.id]) == (frozenset(), {cloud.cluster})
    assert allocation.volume_reach([shared.id, local[cloud.hosts["h2"]]]) == near_h2
    assert allocation.volume_reach([]) == (frozenset(), frozenset())
    # Pools that no single host reaches: two hosts' local pools, two clusters.
    for pools in ([local[cloud.hosts["h1"]], local[cloud.hosts["h2"]]], [shared.id, elsewhere.id]):
        with pytest.raises(Conflict, match="no single host reaches"):
            allocation.volume_reach(pools)


def test_root_disks_go_to_the_host_s_own_pool_else_to_a_shared_one(build, session: Session) -> None:
    cloud = build(("h1", 4, 4096, 10), ("h2", 4, 4096, 0))  # h2 has no pool of its own
    h1, h2 = (session.get(Host, cloud.hosts[name]) for name in ("h1", "h2"))
    assert {h: p.host_id for h, p in root_pools(session, [h1, h2]).items()} == {h1.id: h1.id}
    with pytest.raises(CapacityUnavailable, match="no storage pool"):
        host_pool(session, h2)
    shared = StoragePool(
        cluster_id=cloud.cluster, host_id=None, name="s", pool_name="s", capacity_bytes=GIB
    )
    session.add(shared)
    session.flush()
    pools = root_pools(session, [h1, h2])
    assert (pools[h1.id].host_id, pools[h2.id].id) == (h1.id, shared.id)
    assert host_pool(session, h2).id == shared.id
    assert root_pools(session, []) == {}
