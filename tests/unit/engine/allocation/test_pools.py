"""Volumes go through the same pipeline over storage pools: tags, thresholds, the zone's order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.engine.allocation.rows import store_inventory

from engine.allocation.configuration import AllocatorSettings
from engine.allocation.pools import pool_free_share
from engine.allocation.service import AllocationService
from engine.db import Database
from engine.errors import CapacityUnavailable
from engine.inventory.capacity import pool_limit
from engine.inventory.models import Cluster, Host, StoragePool
from engine.scope import Scope
from engine.tenancy.service import TenancyService

GIB = 1024**3
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _zone_with_pools(database: Database, pools: list[tuple[int, int, str, bool]]) -> str:
    """One up host in cluster ``c``; pools of (capacity GiB, allocated GiB, tags, shared)."""
    node = Host(
        id="h",
        name="h",
        cluster=Cluster(id="c", pod_id="p", cpu_overprovisioning=1.0, memory_overprovisioning=1.0),
        cpu_cores=8,
        memory_mib=8192,
        allocated_vcpus=0,
        allocated_memory_mib=0,
        tags="",
        created=EPOCH,
    )
    zone_id = store_inventory(database, [node])
    with database.transaction() as session:
        for index, (capacity, allocated, tags, shared) in enumerate(pools):
            session.add(
                StoragePool(
                    id=f"pool-{index}",
                    cluster_id="c",
                    host_id=None if shared else "h",
                    name=f"pool-{index}",
                    pool_name=f"pool-{index}",
                    capacity_bytes=capacity * GIB,
                    allocated_bytes=allocated * GIB,
                    tags=tags,
                    created=EPOCH + dt.timedelta(seconds=index),
                )
            )
    return zone_id


def _configure(database: Database, zone_id: str, allocator: str, storage: float | None) -> None:
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).ensure_root())
        settings_ = AllocatorSettings(session)
        settings_.set_zone_allocator(system, zone_id, allocator)
        settings_.set_cluster_thresholds(system, "c", cpu=None, memory=None, storage=storage)


def test_the_zones_allocator_orders_pools_and_thresholds_skip_full_ones(
    fresh_database: Callable[[], Database],
) -> None:
    database = fresh_database()
    # pool-0 oldest and emptiest, pool-1 fuller, pool-2 the fullest; all local.
    zone_id = _zone_with_pools(
        database, [(100, 0, "", False), (100, 40, "", False), (100, 70, "", False)]
    )
    with database.transaction() as session:
        assert AllocationService(session).place_volume(zone_id, GIB, host_id="h").id == "pool-0"
    _configure(database, zone_id, "fill_first", None)
    with database.transaction() as session:
        assert AllocationService(session).place_volume(zone_id, GIB, host_id="h").id == "pool-2"
    _configure(database, zone_id, "fill_first", 0.3)  # 70/200 = 35% is above 30%
    with database.transaction() as session:
        assert AllocationService(session).place_volume(zone_id, GIB, host_id="h").id == "pool-1"
    _configure(database, zone_id, "disperse", None)
    with database.transaction() as session:
        assert AllocationService(session).place_volume(zone_id, GIB, host_id="h").id == "pool-0"


def test_without_a_guest_shared_pools_come_first_whatever_the_order(
    fresh_database: Callable[[], Database],
) -> None:
    database = fresh_database()
    zone_id = _zone_with_pools(database, [(100, 0, "", False), (100, 90, "", True)])
    _configure(database, zone_id, "disperse", None)
    with database.transaction() as session:
        assert AllocationService(session).place_volume(zone_id, GIB).id == "pool-1"


pools = st.lists(
    st.tuples(st.integers(1, 50), st.integers(0, 100), st.sampled_from(["", "ssd"]), st.booleans()),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pools,
    st.sampled_from(["first_fit", "fill_first", "disperse", "random", "user_dispersing"]),
    st.sampled_from([None, 0.25, 0.5, 0.9]),
    st.lists(st.tuples(st.integers(1, 30), st.sampled_from(["", "ssd"])), min_size=1, max_size=6),
)
def test_volumes_land_only_where_tags_thresholds_and_room_allow(
    fresh_database: Callable[[], Database], drawn, allocator, threshold, stream
) -> None:
    database = fresh_database()
    layout = [(cap, min(alloc, cap * 2), tags, shared) for cap, alloc, tags, shared in drawn]
    zone_id = _zone_with_pools(database, layout)
    _configure(database, zone_id, allocator, threshold)
    for size_gib, tag in stream:
        with database.transaction() as session:
            before = {p.id: p for p in session.scalars(sa.select(StoragePool))}
            eligible = {
                pool_id: pool_free_share(pool)
                for pool_id, pool in before.items()
                if set(tag.split()) <= set(pool.tags.split())
                and (threshold is None or 1 - pool_free_share(pool) <= threshold)
                and pool.allocated_bytes + size_gib * GIB <= pool_limit(pool)
            }
            try:
                chosen = AllocationService(session).place_volume(
                    zone_id, size_gib * GIB, host_id="h", tags=frozenset(tag.split())
                )
            except CapacityUnavailable:
                assert not eligible
                continue
            assert chosen.id in eligible
            assert chosen.allocated_bytes <= pool_limit(chosen)
            if allocator == "fill_first":
                assert eligible[chosen.id] == min(eligible.values())
            elif allocator == "disperse":
                assert eligible[chosen.id] == max(eligible.values())
