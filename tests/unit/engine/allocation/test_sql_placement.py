"""Placement in SQL returns exactly the Python pipeline's hosts, in its order.

:mod:`engine.allocation.sql` restates the default filters, the zone policy
and six built-in orderings as one query. On arbitrary inventories (sizes,
loads, over-provisioning, tags, HA reservation), requests (tags, OS type,
volume reach, groups, avoid sets, the account's guests), cluster thresholds
and dedications, the
query must list the same hosts as the Python filters and policy keep, in the
order the Python allocator (then the dedication preference) gives them;
``random`` only the same hosts.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.engine.allocation.rows import store_inventory
from unit.engine.allocation.test_allocators import inventories

from engine.allocation.allocators import BUILT_IN, ranked
from engine.allocation.configuration import AllocatorSettings
from engine.allocation.dedication import DedicationService
from engine.allocation.policy import ZonePolicy
from engine.allocation.requests import ComputeRequest, placement_of
from engine.allocation.service import AllocationService
from engine.allocation.sql import candidate_tiers
from engine.db import Database
from engine.inventory.models import Cluster, Host
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.service import TenancyService

SQL_NAMES = ["first_fit", "fill_first", "disperse", "random", "os_preference", "user_dispersing"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    hosts = draw(inventories(max_hosts=8))
    ids = [h.id for h in hosts]
    clusters = sorted({h.cluster_id for h in hosts})
    for host in hosts:
        host.ha_reserved = draw(st.integers(0, 4)) == 0

    def sometimes(strategy: st.SearchStrategy[set[str]]) -> set[str]:
        # Mostly unconstrained, so that several hosts remain to be ordered.
        return draw(strategy) if draw(st.integers(0, 3)) == 0 else set()

    return {
        "hosts": hosts,
        "vcpus": draw(st.integers(1, 2)),
        "memory_mib": draw(st.integers(1, 512)),
        "tags": sometimes(st.sets(st.sampled_from(["ssd", "os:linux"]), max_size=1)),
        "os_type": draw(st.sampled_from([None, "linux", "windows"])),
        "for_ha": draw(st.booleans()),
        "avoid": sometimes(st.sets(st.sampled_from(ids), max_size=2)),
        "on_hosts": sometimes(st.sets(st.sampled_from(ids), max_size=1)),
        "in_clusters": sometimes(st.sets(st.sampled_from(clusters), max_size=1)),
        "group": draw(st.sampled_from([None, "affinity", "anti-affinity"])),
        "group_hosts": sometimes(st.sets(st.sampled_from(ids), max_size=3)),
        "thresholds": draw(
            st.dictionaries(st.sampled_from(clusters), st.floats(0.05, 1.0), max_size=1)
        ),
        "dedicated": draw(
            st.dictionaries(
                st.sampled_from([("host", i) for i in ids] + [("cluster", c) for c in clusters]),
                st.sampled_from(["mine", "theirs"]),
                max_size=3,
            )
        ),
        "allocator": draw(st.sampled_from(SQL_NAMES)),
        # The account's guests per host, for user_dispersing.
        "guests": draw(st.dictionaries(st.sampled_from(ids), st.integers(1, 4), max_size=4)),
    }


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenarios())
def test_the_query_keeps_and_orders_hosts_as_the_python_pipeline(fresh_database, case) -> None:
    _query_matches_pipeline(fresh_database(), case)


@pytest.mark.mariadb
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenarios())
def test_the_query_matches_the_python_pipeline_on_mariadb(fresh_mariadb, case) -> None:
    # MariaDB's own arithmetic, window functions and the plan forced by
    # STRAIGHT_JOIN must give the same hosts in the same order.
    _query_matches_pipeline(fresh_mariadb(), case)


def prepare(database: Database, case: dict[str, object]) -> ComputeRequest:
    """Store a scenario's inventory, allocator, thresholds and dedications; its request."""
    hosts: list[Host] = case["hosts"]  # type: ignore[assignment]
    zone_id = store_inventory(database, hosts)
    with database.transaction() as session:
        tenancy = TenancyService(session)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        mine = tenancy.create_account(system, "mine", root.id, AccountType.USER)
        theirs = tenancy.create_account(system, "theirs", root.id, AccountType.USER)
        owners = {"mine": mine.id, "theirs": theirs.id}
        settings_ = AllocatorSettings(session)
        settings_.set_zone_allocator(system, zone_id, str(case["allocator"]))
        for cluster_id, share in case["thresholds"].items():  # type: ignore[attr-defined]
            settings_.set_cluster_thresholds(system, cluster_id, cpu=share, memory=None)
        for (level, target), owner in case["dedicated"].items():  # type: ignore[attr-defined]
            DedicationService(session).dedicate(system, level, target, account_id=owners[owner])
        account, domain = mine.id, root.id
    return ComputeRequest(
        zone_id,
        case["vcpus"],  # type: ignore[arg-type]
        case["memory_mib"],  # type: ignore[arg-type]
        host_tags=frozenset(case["tags"]),  # type: ignore[arg-type]
        os_type=case["os_type"],  # type: ignore[arg-type]
        for_ha=bool(case["for_ha"]),
        avoid=frozenset(case["avoid"]),  # type: ignore[arg-type]
        on_hosts=frozenset(case["on_hosts"]),  # type: ignore[arg-type]
        in_clusters=frozenset(case["in_clusters"]),  # type: ignore[arg-type]
        group_policy=case["group"],  # type: ignore[arg-type]
        group_hosts=frozenset(case["group_hosts"]),  # type: ignore[arg-type]
        account_id=account,
        domain_id=domain,
        account_guests=lambda: dict(case["guests"]),  # type: ignore[call-overload]
    )


def _query_matches_pipeline(database: Database, case: dict[str, object]) -> None:
    request = prepare(database, case)
    name = str(case["allocator"])
    with database.transaction() as session:
        service = AllocationService(session)
        judged, policy = service._judge(request)
        fitting = [h for h, refusal in judged if refusal is None]
        python = ranked(BUILT_IN[name], fitting, placement_of(request))
        if policy.dedications:
            python.sort(key=lambda h: not policy.dedicated_to_owner(h))
        tiers = candidate_tiers(request, ZonePolicy.load(session, request), name)
        sql = [h.id for query in tiers for h in session.scalars(query)]
    if name == "random":
        assert sorted(sql) == sorted(h.id for h in python)
    else:
        assert sql == [h.id for h in python]


def test_placement_reads_only_the_first_hosts_of_a_large_zone(fresh_database) -> None:
    """A zone of 40 hosts: placement claims the best host without loading the others."""
    database = fresh_database()
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cluster = Cluster(id="c", pod_id="p", cpu_overprovisioning=1.0, memory_overprovisioning=1.0)
    hosts = [
        Host(
            id=f"h{i:02d}",
            name=f"h{i:02d}",
            cluster=cluster,
            cluster_id="c",
            cpu_cores=8,
            memory_mib=8192,
            allocated_vcpus=i % 8,
            allocated_memory_mib=0,
            tags="",
            created=epoch + dt.timedelta(seconds=i),
        )
        for i in range(40)
    ]
    zone_id = store_inventory(database, hosts)
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).ensure_root())
        AllocatorSettings(session).set_zone_allocator(system, zone_id, "disperse")
    with database.transaction() as session:
        chosen = AllocationService(session).place_compute(ComputeRequest(zone_id, 1, 64))
        # The emptiest host (load 0), the oldest of those: h00.
        assert chosen.id == "h00"
        loaded = {obj.id for obj in session.identity_map.values() if isinstance(obj, Host)}
        assert len(loaded) <= 8 < len(hosts)
