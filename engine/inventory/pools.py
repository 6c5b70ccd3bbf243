"""Shared primary storage: one libvirt pool that every host of a cluster reaches.

Adding a host records its active libvirt pools as *host-local* pools
(:meth:`engine.inventory.hosts.HostAdministration.add_host`): a volume in one
is attached only to guests of that host. Storage every host of a cluster
mounts (NFS, a cluster file system, Ceph RBD) is registered once for the
cluster instead, with :meth:`PoolAdministration.add_shared_pool`: a volume
in it is attached to a guest on any host of the cluster, and its jobs run on
any up host (:func:`engine.storage.handlers.pool_host`). Every host must
define the pool under the same libvirt name. Volume placement prefers shared
pools when it does not know the guest yet
(:meth:`engine.allocation.service.AllocationService.place_volume`).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from engine.inventory.hosts import DriverFactory, host_tags, shared_pool_names
from engine.inventory.models import Cluster, Host, HostState, StoragePool
from engine.lifecycle import Kind
from engine.resources.references import count_users
from engine.scope import Scope


class PoolAdministration:
    """Registering shared pools; part of :class:`engine.inventory.service.InventoryService`."""

    session: Session
    drivers: DriverFactory

    def add_shared_pool(
        self,
        scope: Scope,
        cluster_id: str,
        pool_name: str,
        name: str | None = None,
        tags: Iterable[str] = (),
    ) -> StoragePool:
        """Register the libvirt pool ``pool_name`` as shared by every host of a cluster.

        Its size is the smallest any up host reports. Host-local records of the
        same pool (made when the hosts were added) are replaced, if no volume
        lives in them.

        :param name: its name in Concord (default ``<cluster>/<pool_name>``).
        :param tags: storage tags that disk offerings can require.
        :raises PermissionDenied: the caller is not a root administrator.
        :raises NotFound: no such cluster.
        :raises AlreadyExists: the cluster already shares a pool of that name.
        :raises Conflict: the cluster has no up host, an up host lacks the pool,
            or volumes live in a host-local record of it.
        """
        scope.require_root_admin("only root administrators manage the infrastructure")
        if not isinstance(pool_name, str) or not pool_name or len(pool_name) > 255:
            raise InvalidInput("a libvirt pool name is 1 to 255 characters", field="pool_name")
        cluster = self.session.get(Cluster, cluster_id)
        if cluster is None:
            raise NotFound(f"no cluster {cluster_id!r}", subject="cluster", id=cluster_id)
        name = name or f"{cluster.name}/{pool_name}"[:255]
        if len(name) > 255 or not name.isprintable():
            raise InvalidInput(
                "a storage pool name is 1 to 255 printable characters",
                field="name",
                reason="too_long",
                maximum=255,
            )
        tag_text = host_tags(tags)
        if pool_name in shared_pool_names(self.session, cluster.id):
            raise AlreadyExists(
                f"cluster {cluster.name!r} already shares pool {pool_name!r}",
                subject="storage_pool",
                name=pool_name,
            )
        hosts = list(
            self.session.scalars(
                sa.select(Host).where(Host.cluster_id == cluster.id, Host.state == HostState.UP)
            )
        )
        if not hosts:
            raise Conflict(
                f"cluster {cluster.name!r} has no host up to read the pool from",
                subject="cluster",
                name=cluster.name,
                reason="state",
            )
        sizes = []
        for host in hosts:
            found = {p.name: p for p in self.drivers(host.uri).list_pools()}.get(pool_name)
            if found is None:
                raise Conflict(
                    f"host {host.name!r} has no active libvirt pool {pool_name!r}",
                    subject="storage_pool",
                    name=pool_name,
                    reason="not_ready",
                )
            sizes.append(found.capacity_bytes)
        self._drop_local_records(cluster.id, pool_name)
        pool = StoragePool(
            cluster_id=cluster.id,
            host_id=None,
            name=name,
            pool_name=pool_name,
            capacity_bytes=min(sizes),
            tags=tag_text,
        )
        self.session.add(pool)
        self.session.flush()
        return pool

    def _drop_local_records(self, cluster_id: str, pool_name: str) -> None:
        local = list(
            self.session.scalars(
                sa.select(StoragePool).where(
                    StoragePool.cluster_id == cluster_id,
                    StoragePool.pool_name == pool_name,
                    StoragePool.host_id.is_not(None),
                )
            )
        )
        if not local:
            return
        used = count_users(self.session, StoragePool.__tablename__, [p.id for p in local])
        if used or any(p.allocated_bytes for p in local):
            raise Conflict(
                f"volumes live in host-local records of pool {pool_name!r}; "
                "move or delete them before sharing it",
                subject="storage_pool",
                name=pool_name,
                reason="in_use",
                other=Kind.VOLUME.value,
            )
        for record in local:
            self.session.delete(record)
        self.session.flush()


__all__ = ["PoolAdministration"]
