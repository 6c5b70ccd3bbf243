"""Allocators: each ordering's defining property, for arbitrary inventories.

Two levels:

* the orderings alone, over hosts built in memory (Hypothesis draws sizes,
  over-provisioning factors, loads, tags and an account's guests);
* the whole pipeline on a real database: an arbitrary inventory of host rows
  and a stream of requests placed through :class:`AllocationService` with
  each allocator. Every placement lands on a host that passes every filter,
  no host ever exceeds its over-provisioned capacity, and the ordering's
  property holds at the moment of each choice.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.engine.allocation.rows import store_inventory

from engine.allocation.allocators import (
    BUILT_IN,
    ENTRY_POINT_GROUP,
    Placement,
    allocator_names,
    check_allocator_name,
    disperse,
    fill_first,
    first_fit,
    free_share,
    load_allocator,
    os_preference,
    random_order,
    ranked,
    user_dispersing,
)
from engine.allocation.configuration import AllocatorSettings
from engine.allocation.requests import ComputeRequest
from engine.allocation.service import AllocationService
from engine.catalog.models import ComputeOffering
from engine.errors import CapacityUnavailable, InvalidInput, PermissionDenied
from engine.inventory.capacity import host_limits
from engine.inventory.models import Cluster, Host
from engine.scope import Role, Scope
from engine.tenancy.service import TenancyService

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: The example custom allocator the documentation ships (docs/engine.rst, "Allocators").
EXAMPLE = Path(__file__).resolve().parents[4] / "docs" / "examples" / "newest_first.py"


# ----------------------------------------------------------------- in memory


@st.composite
def inventories(draw: st.DrawFn, max_hosts: int = 8) -> list[Host]:
    """Hosts in 1-3 clusters of 1-2 pods, with arbitrary sizes, loads and tags."""
    pods = [f"pod-{i}" for i in range(draw(st.integers(1, 2)))]
    clusters = [
        Cluster(
            id=f"cluster-{i}",
            pod_id=draw(st.sampled_from(pods)),
            cpu_overprovisioning=draw(st.sampled_from([1.0, 1.5, 2.0, 4.0])),
            memory_overprovisioning=draw(st.sampled_from([1.0, 1.25, 2.0])),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    hosts = []
    for i in range(draw(st.integers(1, max_hosts))):
        cluster = draw(st.sampled_from(clusters))
        cores = draw(st.integers(1, 64))
        memory = draw(st.integers(512, 262144))
        host = Host(
            id=f"host-{i:02d}",
            name=f"host-{i:02d}",
            cluster=cluster,
            cluster_id=cluster.id,
            cpu_cores=cores,
            memory_mib=memory,
            tags=" ".join(draw(st.lists(st.sampled_from(["os:linux", "os:windows", "ssd"])))),
            created=EPOCH + dt.timedelta(seconds=draw(st.integers(0, 5))),
        )
        cpu_limit, memory_limit = host_limits(host)
        host.allocated_vcpus = draw(st.integers(0, cpu_limit))
        host.allocated_memory_mib = draw(st.integers(0, memory_limit))
        hosts.append(host)
    return hosts


@st.composite
def placements(draw: st.DrawFn, hosts: list[Host]) -> Placement:
    guests = draw(st.dictionaries(st.sampled_from([h.id for h in hosts]), st.integers(1, 5)))
    return Placement(
        vcpus=draw(st.integers(1, 8)),
        memory_mib=draw(st.integers(1, 8192)),
        os_type=draw(st.sampled_from([None, "linux", "windows"])),
        account_guests=lambda: guests,
        cpu_weight=draw(st.sampled_from([0.0, 0.5, 1.0])),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Host], Placement]:
    hosts = draw(inventories())
    return hosts, draw(placements(hosts))


@given(cases(), st.sampled_from(sorted(BUILT_IN)))
def test_every_built_in_allocator_ranks_exactly_the_hosts_it_is_given(case, name) -> None:
    hosts, placement = case
    order = BUILT_IN[name](hosts, placement)
    assert sorted(h.id for h in order) == sorted(h.id for h in hosts)


@given(cases())
def test_fill_first_never_prefers_a_host_with_more_room(case) -> None:
    hosts, placement = case
    shares = [free_share(h, placement) for h in fill_first(hosts, placement)]
    assert shares == sorted(shares)


@given(cases())
def test_disperse_never_prefers_a_host_with_less_room(case) -> None:
    hosts, placement = case
    shares = [free_share(h, placement) for h in disperse(hosts, placement)]
    assert shares == sorted(shares, reverse=True)


@given(cases())
def test_first_fit_is_creation_order(case) -> None:
    hosts, placement = case
    assert first_fit(hosts, placement) == sorted(hosts, key=lambda h: (h.created, h.id))


@given(cases())
def test_user_dispersing_puts_fewest_of_the_accounts_guests_first(case) -> None:
    hosts, placement = case
    guests = placement.account_guests()
    on_cluster: dict[str, int] = {}
    on_pod: dict[str, int] = {}
    for host in hosts:
        on_cluster[host.cluster_id] = on_cluster.get(host.cluster_id, 0) + guests.get(host.id, 0)
        pod = host.cluster.pod_id
        on_pod[pod] = on_pod.get(pod, 0) + guests.get(host.id, 0)
    keys = [
        (guests.get(h.id, 0), on_cluster[h.cluster_id], on_pod[h.cluster.pod_id])
        for h in user_dispersing(hosts, placement)
    ]
    assert keys == sorted(keys)


@given(cases())
def test_os_preference_puts_matching_hosts_first_and_other_categories_last(case) -> None:
    hosts, placement = case

    def rank(host: Host) -> int:
        tags = {t[3:] for t in host.tag_set if t.startswith("os:")}
        return 1 if not tags else (0 if placement.os_type in tags else 2)

    ranks = [rank(h) for h in os_preference(hosts, placement)]
    assert ranks == sorted(ranks)


def test_random_order_reaches_every_permutation_of_three_hosts() -> None:
    hosts = [
        Host(id=f"h{i}", name=f"h{i}", created=EPOCH, cpu_cores=1, memory_mib=1) for i in range(3)
    ]
    seen = {
        tuple(h.id for h in random_order(hosts, Placement(1, 1))) for _ in range(300)
    }  # 6 permutations; missing one in 300 draws has probability below 1e-20
    assert len(seen) == 6


def test_a_ranking_keeps_only_hosts_given_each_once() -> None:
    a, b = (Host(id=i, name=i, created=EPOCH) for i in ("a", "b"))
    stranger = Host(id="c", name="c", created=EPOCH)
    order = ranked(lambda hosts, p: [b, stranger, b, a], [a, b], Placement(1, 1))
    assert order == [b, a]


def test_unknown_allocator_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_allocator_name("best_fit")
    assert "first_fit" in str(caught.value) and caught.value.details["field"] == "allocator"
    with pytest.raises(InvalidInput):
        load_allocator("best_fit")


# ------------------------------------------------------ an installed plug-in


@pytest.fixture
def installed_allocator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The example allocator of docs/engine.rst, installed as a distribution on sys.path.

    importlib.metadata finds entry points through ``*.dist-info`` directories
    on sys.path, which is exactly how pip installs a package.
    """
    shutil.copy(EXAMPLE, tmp_path / "newest_first.py")
    info = tmp_path / "newest_first-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: newest-first\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nnewest_first = newest_first:newest_first\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "newest_first"
    sys.modules.pop("newest_first", None)


def test_an_installed_allocator_is_listed_loaded_and_ranks(installed_allocator: str) -> None:
    assert installed_allocator in allocator_names()
    allocator = load_allocator(installed_allocator)
    old, new = (
        Host(id=i, name=i, created=EPOCH + dt.timedelta(days=n)) for n, i in enumerate("ab")
    )
    assert allocator([old, new], Placement(1, 1)) == [new, old]


# ------------------------------------------------------------ on a database


requests = st.lists(
    st.tuples(st.integers(1, 16), st.integers(1, 16384), st.sampled_from(["", "ssd"])),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inventories(max_hosts=6),
    requests,
    st.sampled_from(["first_fit", "fill_first", "disperse", "random", "os_preference"]),
)
def test_placement_never_breaks_a_filter_or_a_limit_and_keeps_its_order(
    fresh_database, hosts, stream, name
) -> None:
    database = fresh_database()
    zone_id = store_inventory(database, hosts)
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).ensure_root())
        AllocatorSettings(session).set_zone_allocator(system, zone_id, name)
    for vcpus, memory_mib, tag in stream:
        request = ComputeRequest(
            zone_id, vcpus, memory_mib, host_tags=frozenset(tag.split()), os_type="linux"
        )
        with database.transaction() as session:
            service = AllocationService(session)
            fitting = [
                h
                for h in service.candidate_hosts(zone_id)
                if all(f(h, request) for f in service.filters)
            ]
            before = {h.id: free_share(h, Placement(vcpus, memory_mib)) for h in fitting}
            try:
                chosen = service.place_compute(request)
            except CapacityUnavailable:
                assert not fitting
                continue
            assert chosen.id in before  # passed every filter (tags included) and fitted
            cpu_limit, memory_limit = host_limits(chosen)
            assert chosen.allocated_vcpus <= cpu_limit
            assert chosen.allocated_memory_mib <= memory_limit
            if name == "fill_first":
                assert before[chosen.id] == min(before.values())
            elif name == "disperse":
                assert before[chosen.id] == max(before.values())


def test_a_zone_and_an_offering_choose_the_allocator(fresh_database) -> None:
    database = fresh_database()
    old, new = (
        Host(
            id=i,
            name=i,
            cluster=Cluster(
                id="c", pod_id="p", cpu_overprovisioning=1.0, memory_overprovisioning=1.0
            ),
            cpu_cores=8,
            memory_mib=8192,
            allocated_vcpus=load,
            allocated_memory_mib=0,
            tags="",
            created=EPOCH + dt.timedelta(days=n),
        )
        for n, (i, load) in enumerate([("older-emptier", 0), ("newer-fuller", 4)])
    )
    zone_id = store_inventory(database, [old, new])
    request = ComputeRequest(zone_id, 1, 64)
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).ensure_root())
        settings_ = AllocatorSettings(session)
        assert settings_.zone_allocator(zone_id) == "first_fit"
        assert AllocationService(session).place_compute(request).name == "older-emptier"
        settings_.set_zone_allocator(system, zone_id, "fill_first")
        assert AllocationService(session).place_compute(request).name == "newer-fuller"
        offering = ComputeOffering(name="spread", vcpus=1, memory_mib=64)
        session.add(offering)
        session.flush()
        settings_.set_offering_allocator(system, offering.id, "disperse")
        spread = ComputeRequest(zone_id, 1, 64, allocator=offering.allocator)
        assert AllocationService(session).place_compute(spread).name == "older-emptier"
        with pytest.raises(InvalidInput):
            settings_.set_zone_allocator(system, zone_id, "nonsense")
        assert settings_.zone_allocator(zone_id) == "fill_first"  # unchanged by the refusal
        user = Scope(None, "u", "acct", system.domain_id, system.domain_path, Role.USER)
        with pytest.raises(PermissionDenied):
            settings_.set_zone_allocator(user, zone_id, "disperse")


def test_user_dispersing_spreads_one_accounts_guests(fresh_database) -> None:
    database = fresh_database()
    hosts = [
        Host(
            id=i,
            name=i,
            cluster=Cluster(
                id="c", pod_id="p", cpu_overprovisioning=1.0, memory_overprovisioning=1.0
            ),
            cpu_cores=8,
            memory_mib=8192,
            allocated_vcpus=0,
            allocated_memory_mib=0,
            tags="",
            created=EPOCH + dt.timedelta(days=n),
        )
        for n, i in enumerate(["a", "b", "c"])
    ]
    zone_id = store_inventory(database, hosts)
    placed: dict[str, int] = {}
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).ensure_root())
        AllocatorSettings(session).set_zone_allocator(system, zone_id, "user_dispersing")
        for _ in range(6):
            request = ComputeRequest(zone_id, 1, 64, account_guests=lambda: dict(placed))
            host = AllocationService(session).place_compute(request)
            placed[host.id] = placed.get(host.id, 0) + 1
    assert placed == {"a": 2, "b": 2, "c": 2}
