"""Which storage pool a host's guests keep their root disks in, and how big one will be.

One rule, used where a root disk is made (:mod:`engine.compute._root_disk`),
where a guest's disk is captured, and by placement, which skips hosts whose
pool has no room for the root disk a new guest will need
(:meth:`engine.allocation.service.AllocationService.place_compute`): a pool
local to the host first (the copy then never leaves the host), else a pool
its cluster shares; the oldest enabled one of either.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.models import ComputeOffering, Image
from engine.errors import CapacityUnavailable
from engine.inventory.models import AllocationState, Host, StoragePool

GIB = 1024**3


def root_pools(session: Session, hosts: Sequence[Host]) -> dict[str, StoragePool]:
    """The pool of each host's guests' root disks, by host id, in one query.

    Hosts with no enabled pool of their own or of their cluster are left out.
    """
    if not hosts:
        return {}
    by_cluster: dict[str, list[str]] = {}
    for host in hosts:
        by_cluster.setdefault(host.cluster_id, []).append(host.id)
    pools = session.scalars(
        sa.select(StoragePool)
        .where(
            StoragePool.cluster_id.in_(list(by_cluster)),
            sa.or_(StoragePool.host_id.in_([h.id for h in hosts]), StoragePool.host_id.is_(None)),
            StoragePool.allocation_state == AllocationState.ENABLED,
        )
        # Host-local pools first, so that they win over shared ones below.
        .order_by(StoragePool.host_id.is_(None), StoragePool.created, StoragePool.id)
    )
    chosen: dict[str, StoragePool] = {}
    for pool in pools:
        served = [pool.host_id] if pool.host_id is not None else by_cluster[pool.cluster_id]
        for host_id in served:
            chosen.setdefault(host_id, pool)
    return chosen


def host_pool(session: Session, host: Host) -> StoragePool:
    """The pool a guest on ``host`` keeps its root disk and captures in.

    :raises CapacityUnavailable: the host has no enabled pool.
    """
    pool = root_pools(session, [host]).get(host.id)
    if pool is None:
        raise CapacityUnavailable("the compute's host has no storage pool for its disks")
    return pool


def expected_root_disk_bytes(image: Image | None, offering: ComputeOffering | None) -> int:
    """The size a new guest's root disk will have, as far as the catalog knows it.

    The copy of an image with a location, grown to the offering's root disk
    size; 0 for a guest without one (no image, or a firmware-only image). An
    image whose size is not recorded counts for the offering's size only.
    """
    if image is None or not image.location:
        return 0
    return max(image.size_bytes, (offering.root_disk_gib if offering is not None else 0) * GIB)


__all__ = ["GIB", "expected_root_disk_bytes", "host_pool", "root_pools"]
