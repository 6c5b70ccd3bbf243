"""What a host or a pool may promise: its size times its cluster's over-provisioning factors.

Inventory records sizes and factors; placement (:mod:`engine.allocation`)
claims against these limits and the host administration reports them, so
both read them here.
"""

from __future__ import annotations

from engine.inventory.limits import limits_of
from engine.inventory.models import Host, StoragePool


def host_limits(host: Host) -> tuple[int, int]:
    """The vCPUs and MiB a host may promise: its size times its cluster's factors.

    Computed in Python and compared as integers in SQL: a ``CAST`` of the
    product in SQL truncates on SQLite but *rounds* on MariaDB (3 cores x 1.9
    is 5 vCPUs on one and 6 on the other), so the back-ends would disagree
    about what fits and an atomic claim on MariaDB could pass the limit.

    :returns: ``(vcpus, memory_mib)``.
    """
    return limits_of(host.cpu_cores, host.memory_mib, host.cluster)


def pool_limit(pool: StoragePool) -> int:
    """The bytes a pool may promise: its capacity times its cluster's storage factor."""
    return int(pool.capacity_bytes * pool.cluster.storage_overprovisioning)


__all__ = ["host_limits", "pool_limit"]
