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

from sqlalchemy.orm import Session

from engine.allocation.root_pools import expected_root_disk_bytes
from engine.allocation.service import AllocationService, ComputeRequest
from engine.catalog.models import ComputeOffering, Image
from engine.compute._links import check_linkable
from engine.compute.models import Compute
from engine.scope import Owner
from engine.storage.models import Volume


def place_new_compute(
    session: Session,
    compute: Compute,
    owner: Owner,
    offering: ComputeOffering | None,
    image: Image | None,
    volumes: Sequence[Volume],
) -> None:
    """Place ``compute`` on a host of its zone and claim the host's capacity.

    :raises Conflict: one of ``volumes`` is another owner's or in another
        zone, or no single host reaches them all.
    :raises CapacityUnavailable: no host in the zone can take the guest.
    """
    allocation = AllocationService(session)
    for volume in volumes:
        check_linkable(owner, compute.zone_id, volume, "volume")
    on_hosts, in_clusters = allocation.volume_reach(volume.pool_id for volume in volumes)
    request = ComputeRequest(
        zone_id=compute.zone_id,
        vcpus=compute.vcpus,
        memory_mib=compute.memory_mib,
        host_tags=frozenset(offering.host_tags.split()) if offering else frozenset(),
        on_hosts=on_hosts,
        in_clusters=in_clusters,
        root_disk_bytes=expected_root_disk_bytes(image, offering),
    )
    host = allocation.place_compute(request)
    compute.host_id = compute.last_host_id = host.id
    session.flush()


__all__ = ["place_new_compute"]
