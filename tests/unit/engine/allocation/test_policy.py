"""A zone's placement policy: cluster disable thresholds, dedication, and explain.

Inventories are written as rows (:mod:`unit.engine.allocation.rows`); owners
are real tenancy rows, so dedications to a domain follow the domain tree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.engine.allocation.rows import store_inventory

from engine.allocation.configuration import AllocatorSettings
from engine.allocation.dedication import DedicationService
from engine.allocation.requests import ComputeRequest
from engine.allocation.service import AllocationService
from engine.db import Database
from engine.errors import AlreadyExists, CapacityUnavailable, InvalidInput, NotFound
from engine.inventory.capacity import host_limits
from engine.inventory.models import Cluster, Host
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.service import TenancyService

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def host(name: str, cluster: str, pod: str = "pod", *, load: int = 0, days: int = 0) -> Host:
    """An 8-core, 8 GiB host of ``cluster`` with ``load`` vCPUs allocated."""
    return Host(
        id=name,
        name=name,
        cluster=Cluster(
            id=cluster, pod_id=pod, cpu_overprovisioning=1.0, memory_overprovisioning=1.0
        ),
        cpu_cores=8,
        memory_mib=8192,
        allocated_vcpus=load,
        allocated_memory_mib=0,
        tags="",
        created=EPOCH + dt.timedelta(days=days),
    )


@dataclass
class Owners:
    """Two accounts in a sub-domain ``team`` of ROOT, and one in ROOT itself."""

    system: Scope
    team: str
    team_path: str
    alice: str
    bob: str
    outsider: str
    root_domain: str


def owners(database: Database) -> Owners:
    with database.transaction() as session:
        tenancy = TenancyService(session)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        team = tenancy.create_domain(system, "team", root.id)
        alice = tenancy.create_account(system, "alice", team.id, AccountType.USER)
        bob = tenancy.create_account(system, "bob", team.id, AccountType.USER)
        outsider = tenancy.create_account(system, "outsider", root.id, AccountType.USER)
        return Owners(system, team.id, team.path, alice.id, bob.id, outsider.id, root.id)


def request(zone_id: str, account: str, domain: str, vcpus: int = 1) -> ComputeRequest:
    return ComputeRequest(zone_id, vcpus, 64, account_id=account, domain_id=domain)


def test_a_cluster_above_its_threshold_takes_no_new_guests(
    fresh_database: Callable[[], Database],
) -> None:
    database = fresh_database()
    # busy: 5 of 8 vCPUs; idle: none. First fit picks busy (older) while it may.
    zone_id = store_inventory(
        database, [host("busy", "c-busy", load=5), host("idle", "c-idle", days=1)]
    )
    people = owners(database)
    ask = request(zone_id, people.alice, people.team)
    with database.transaction() as session:
        settings_ = AllocatorSettings(session)
        assert AllocationService(session).place_compute(ask).name == "busy"  # now 6 of 8
        settings_.set_cluster_thresholds(people.system, "c-busy", cpu=0.8, memory=None)
        # 75% is not above 80%: it takes one more (87.5%), then no more.
        assert AllocationService(session).place_compute(ask).name == "busy"
        explained = {h.name: why for h, why in AllocationService(session).explain(ask)}
        assert explained["idle"] is None
        assert "above its disable threshold (80%)" in (explained["busy"] or "")
        assert AllocationService(session).place_compute(ask).name == "idle"
        with pytest.raises(InvalidInput):
            settings_.set_cluster_thresholds(people.system, "c-busy", cpu=1.5, memory=None)
        with pytest.raises(NotFound):
            settings_.set_cluster_thresholds(people.system, "nope", cpu=0.5, memory=None)
        busy = session.get(Host, "busy")
        assert busy is not None and busy.allocated_vcpus == 7  # its guests keep running


def test_dedicated_hosts_serve_their_holders_first_and_no_one_else(
    fresh_database: Callable[[], Database],
) -> None:
    database = fresh_database()
    zone_id = store_inventory(
        database,
        [host("open", "c1"), host("alices", "c1", days=1), host("teams", "c2", pod="p2", days=2)],
    )
    people = owners(database)
    with database.transaction() as session:
        dedications = DedicationService(session)
        dedications.dedicate(people.system, "host", "alices", account_id=people.alice)
        dedications.dedicate(people.system, "pod", "p2", domain_id=people.team)
        with pytest.raises(AlreadyExists):
            dedications.dedicate(people.system, "host", "alices", account_id=people.bob)
        with pytest.raises(InvalidInput):
            dedications.dedicate(people.system, "host", "open")  # to no one
        with pytest.raises(NotFound):
            dedications.dedicate(people.system, "cluster", "nope", account_id=people.bob)
    with database.transaction() as session:
        allocation = AllocationService(session)
        # alice: her host first (the older 'open' would win first fit otherwise)
        assert (
            allocation.place_compute(request(zone_id, people.alice, people.team)).name == "alices"
        )
        # bob: his domain's pod first; never alice's host
        assert allocation.place_compute(request(zone_id, people.bob, people.team)).name == "teams"
        # the outsider: only the open host
        outsider = request(zone_id, people.outsider, people.root_domain)
        judged = {h.name: why for h, why in allocation.explain(outsider)}
        assert judged == {
            "open": None,
            "alices": "its host is dedicated to another owner",
            "teams": "its pod is dedicated to another owner",
        }
        assert allocation.place_compute(outsider).name == "open"
        DedicationService(session).release(people.system, "host", "alices")
        assert {h.name for h, why in allocation.explain(outsider) if why is None} == {
            "open",
            "alices",
        }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    loads=st.lists(st.integers(0, 8), min_size=1, max_size=5),
    threshold=st.sampled_from([None, 0.5, 0.75, 1.0]),
    dedicated=st.lists(st.booleans(), min_size=5, max_size=5),
    stream=st.lists(st.sampled_from(["alice", "bob", "outsider"]), min_size=1, max_size=8),
)
def test_no_placement_breaks_a_threshold_or_a_dedication(
    fresh_database: Callable[[], Database],
    loads: list[int],
    threshold: float | None,
    dedicated: list[bool],
    stream: list[str],
) -> None:
    database = fresh_database()
    hosts = [host(f"h{i}", f"c{i % 2}", days=i, load=load) for i, load in enumerate(loads)]
    zone_id = store_inventory(database, hosts)
    people = owners(database)
    accounts = {"alice": people.alice, "bob": people.bob, "outsider": people.outsider}
    domains = {"alice": people.team, "bob": people.team, "outsider": people.root_domain}
    with database.transaction() as session:
        for index, flag in enumerate(dedicated[: len(hosts)]):
            if flag:
                DedicationService(session).dedicate(
                    people.system, "host", f"h{index}", account_id=people.alice
                )
        for cluster in {h.cluster.id for h in hosts}:
            AllocatorSettings(session).set_cluster_thresholds(
                people.system, cluster, cpu=threshold, memory=None
            )
    for who in stream:
        with database.transaction() as session:
            rows = list(session.scalars(sa.select(Host)))
            before = {h.id: (h.allocated_vcpus, host_limits(h)[0]) for h in rows}
            clusters: dict[str, list[int]] = {}
            for row in rows:
                total = clusters.setdefault(row.cluster_id, [0, 0])
                total[0] += row.allocated_vcpus
                total[1] += host_limits(row)[0]
            try:
                chosen = AllocationService(session).place_compute(
                    request(zone_id, accounts[who], domains[who])
                )
            except CapacityUnavailable:
                continue
            allocated, limit = before[chosen.id]
            assert allocated + 1 <= limit
            used, total = clusters[chosen.cluster_id]
            if threshold is not None:
                assert used / total <= threshold  # the cluster was not above it
            index = int(chosen.id[1:])
            if index < len(dedicated) and dedicated[index]:
                assert who == "alice"
