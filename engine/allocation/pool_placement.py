"""Placement of volumes in storage pools: the same pipeline as guests, over pools.

Candidate pools of the zone (enabled, in enabled clusters and pods, reached
from the guest's host when there is one), the filters of
:mod:`engine.allocation.pools` (storage tags, the storage disable threshold),
the zone's allocator's order, then a conditional ``UPDATE`` claim per pool
in that order: the first that still has room wins (reference/engine.md
§1.3). :class:`~engine.allocation.service.AllocationService` offers these
methods; they are kept here so that each module stays small.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.allocators import DEFAULT_ALLOCATOR
from engine.allocation.pools import over_storage_threshold, rank_pools
from engine.errors import CapacityUnavailable, InvalidInput
from engine.inventory.capacity import pool_limit
from engine.inventory.models import (
    AllocationState,
    Cluster,
    Host,
    HostState,
    Pod,
    StoragePool,
    Zone,
)


class PoolPlacement:
    """Place, claim and release volumes' space in storage pools.

    :param session: the unit of work the placement commits with.
    """

    session: Session

    def place_volume(
        self,
        zone_id: str,
        size_bytes: int,
        host_id: str | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> StoragePool:
        """Choose a primary storage pool for a volume and reserve the space.

        :param host_id: the host of the guest it will be attached to: its
            local pools and its cluster's shared pools qualify; without it,
            any enabled pool of the zone, shared pools first (a guest on any
            host of their cluster can use the volume).
        :raises CapacityUnavailable: no pool has room.
        """
        if size_bytes < 1:
            raise InvalidInput(
                "a volume needs a positive size", field="size_gib", reason="positive"
            )
        query = (
            sa.select(StoragePool)
            .join(Cluster, StoragePool.cluster_id == Cluster.id)
            .join(Pod, Cluster.pod_id == Pod.id)
            .join(Zone, Pod.zone_id == Zone.id)
            .where(
                Zone.id == zone_id,
                # Disabled like for guests: no new volume in a disabled zone or pod.
                Zone.allocation_state == AllocationState.ENABLED,
                Pod.allocation_state == AllocationState.ENABLED,
                StoragePool.allocation_state == AllocationState.ENABLED,
                Cluster.allocation_state == AllocationState.ENABLED,
            )
            .order_by(StoragePool.created, StoragePool.id)
        )
        if host_id is not None:
            host = self.session.get(Host, host_id)
            if host is None:
                raise InvalidInput(
                    f"no host {host_id!r}", subject="host", id=host_id, reason="unknown"
                )
            query = query.where(
                StoragePool.cluster_id == host.cluster_id,
                sa.or_(StoragePool.host_id == host_id, StoragePool.host_id.is_(None)),
            )
        else:
            # Without a host: shared pools first, then pools of hosts that are up.
            query = query.outerjoin(Host, StoragePool.host_id == Host.id).where(
                sa.or_(StoragePool.host_id.is_(None), Host.state == HostState.UP)
            )
        pools = [
            pool
            for pool in self.session.scalars(query)
            if tags <= frozenset(pool.tags.split()) and not over_storage_threshold(pool)
        ]
        allocator = self.session.scalar(sa.select(Zone.allocator).where(Zone.id == zone_id))
        for pool in rank_pools(pools, allocator or DEFAULT_ALLOCATOR, shared_first=host_id is None):
            if self.claim_pool(pool, size_bytes):
                return pool
        raise CapacityUnavailable(
            f"no storage pool in the zone has {size_bytes} bytes free", size_bytes=size_bytes
        )

    def claim_pool(self, pool: StoragePool, size_bytes: int) -> bool:
        """Atomically add ``size_bytes`` to a pool's allocation if it still fits."""
        result = self.session.execute(
            sa.update(StoragePool)
            .where(
                StoragePool.id == pool.id,
                StoragePool.capacity_bytes == pool.capacity_bytes,
                StoragePool.allocated_bytes + size_bytes <= pool_limit(pool),
            )
            .values(allocated_bytes=StoragePool.allocated_bytes + size_bytes)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            self.session.refresh(pool)
            return True
        return False

    def release_pool(self, pool_id: str, size_bytes: int) -> None:
        """Give a volume's space back to its pool (never below zero)."""
        self.session.execute(
            sa.update(StoragePool)
            .where(StoragePool.id == pool_id)
            .values(
                allocated_bytes=sa.case(
                    (
                        StoragePool.allocated_bytes > size_bytes,
                        StoragePool.allocated_bytes - size_bytes,
                    ),
                    else_=0,
                )
            )
            .execution_options(synchronize_session=False)
        )


__all__ = ["PoolPlacement"]
