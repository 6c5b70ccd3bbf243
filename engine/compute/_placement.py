"""Where a new compute goes: the placement request its creation makes.

A compute created with volumes (OCCI inline storage links, CIMI template
volumes) must run on a host that reaches their pools, so they are checked and
their reach computed before placement; else a volume elsewhere would look
like "no room". The request carries the guest's size, its offering's host
tags and the root disk its image and offering need (DESIGN.md: placement
claims capacity atomically, :mod:`engine.allocation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.requests import ComputeRequest
from engine.allocation.root_pools import expected_root_disk_bytes
from engine.allocation.service import AllocationService
from engine.catalog.models import ComputeOffering, Image
from engine.compute._links import check_linkable
from engine.compute.groups import claim_group, join
from engine.compute.models import Compute, PlacementGroup
from engine.errors import CapacityUnavailable
from engine.inventory.models import Host
from engine.lifecycle import State
from engine.scope import Owner
from engine.storage.models import StorageAttachment, Volume
from engine.tenancy.models import ResourceType


def account_guests(session: Session, account_id: str | None, placing: str) -> dict[str, int]:
    """How many live guests ``account_id`` has on each host (not counting ``placing``).

    For the ``user_dispersing`` allocator, which calls it only when it runs.
    """
    rows = session.execute(
        sa.select(Compute.host_id, sa.func.count())
        .where(
            Compute.account_id == account_id,
            Compute.host_id.is_not(None),
            Compute.state != State.DELETED.value,
            Compute.id != placing,
        )
        .group_by(Compute.host_id)
    )
    return {host_id: count for host_id, count in rows if host_id is not None}


def place_new_compute(
    session: Session,
    compute: Compute,
    owner: Owner,
    offering: ComputeOffering | None,
    image: Image | None,
    volumes: Sequence[Volume],
    group: PlacementGroup | None = None,
) -> None:
    """Place ``compute`` on a host of its zone, claim the host's capacity, and add it.

    A new compute need not be in the session yet: it is added (and so
    inserted with its host) once placed.

    :param group: the placement group it joins, whose policy placement honours.

    :raises Conflict: one of ``volumes`` is another owner's or in another
        zone, or no single host reaches them all.
    :raises CapacityUnavailable: no host in the zone can take the guest.
    """
    allocation = AllocationService(session)
    for volume in volumes:
        check_linkable(owner, compute.zone_id, volume, "volume")
    on_hosts, in_clusters = allocation.volume_reach(volume.pool_id for volume in volumes)
    group_hosts = claim_group(session, group) if group is not None else frozenset()
    request = ComputeRequest(
        zone_id=compute.zone_id,
        vcpus=compute.vcpus,
        memory_mib=compute.memory_mib,
        host_tags=frozenset(offering.host_tags.split()) if offering else frozenset(),
        on_hosts=on_hosts,
        in_clusters=in_clusters,
        root_disk_bytes=expected_root_disk_bytes(image, offering),
        allocator=offering.allocator if offering else None,
        os_type=image.os_type if image else None,
        account_guests=partial(account_guests, session, owner.account_id, compute.id),
        account_id=owner.account_id,
        domain_id=owner.domain_id,
        group_policy=group.policy.value if group is not None else None,
        group_hosts=group_hosts,
        group_name=group.name if group is not None else None,
    )
    host = allocation.place_compute(request)
    compute.host_id = compute.last_host_id = host.id
    session.add(compute)  # a new compute is inserted here, placed (one INSERT)
    session.flush()
    if group is not None:
        join(session, group, compute)


def existing_request(
    session: Session, compute: Compute, avoid: frozenset[str] = frozenset(), for_ha: bool = False
) -> ComputeRequest:
    """The placement request of an existing compute: its size, offering and volumes' reach.

    For a compute placed again: a stopped one that lost its host (HA
    released it from a failed host), or an HA guest restarted elsewhere
    (``for_ha``: HA-reserved hosts may take it; ``avoid``: its failed host).

    :raises Conflict: its volumes are in pools no single host reaches.
    """
    offering = session.get(ComputeOffering, compute.offering_id) if compute.offering_id else None
    pools: list[str | None] = list(
        session.scalars(
            sa.select(Volume.pool_id)
            .join(StorageAttachment, StorageAttachment.volume_id == Volume.id)
            .where(StorageAttachment.compute_id == compute.id)
        )
    )
    pools.append(compute.root_pool_id)
    on_hosts, in_clusters = AllocationService(session).volume_reach(pools)
    return ComputeRequest(
        zone_id=compute.zone_id,
        vcpus=compute.vcpus,
        memory_mib=compute.memory_mib,
        host_tags=frozenset(offering.host_tags.split()) if offering else frozenset(),
        avoid=avoid,
        for_ha=for_ha,
        on_hosts=on_hosts,
        in_clusters=in_clusters,
        allocator=offering.allocator if offering else None,
        account_id=compute.account_id,
        domain_id=compute.domain_id,
    )


def place_unplaced(session: Session, compute: Compute) -> None:
    """Place a stopped compute that has no host (its own was lost) before it starts.

    :raises CapacityUnavailable: no host in its zone can take it.
    :raises Conflict: its volumes are in pools no single host reaches.
    """
    host = AllocationService(session).place_compute(existing_request(session, compute))
    compute.host_id = compute.last_host_id = host.id
    session.flush()


def resize_on_host(session: Session, compute: Compute, grow: dict[ResourceType, int]) -> None:
    """Move a resized compute's claim on its host by ``grow`` (its new size is set).

    :raises CapacityUnavailable: its host has no room to grow.
    """
    if compute.host_id is None:
        return
    allocation = AllocationService(session)
    host = session.get(Host, compute.host_id)
    more_cpu = max(grow[ResourceType.CPU], 0)
    more_memory = max(grow[ResourceType.MEMORY], 0)
    if (more_cpu or more_memory) and (
        host is None or not allocation.claim_host(host, more_cpu, more_memory)
    ):
        raise CapacityUnavailable(
            "the compute's host has no room for the new size",
            vcpus=compute.vcpus,
            memory_mib=compute.memory_mib,
        )
    allocation.release_host(
        compute.host_id,
        max(-grow[ResourceType.CPU], 0),
        max(-grow[ResourceType.MEMORY], 0),
    )


__all__ = ["existing_request", "place_new_compute", "place_unplaced", "resize_on_host"]
