"""Keep each host's stored limits equal to :func:`~engine.inventory.capacity.host_limits`.

(And its stored ``zone_id`` equal to its cluster's pod's zone.)

Placement in SQL (:mod:`engine.allocation.sql`) tests "fits" and orders by
free share on the host row alone, so that its query can walk an index; the
limits it compares with are the host's size times its cluster's
over-provisioning factors, stored on the host (``cpu_limit``,
``memory_limit``). They are computed here, in Python, by the same function
the Python pipeline and the claim use, never in SQL: a ``CAST`` of the
product rounds on MariaDB and truncates on SQLite (``host_limits``).

A ``before_flush`` hook of every session sets them on a host that is new or
whose size or cluster changed, and on every host of a cluster whose factors
changed; so whatever writes hosts through the ORM (the inventory service,
a test's rows) cannot leave them stale. Writers that bypass the ORM (bulk
inserts in ``bench/``) set them themselves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.inventory.models import Cluster, Host, Pod

_HOST_SIZE = ("cpu_cores", "memory_mib", "cluster_id")
_FACTORS = ("cpu_overprovisioning", "memory_overprovisioning")


def limits_of(cpu_cores: int, memory_mib: int, cluster: Cluster) -> tuple[int, int]:
    """``host_limits`` for a size and a cluster: ``(vcpus, memory_mib)``."""
    return (
        int(cpu_cores * cluster.cpu_overprovisioning),
        int(memory_mib * cluster.memory_overprovisioning),
    )


def _changed(obj: object, names: tuple[str, ...]) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _cluster_of(session: Session, host: Host, pending: dict[str, Cluster]) -> Cluster | None:
    if host.cluster_id in pending:
        return pending[host.cluster_id]
    loaded = sa.inspect(host).attrs.cluster.loaded_value
    if isinstance(loaded, Cluster) and loaded.id == host.cluster_id:
        return loaded
    return session.get(Cluster, host.cluster_id)


def _set(session: Session, host: Host, cluster: Cluster | None) -> None:
    if cluster is None or host.cpu_cores is None or host.memory_mib is None:
        return  # the flush refuses the row anyway (foreign key, not null)
    if host.zone_id is None or _changed(host, ("cluster_id",)):
        pod = next(
            (p for p in session.new if isinstance(p, Pod) and p.id == cluster.pod_id), None
        ) or session.get(Pod, cluster.pod_id)
        if pod is not None and host.zone_id != pod.zone_id:
            host.zone_id = pod.zone_id
    cpu, memory = limits_of(host.cpu_cores, host.memory_mib, cluster)
    if host.cpu_limit != cpu:
        host.cpu_limit = cpu
    if host.memory_limit != memory:
        host.memory_limit = memory


@event.listens_for(Session, "before_flush")
def _store_limits(session: Session, _context: Any, _instances: Any) -> None:
    pending = {c.id: c for c in session.new if isinstance(c, Cluster) and c.id is not None}
    refactored = [c for c in session.dirty if isinstance(c, Cluster) and _changed(c, _FACTORS)]
    pending.update({c.id: c for c in refactored})
    for obj in list(session.new):
        if isinstance(obj, Host):
            _set(session, obj, _cluster_of(session, obj, pending))
    for obj in list(session.dirty):
        if isinstance(obj, Host) and _changed(obj, _HOST_SIZE):
            _set(session, obj, _cluster_of(session, obj, pending))
    for cluster in refactored:
        # Rare (an operator changing a factor): every host of the cluster.
        for host in session.scalars(sa.select(Host).where(Host.cluster_id == cluster.id)):
            _set(session, host, cluster)


__all__ = ["limits_of"]
