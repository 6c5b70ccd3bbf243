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
from engine.compute.models import Compute
from engine.lifecycle import State
from engine.scope import Owner
from engine.storage.models import Volume


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
        allocator=offering.allocator if offering else None,
        os_type=image.os_type if image else None,
        account_guests=partial(account_guests, session, owner.account_id, compute.id),
        account_id=owner.account_id,
        domain_id=owner.domain_id,
    )
    host = allocation.place_compute(request)
    compute.host_id = compute.last_host_id = host.id
    session.flush()


__all__ = ["place_new_compute"]
