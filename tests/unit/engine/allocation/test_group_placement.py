"""Placement with affinity and anti-affinity groups, as properties over arbitrary inventories.

The group's members are the guests this stream placed (the compute
capability computes ``group_hosts`` from live members the same way:
:mod:`engine.compute.groups`); every allocator must honour the policy, and
refuse a guest only when no host both fits and honours it.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.engine.allocation.rows import store_inventory
from unit.engine.allocation.test_allocators import inventories

from engine.allocation.configuration import AllocatorSettings
from engine.allocation.requests import ComputeRequest
from engine.allocation.service import AllocationService
from engine.errors import CapacityUnavailable
from engine.inventory.capacity import host_limits
from engine.scope import Scope
from engine.tenancy.service import TenancyService


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inventories(max_hosts=6),
    st.sampled_from(["affinity", "anti-affinity"]),
    st.lists(st.tuples(st.integers(1, 16), st.integers(1, 16384)), min_size=1, max_size=10),
    st.sampled_from(["first_fit", "fill_first", "disperse", "random", "os_preference"]),
)
def test_groups_are_honoured_or_the_guest_is_refused(
    fresh_database, hosts, policy, stream, name
) -> None:
    database = fresh_database()
    zone_id = store_inventory(database, hosts)
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).ensure_root())
        AllocatorSettings(session).set_zone_allocator(system, zone_id, name)
    members: list[str] = []
    for vcpus, memory_mib in stream:
        request = ComputeRequest(
            zone_id, vcpus, memory_mib, group_policy=policy, group_hosts=frozenset(members)
        )
        with database.transaction() as session:
            service = AllocationService(session)
            fitting = set()
            for host in service.candidate_hosts(zone_id):
                cpu_limit, memory_limit = host_limits(host)
                fits = (
                    host.allocated_vcpus + vcpus <= cpu_limit
                    and host.allocated_memory_mib + memory_mib <= memory_limit
                )
                if policy == "affinity":
                    allowed = not members or host.id in members
                else:
                    allowed = host.id not in members
                if fits and allowed:
                    fitting.add(host.id)
            try:
                chosen = service.place_compute(request)
            except CapacityUnavailable:
                assert not fitting
                continue
            assert chosen.id in fitting
            members.append(chosen.id)
    if policy == "affinity":
        assert len(set(members)) <= 1
    else:
        assert len(set(members)) == len(members)
