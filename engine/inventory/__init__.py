"""Inventory: the infrastructure guests run on.

Zones, pods, clusters (with their over-provisioning factors), hosts (each a
libvirt connection) and primary storage pools, host-local or shared by a
cluster; what each host and pool may promise (:mod:`~engine.inventory.capacity`).

Entry points:
    :class:`~engine.inventory.service.InventoryService` (zones, pods, clusters,
    and through it :class:`~engine.inventory.hosts.HostAdministration` and
    :class:`~engine.inventory.pools.PoolAdministration`),
    :func:`~engine.inventory.service.first_enabled_zone`,
    :func:`~engine.inventory.service.seen_zone`,
    :func:`~engine.inventory.dedicated.zone_open`,
    :func:`~engine.inventory.capacity.host_limits`,
    :func:`~engine.inventory.capacity.pool_limit`; the tables in
    :mod:`~engine.inventory.models`.

Uses: tenancy, resources (the references of guests and volumes to hosts and
pools).
"""

# Registers the hook that keeps ``Host.cpu_limit``/``memory_limit`` current. The
# package imports it, not models.py (which limits.py imports), so that whatever
# imports any part of the inventory, its tables included, has the hook: no
# session can write a host without it.
from engine.inventory import limits as _limits  # noqa: F401
