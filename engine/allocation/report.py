"""Capacity as operators read it: per zone, pod, cluster, host and storage pool.

For each level and each resource (vCPUs, memory in MiB, storage in bytes):

``total``
    the physical size (cores, MiB, pool bytes);
``limit``
    the size after the cluster's over-provisioning factors: what placement
    may promise (:mod:`engine.inventory.capacity`);
``allocated``
    what guests and volumes placed there hold, running or not;
``used``
    what running guests use (storage: what volumes hold, as allocated);
``ha_reserved``
    what is left on hosts reserved for HA restarts, which ordinary guests
    never take;
``free``
    what is left for new guests: ``limit - allocated - ha_reserved``, never
    below zero.

Hosts count whatever their state: a host that is down still has its guests'
capacity allocated, and the report is the operator's view of the inventory,
not of what placement would try now (``concord host list --explain`` says
that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.inventory.capacity import host_limits, pool_limit
from engine.inventory.models import Cluster, Host, Pod, StoragePool, Zone
from engine.scope import Scope

#: The resources a report counts, in the order they are shown.
RESOURCES = ("vcpus", "memory_mib", "storage_bytes")
#: The figures of each resource.
FIGURES = ("total", "limit", "allocated", "used", "ha_reserved", "free")


@dataclass
class Level:
    """One zone, pod, cluster, host or pool with its figures.

    :param figures: ``{resource: {figure: value}}`` over :data:`RESOURCES` and
        :data:`FIGURES`.
    :param id: the zone's, pod's... id (not shown: paths name levels for people).
    """

    level: str
    name: str
    path: str
    figures: dict[str, dict[str, int]] = field(
        default_factory=lambda: {r: dict.fromkeys(FIGURES, 0) for r in RESOURCES}
    )
    id: str = ""

    def add(self, resource: str, **values: int) -> None:
        """Add ``values`` to this level's figures of ``resource``."""
        for name, value in values.items():
            self.figures[resource][name] += value

    def settle(self) -> None:
        """Compute ``free`` from the other figures."""
        for figures in self.figures.values():
            figures["free"] = max(
                0, figures["limit"] - figures["allocated"] - figures["ha_reserved"]
            )

    def as_dict(self) -> dict[str, object]:
        """The level as plain data (the CLI's JSON and the HTTP resource)."""
        return {"level": self.level, "name": self.name, "path": self.path, **self.figures}


def capacity_report(
    session: Session,
    scope: Scope,
    running: Mapping[str, tuple[int, int]],
    *,
    zone_id: str | None = None,
) -> list[Level]:
    """Every zone, pod, cluster, host and pool (of one zone if given), with its figures.

    :param running: vCPUs and MiB of the running guests on each host, by host
        id (the compute capability counts them:
        :func:`engine.compute.state.running_sizes_by_host`).
    :raises PermissionDenied: the caller is not a root administrator.
    """
    scope.require_root_admin("capacity is reported to root administrators")
    return capacity_levels(session, running, zone_id=zone_id)


def capacity_levels(
    session: Session, running: Mapping[str, tuple[int, int]], *, zone_id: str | None = None
) -> list[Level]:
    """The figures of :func:`capacity_report`, for the engine's own watchers.

    No permission is checked: the caller is the system (the capacity watcher
    of :mod:`engine.allocation.notifications`), never a client.
    """
    # From the zones down with outer joins, so that a zone, pod or cluster with
    # nothing under it yet is reported (with zero figures) rather than left out.
    query = (
        sa.select(Zone, Pod, Cluster, Host)
        .outerjoin(Pod, Pod.zone_id == Zone.id)
        .outerjoin(Cluster, Cluster.pod_id == Pod.id)
        .outerjoin(Host, Host.cluster_id == Cluster.id)
        .order_by(Zone.name, Pod.name, Cluster.name, Host.name)
    )
    if zone_id is not None:
        query = query.where(Zone.id == zone_id)
    levels: dict[tuple[str, str], Level] = {}

    def level(kind: str, key: str, name: str, path: str) -> Level:
        return levels.setdefault((kind, key), Level(kind, name, path, id=key))

    clusters: dict[str, list[Level]] = {}
    rows: list[tuple[Zone, Pod | None, Cluster | None, Host | None]] = [
        (zone, pod, cluster, host) for zone, pod, cluster, host in session.execute(query)
    ]
    for zone, pod, cluster, host in rows:
        chain = [level("zone", zone.id, zone.name, zone.name)]
        if pod is None:
            continue
        chain.append(level("pod", pod.id, pod.name, f"{zone.name}/{pod.name}"))
        if cluster is None:
            continue
        chain.append(
            level("cluster", cluster.id, cluster.name, f"{zone.name}/{pod.name}/{cluster.name}")
        )
        clusters[cluster.id] = chain
        if host is None:
            continue
        chain.append(level("host", host.id, host.name, f"{chain[2].path}/{host.name}"))
        cpu_limit, memory_limit = host_limits(host)
        used_vcpus, used_memory = running.get(host.id, (0, 0))
        for item in chain:
            item.add(
                "vcpus",
                total=host.cpu_cores,
                limit=cpu_limit,
                allocated=host.allocated_vcpus,
                used=used_vcpus,
                ha_reserved=max(0, cpu_limit - host.allocated_vcpus) if host.ha_reserved else 0,
            )
            item.add(
                "memory_mib",
                total=host.memory_mib,
                limit=memory_limit,
                allocated=host.allocated_memory_mib,
                used=used_memory,
                ha_reserved=(
                    max(0, memory_limit - host.allocated_memory_mib) if host.ha_reserved else 0
                ),
            )
    pools = session.scalars(sa.select(StoragePool).order_by(StoragePool.name))
    for pool in pools:
        above = clusters.get(pool.cluster_id)
        if above is None:
            continue  # another zone's
        owner = levels.get(("host", pool.host_id)) if pool.host_id else None
        # A host-local pool's name already carries its host's ("node-1/local").
        path = f"{owner.path}/{pool.pool_name}" if owner else f"{above[2].path}/{pool.name}"
        members = [*above[:3], *([owner] if owner else []), level("pool", pool.id, pool.name, path)]
        for item in members:
            item.add(
                "storage_bytes",
                total=pool.capacity_bytes,
                limit=pool_limit(pool),
                allocated=pool.allocated_bytes,
                used=pool.allocated_bytes,
            )
    report = list(levels.values())
    for item in report:
        item.settle()
    order = {"zone": 0, "pod": 1, "cluster": 2, "host": 3, "pool": 4}
    return sorted(report, key=lambda item: (item.path.split("/")[0], order[item.level], item.path))


__all__ = ["FIGURES", "RESOURCES", "Level", "capacity_levels", "capacity_report"]
