"""What a resource's recorded events say it holds, as usage accounting reads them.

The engine's lifecycle tests (HA, crash restarts, maintenance moves,
reconciliation) check with these that every path recorded, with its state
change, the facts the aggregator folds (:func:`engine.usage.types.holdings`).
"""

from __future__ import annotations

from typing import Any

from unit.engine.cloud import Cloud

from engine.usage.types import METERED, UNCHANGED, Holding, UsageType, holdings


def held(cloud: Cloud, resource_id: str) -> set[tuple[str, int]]:
    """What the resource's events say it holds now: (usage type, rate) pairs."""
    current: frozenset[Holding] = frozenset()
    events = cloud.events(resource_id)
    assert events, "no event recorded"
    for event in events:
        assert event.resource_type in METERED
        assert event.account_id is not None and event.domain_id is not None
        assert event.payload.get("account_id", event.account_id) == event.account_id
        found = holdings(event.resource_type, event.type, event.account_id, event.payload)
        if found is not UNCHANGED:
            current = found
    return {(h.usage_type, h.rate) for h in current}


def last_fact(cloud: Cloud, resource_id: str, name: str) -> Any:
    """A fact (``host_id``, ``state``...) of the resource's last event."""
    return cloud.events(resource_id)[-1].payload.get(name)


def running_guest(vcpus: int, memory_mib: int) -> set[tuple[str, int]]:
    """What a running guest of this size holds."""
    return {
        (UsageType.ALLOCATED_VM, 1),
        (UsageType.RUNNING_VM, 1),
        (UsageType.CPU, vcpus),
        (UsageType.MEMORY, memory_mib),
    }


#: What a guest that holds a host but does not run holds.
ALLOCATED_ONLY = {(UsageType.ALLOCATED_VM, 1)}
