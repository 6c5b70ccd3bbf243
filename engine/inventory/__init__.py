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
    :func:`~engine.inventory.capacity.pool_limit`,
    :func:`~engine.inventory.host_counts.insert_hosts`,
    :func:`~engine.inventory.host_counts.host_count_drift`,
    :func:`~engine.inventory.host_counts.recount_zone_hosts`; the tables in
    :mod:`~engine.inventory.models`.

Uses: tenancy, resources (the references of guests and volumes to hosts and
pools).
"""

# Registers the hooks that keep ``Host.cpu_limit``/``memory_limit`` current and
# ``Zone.host_count`` equal to a recount, with each zone's hosts numbered
# 0..count-1 in ``Host.zone_slot`` (host_counts imports limits first: its
# hook needs the zone limits' hook stores). The package imports them, not
# models.py (which they import), so that whatever imports any part of the
# inventory, its tables included, has the hooks: no session can write a host
# without them.
from engine.inventory import host_counts as _host_counts  # noqa: F401
from engine.inventory import limits as _limits  # noqa: F401
