"""Placement of guests on hosts and of volumes in storage pools.

Placement is a pipeline (reference/engine.md §1.3): candidate hosts come from
the database already restricted to enabled, up hosts of the zone; each
:data:`HostFilter` may drop a candidate; the allocator the offering or else
the zone names (:mod:`engine.allocation.allocators`) ranks the survivors;
then each candidate in order is *claimed* with one conditional ``UPDATE``
that adds the request to the host's allocated capacity only if it still
fits. The first successful claim wins, so concurrent placements never
over-commit a host, on SQLite or on MariaDB, without a lock table, whatever
the allocator.

Capacity is counted in vCPUs against ``cores x cpu_overprovisioning`` and in
MiB against ``memory x memory_overprovisioning`` of the host's cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.allocators import (
    DEFAULT_ALLOCATOR,
    Allocator,
    load_allocator,
    names_of,
    ranked,
)
from engine.allocation.policy import ZonePolicy
from engine.allocation.pools import over_storage_threshold, rank_pools
from engine.allocation.requests import (
    DEFAULT_FILTERS,
    ComputeRequest,
    HostFilter,
    placement_of,
    refusal_of,
)
from engine.allocation.root_pools import root_pools
from engine.errors import CapacityUnavailable, Conflict, InvalidInput
from engine.inventory.capacity import host_limits, pool_limit
from engine.inventory.models import (
    AllocationState,
    Cluster,
    Host,
    HostState,
    Pod,
    StoragePool,
    Zone,
)

log = logging.getLogger(__name__)


def _root_pool_refusal(pools: dict[str, StoragePool], host: Host, size: int) -> str | None:
    pool = pools.get(host.id)
    if pool is None:
        return "it has no pool for root disks"
    if pool.allocated_bytes + size > pool_limit(pool):
        return "its root disk pool has no room for the image"
    return None


@dataclass
class AllocationService:
    """Place and release guests and volumes.

    :param session: the unit of work the placement commits with.
    :param filters: the host filters, applied in order.
    :param allocator: rank hosts with this allocator whatever the zone and
        offering say (tests, benchmarks); ``None``: theirs.
    """

    session: Session
    filters: tuple[HostFilter, ...] = DEFAULT_FILTERS
    allocator: Allocator | None = None

    def candidate_hosts(self, zone_id: str) -> list[Host]:
        """Up, enabled hosts in enabled clusters and pods of an enabled zone."""
        query = (
            sa.select(Host)
            .join(Cluster, Host.cluster_id == Cluster.id)
            .join(Pod, Cluster.pod_id == Pod.id)
            .join(Zone, Pod.zone_id == Zone.id)
            .where(
                Zone.id == zone_id,
                Zone.allocation_state == AllocationState.ENABLED,
                Pod.allocation_state == AllocationState.ENABLED,
                Cluster.allocation_state == AllocationState.ENABLED,
                Host.allocation_state == AllocationState.ENABLED,
                Host.state == HostState.UP,
            )
            # Re-read the allocation columns even of hosts already in the
            # session: a release earlier in this transaction (an UPDATE that
            # bypasses the identity map) must not make ``fits`` see a full host.
            .execution_options(populate_existing=True)
        )
        return list(self.session.scalars(query))

    def place_compute(self, request: ComputeRequest) -> Host:
        """Choose a host for a guest and reserve its capacity there.

        :raises CapacityUnavailable: no host in the zone can take it.
        """
        judged, policy = self._judge(request)
        hosts = [host for host, refusal in judged if refusal is None]
        name, allocator = self._allocator(request)
        order = ranked(allocator, hosts, placement_of(request))
        if policy.dedications:
            # Dedicated to the owner first, in the allocator's order (a stable sort).
            order.sort(key=lambda h: not policy.dedicated_to_owner(h))
        log.debug(
            "placing %s vCPU / %s MiB in zone %s with %s: %s of %s candidates, in order %s",
            request.vcpus,
            request.memory_mib,
            request.zone_id,
            name,
            len(order),
            len(hosts),
            names_of(order),
        )
        for host in order:
            if self.claim_host(host, request.vcpus, request.memory_mib):
                log.info(
                    "placed %s vCPU / %s MiB on host %s (%s)",
                    request.vcpus,
                    request.memory_mib,
                    host.name,
                    name,
                )
                return host
        wanted = f"{request.vcpus} vCPU and {request.memory_mib} MiB"
        if request.root_disk_bytes:
            wanted += f" with a root disk of {request.root_disk_bytes} bytes"
        near = " next to its volumes" if request.on_hosts or request.in_clusters else ""
        raise CapacityUnavailable(
            f"no host in the zone can take {wanted}{near}",
            vcpus=request.vcpus,
            memory_mib=request.memory_mib,
        )

    def explain(self, request: ComputeRequest) -> list[tuple[Host, str | None]]:
        """Every candidate host of the zone, with why the request may not go there.

        ``None`` for a host the allocator may rank; otherwise the first filter
        or policy rule that refuses it, in words an operator reads
        (``concord host list --explain``).
        """
        return self._judge(request)[0]

    def _judge(self, request: ComputeRequest) -> tuple[list[tuple[Host, str | None]], ZonePolicy]:
        policy = ZonePolicy.load(self.session, request)
        judged: list[tuple[Host, str | None]] = []
        for host in self.candidate_hosts(request.zone_id):
            refusal = next((refusal_of(f) for f in self.filters if not f(host, request)), None)
            judged.append((host, refusal or policy.refusal(host)))
        if request.root_disk_bytes:
            # The root disk is copied by the creation job, which claims the
            # bytes then (atomically); hosts whose pool has no room now are
            # not worth a job that would fail.
            pools = root_pools(self.session, [h for h, refusal in judged if refusal is None])
            judged = [
                (h, refusal or _root_pool_refusal(pools, h, request.root_disk_bytes))
                for h, refusal in judged
            ]
        return judged, policy

    def _allocator(self, request: ComputeRequest) -> tuple[str, Allocator]:
        if self.allocator is not None:
            return getattr(self.allocator, "__name__", "given"), self.allocator
        name = request.allocator or self.session.scalar(
            sa.select(Zone.allocator).where(Zone.id == request.zone_id)
        )
        name = name or DEFAULT_ALLOCATOR
        return name, load_allocator(name)

    def volume_reach(self, pool_ids: Iterable[str | None]) -> tuple[frozenset[str], frozenset[str]]:
        """The hosts and clusters a guest must be in to reach these storage pools.

        A host-local pool is reached from its host only, a shared pool from
        every host of its cluster: the rule attaching a volume checks. Pass
        the result as :class:`ComputeRequest`'s ``on_hosts`` and ``in_clusters``.

        :param pool_ids: the pools of the volumes (None: a volume not placed yet).
        :raises Conflict: no single host reaches them all.
        """
        wanted = {pool_id for pool_id in pool_ids if pool_id is not None}
        if not wanted:  # most computes are created without volumes: no query
            return frozenset(), frozenset()
        pools = self.session.scalars(sa.select(StoragePool).where(StoragePool.id.in_(wanted)))
        on_hosts: set[str] = set()
        in_clusters: set[str] = set()
        for pool in pools:
            in_clusters.add(pool.cluster_id)
            if pool.host_id is not None:
                on_hosts.add(pool.host_id)
        if len(on_hosts) > 1 or len(in_clusters) > 1:
            # Tenants never learn where their resources are: no host or pool named.
            raise Conflict(
                "the volumes are in storage pools that no single host reaches; "
                "they cannot all be attached to one compute"
            )
        return frozenset(on_hosts), frozenset(in_clusters)

    def claim_host(self, host: Host, vcpus: int, memory_mib: int) -> bool:
        """Atomically add a guest's size to a host's allocation if it still fits."""
        cpu_limit, memory_limit = host_limits(host)
        result = self.session.execute(
            sa.update(Host)
            .where(
                Host.id == host.id,
                # The limits were computed from these sizes; if a refresh
                # changed them meanwhile the claim fails and the next host is
                # tried, rather than trusting a stale limit.
                Host.cpu_cores == host.cpu_cores,
                Host.memory_mib == host.memory_mib,
                Host.allocated_vcpus + vcpus <= cpu_limit,
                Host.allocated_memory_mib + memory_mib <= memory_limit,
            )
            .values(
                allocated_vcpus=Host.allocated_vcpus + vcpus,
                allocated_memory_mib=Host.allocated_memory_mib + memory_mib,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            self.session.refresh(host)
            return True
        return False

    def release_host(self, host_id: str, vcpus: int, memory_mib: int) -> None:
        """Give a guest's capacity back to its host (never below zero)."""
        self.session.execute(
            sa.update(Host)
            .where(Host.id == host_id)
            .values(
                allocated_vcpus=sa.case(
                    (Host.allocated_vcpus > vcpus, Host.allocated_vcpus - vcpus), else_=0
                ),
                allocated_memory_mib=sa.case(
                    (
                        Host.allocated_memory_mib > memory_mib,
                        Host.allocated_memory_mib - memory_mib,
                    ),
                    else_=0,
                ),
            )
            .execution_options(synchronize_session=False)
        )

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
            raise InvalidInput("a volume needs a positive size")
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
                raise InvalidInput(f"no host {host_id!r}")
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
