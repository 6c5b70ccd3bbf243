"""Placement of guests on hosts and of volumes in storage pools.

Placement is a pipeline (reference/engine.md §1.3): candidate hosts come from
the database already restricted to enabled, up hosts of the zone; each
:data:`HostFilter` may drop a candidate; the allocator the offering or else
the zone names (:mod:`engine.allocation.allocators`) ranks the survivors;
then each candidate in order is *claimed* with one conditional ``UPDATE``
that adds the request to the host's allocated capacity only if it still
fits. The first successful claim wins, so concurrent placements never
over-commit a host, on SQLite or on MariaDB, without a lock table, whatever
the allocator. With the default filters and a built-in allocator, the
filters and the ordering run in SQL (:mod:`engine.allocation.sql_placement`).

Capacity is counted in vCPUs against ``cores x cpu_overprovisioning`` and in
MiB against ``memory x memory_overprovisioning`` of the host's cluster.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

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
from engine.allocation.pool_placement import PoolPlacement
from engine.allocation.requests import (
    DEFAULT_FILTERS,
    ComputeRequest,
    HostFilter,
    placement_of,
    refusal_of,
)
from engine.allocation.root_pools import root_pools
from engine.allocation.sql import SQL_ORDERED
from engine.allocation.sql_placement import SqlPlacement, root_pool_refusal
from engine.errors import CapacityUnavailable, Conflict
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


def _no_room(request: ComputeRequest) -> CapacityUnavailable:
    wanted = f"{request.vcpus} vCPU and {request.memory_mib} MiB"
    if request.root_disk_bytes:
        wanted += f" with a root disk of {request.root_disk_bytes} bytes"
    near = " next to its volumes" if request.on_hosts or request.in_clusters else ""
    if request.group_policy == "anti-affinity":
        near += " apart from the other guests of its anti-affinity group"
    elif request.group_policy == "affinity" and request.group_hosts:
        near += " beside the other guests of its affinity group"
    return CapacityUnavailable(
        f"no host in the zone can take {wanted}{near}",
        vcpus=request.vcpus,
        memory_mib=request.memory_mib,
        # Facts the renderings word (engine.errors): where it had to go.
        near_volumes=bool(request.on_hosts or request.in_clusters),
        group_policy=request.group_policy or "",
    )


@dataclass
class AllocationService(PoolPlacement, SqlPlacement):
    """Place and release guests and volumes.

    :param session: the unit of work the placement commits with.
    :param filters: the host filters, applied in order.
    :param allocator: rank hosts with this allocator whatever the zone and
        offering say (tests, benchmarks); ``None``: theirs.
    :param rng: where ``random`` draws its host (tests seed one); by default
        the operating system's generator, as :func:`~engine.allocation.allocators.random_order`'s.
    """

    session: Session
    filters: tuple[HostFilter, ...] = DEFAULT_FILTERS
    allocator: Allocator | None = None
    rng: random.Random = field(default_factory=random.SystemRandom)

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
        # One statement: the zone's allocator, host count, thresholds and dedications.
        policy = ZonePolicy.load(self.session, request)
        name, allocator = self._allocator(request, policy)
        in_sql = SQL_ORDERED.get(allocator) if self.filters == DEFAULT_FILTERS else None
        if in_sql is not None:
            host = self._place_in_sql(request, in_sql, policy)
            if host is not None:
                return host
            raise _no_room(request)
        judged, policy = self._judge(request, policy)
        hosts = [host for host, refusal in judged if refusal is None]
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
        raise _no_room(request)

    def explain(self, request: ComputeRequest) -> list[tuple[Host, str | None]]:
        """Every candidate host of the zone, with why the request may not go there.

        ``None`` for a host the allocator may rank; otherwise the first filter
        or policy rule that refuses it, in words an operator reads
        (``concord host list --explain``).
        """
        return self._judge(request)[0]

    def _judge(
        self, request: ComputeRequest, policy: ZonePolicy | None = None
    ) -> tuple[list[tuple[Host, str | None]], ZonePolicy]:
        if policy is None:
            policy = ZonePolicy.load(self.session, request)
        judged: list[tuple[Host, str | None]] = []
        for host in self.candidate_hosts(request.zone_id):
            refusal = next(
                (refusal_of(f, request) for f in self.filters if not f(host, request)), None
            )
            judged.append((host, refusal or policy.refusal(host)))
        if request.root_disk_bytes:
            # The root disk is copied by the creation job, which claims the
            # bytes then (atomically); hosts whose pool has no room now are
            # not worth a job that would fail.
            pools = root_pools(self.session, [h for h, refusal in judged if refusal is None])
            judged = [
                (h, refusal or root_pool_refusal(pools, h, request.root_disk_bytes))
                for h, refusal in judged
            ]
        return judged, policy

    def _allocator(self, request: ComputeRequest, policy: ZonePolicy) -> tuple[str, Allocator]:
        if self.allocator is not None:
            return getattr(self.allocator, "__name__", "given"), self.allocator
        # The zone's allocator came with its policy: no statement of its own.
        name = request.allocator or policy.zone_allocator or DEFAULT_ALLOCATOR
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
                "they cannot all be attached to one compute",
                subject="volume",
                reason="apart",
                other="compute",
            )
        return frozenset(on_hosts), frozenset(in_clusters)
