"""Host administration: hosts, their capacity and their storage pools.

The host half of :class:`engine.inventory.service.InventoryService` (which
inherits :class:`HostAdministration`), kept apart to keep modules short.
Hosts are never described by hand: :meth:`HostAdministration.add_host` opens
the host's libvirt URI and records what libvirt reports (cores, speed,
memory, hypervisor type, storage pools), so the figures placement relies on
are the hypervisor's own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import HostInfo, PoolInfo
from engine.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from engine.inventory.capacity import host_limits, pool_limit
from engine.inventory.models import AllocationState, Cluster, Host, HostState, Pod, StoragePool
from engine.naming import check_name
from engine.resources.references import count_users
from engine.scope import Scope

#: Opens the driver of a host from its libvirt URI (e.g. ``LibvirtDriver``).
DriverFactory = Callable[[str], HypervisorDriver]
#: Receives one line per step of long operations, for progress display.
Progress = Callable[[str], None]

_MAX_URI = 1024
_NOT_HOST_NAME = re.compile(r"[^A-Za-z0-9._@+-]+")
_GIB = 1024**3


#: Why a caller who is not a root administrator is refused (by every inventory service).
ROOT_ONLY = "the infrastructure is administered by root administrators"


@dataclass(frozen=True)
class HostCapacity:
    """A host's capacity: what is promised to guests against what may be.

    Totals are physical sizes times the cluster's over-provisioning factors,
    exactly the limits placement enforces.

    :param host: the host.
    :param vcpus_allocated: vCPUs held by guests placed on it.
    :param vcpus_total: cores x CPU factor.
    :param memory_allocated_mib: memory held by guests.
    :param memory_total_mib: memory x memory factor.
    :param storage_allocated_bytes: space held in its host-local pools.
    :param storage_total_bytes: their capacity x storage factor.
    """

    host: Host
    vcpus_allocated: int
    vcpus_total: int
    memory_allocated_mib: int
    memory_total_mib: int
    storage_allocated_bytes: int
    storage_total_bytes: int


def host_tags(values: Iterable[str]) -> str:
    """Validate tags and return them space-separated, as stored, without duplicates.

    :raises InvalidInput: a tag is not a valid name (spaces would split it).
    """
    tags: list[str] = []
    for tag in values:
        check_name("tag", tag)
        if tag not in tags:
            tags.append(tag)
    return " ".join(tags)


def shared_pool_names(session: Session, cluster_id: str) -> set[str]:
    """The libvirt names of a cluster's shared pools (never recorded as host-local)."""
    return set(
        session.scalars(
            sa.select(StoragePool.pool_name).where(
                StoragePool.cluster_id == cluster_id, StoragePool.host_id.is_(None)
            )
        )
    )


def _default_host_name(info: HostInfo) -> str:
    # Hostnames are usually valid names already; anything else (a test host
    # that declares none reports its URI) is folded into one.
    name = _NOT_HOST_NAME.sub("-", info.hostname).strip("-._@+")[:64]
    return name or "host"


class HostAdministration:
    """Add, inspect, change and remove hosts; root administrators only.

    :param session: the unit of work; the caller commits.
    :param drivers: opens a host's driver from its URI. Drivers are not
        closed here: the factory owns them (libvirt connections are shared
        per URI, and closing a simulated host's connection ends that host).
    """

    def __init__(self, session: Session, drivers: DriverFactory) -> None:
        self.session = session
        self.drivers = drivers

    # -- hosts -----------------------------------------------------------------

    def add_host(
        self,
        scope: Scope,
        cluster_id: str,
        uri: str,
        name: str | None = None,
        tags: Iterable[str] = (),
        progress: Progress | None = None,
    ) -> Host:
        """Add the host reached at ``uri`` to a cluster, sized by what libvirt reports.

        Its active storage pools are recorded as host-local pools of the
        cluster, except those the cluster shares (:mod:`engine.inventory.pools`).

        :param name: the host's name in Concord; by default its hostname.
        :param tags: host tags that compute offerings can require.
        :param progress: called with a line per step (connect, read, pools).
        :raises AlreadyExists: a host with that URI or name exists.
        :raises Conflict: the host's hypervisor differs from the cluster's.
        :raises DriverUnavailable: the host cannot be reached.
        """
        scope.require_root_admin(ROOT_ONLY)
        say = progress or (lambda _line: None)
        if not isinstance(uri, str) or not uri.strip() or len(uri) > _MAX_URI:
            raise InvalidInput("a host URI is 1 to 1024 characters", field="uri")
        tag_text = host_tags(tags)
        if name is not None:
            check_name("host", name)
        cluster = self.session.get(Cluster, cluster_id)
        if cluster is None:
            raise NotFound(f"no cluster {cluster_id!r}", subject="cluster", id=cluster_id)
        # Not a unique index: URIs are too long for one on MariaDB (3072 bytes).
        if self.session.scalar(sa.select(Host.name).where(Host.uri == uri)):
            raise AlreadyExists(
                f"a host with URI {uri!r} is already registered", subject="host", field="uri"
            )
        say(f"connecting to {uri}")
        driver = self.drivers(uri)
        info = driver.host_info()
        say(
            f"read host {info.hostname}: {info.hypervisor_type} on {info.arch}, "
            f"{info.cpu_cores} cores at {info.cpu_mhz} MHz, {info.memory_mib} MiB"
        )
        pools = driver.list_pools()
        name = name or _default_host_name(info)
        if self.session.scalar(sa.select(Host.id).where(Host.name == name)):
            raise AlreadyExists(f"host {name!r} already exists", subject="host", name=name)
        if cluster.hypervisor_type and cluster.hypervisor_type != info.hypervisor_type:
            raise Conflict(
                f"cluster {cluster.name!r} runs {cluster.hypervisor_type}, "
                f"the host runs {info.hypervisor_type}",
                subject="cluster",
                name=cluster.name,
                reason="mismatch",
                other="host",
            )
        cluster.hypervisor_type = info.hypervisor_type
        now = utcnow()
        host = Host(
            cluster_id=cluster.id,
            name=name,
            uri=uri,
            hypervisor_type=info.hypervisor_type,
            hostname=info.hostname,
            arch=info.arch,
            cpu_cores=info.cpu_cores,
            cpu_mhz=info.cpu_mhz,
            memory_mib=info.memory_mib,
            tags=tag_text,
            state=HostState.UP,
            last_seen=now,
            created=now,
        )
        self.session.add(host)
        self.session.flush()
        for pool in pools:
            say(f"storage pool {pool.name}: {pool.capacity_bytes / _GIB:.1f} GiB")
        self._record_local_pools(host, pools, now)
        say(f"added host {host.name} ({host.id}) to cluster {cluster.name}")
        return host

    def list_hosts(
        self, scope: Scope, zone_id: str | None = None, cluster_id: str | None = None
    ) -> list[Host]:
        """Hosts, optionally of one zone or cluster, by creation time."""
        scope.require_root_admin(ROOT_ONLY)
        query = sa.select(Host).join(Cluster).join(Pod).order_by(Host.created, Host.id)
        if zone_id is not None:
            query = query.where(Pod.zone_id == zone_id)
        if cluster_id is not None:
            query = query.where(Host.cluster_id == cluster_id)
        return list(self.session.scalars(query))

    def host_capacities(
        self, scope: Scope, zone_id: str | None = None, cluster_id: str | None = None
    ) -> list[HostCapacity]:
        """The hosts of :meth:`list_hosts` with their allocated and total capacity."""
        hosts = self.list_hosts(scope, zone_id, cluster_id)
        storage: dict[str, tuple[int, int]] = {}
        pools = self.session.scalars(
            sa.select(StoragePool).where(StoragePool.host_id.in_([h.id for h in hosts]))
        )
        for pool in pools:
            key = pool.host_id or ""  # never empty: selected by host
            allocated, total = storage.get(key, (0, 0))
            storage[key] = (allocated + pool.allocated_bytes, total + pool_limit(pool))
        capacities = []
        for host in hosts:
            vcpus, memory = host_limits(host)
            allocated, total = storage.get(host.id, (0, 0))
            capacities.append(
                HostCapacity(
                    host,
                    host.allocated_vcpus,
                    vcpus,
                    host.allocated_memory_mib,
                    memory,
                    allocated,
                    total,
                )
            )
        return capacities

    def get_host(self, scope: Scope, host_id: str) -> Host:
        """Return a host by id."""
        scope.require_root_admin(ROOT_ONLY)
        host = self.session.get(Host, host_id)
        if host is None:
            raise NotFound(f"no host {host_id!r}", subject="host", id=host_id)
        return host

    def find_host(self, scope: Scope, name: str) -> Host:
        """Return a host by name."""
        scope.require_root_admin(ROOT_ONLY)
        host = self.session.scalar(sa.select(Host).where(Host.name == name))
        if host is None:
            raise NotFound(f"no host {name!r}", subject="host", name=name)
        return host

    def set_host_state(self, scope: Scope, host_id: str, state: HostState) -> Host:
        """Set a host's state, e.g. into or out of maintenance.

        Declaring a host ``up`` first asks its hypervisor: a host that does
        not answer stays as it was.

        :raises DriverUnavailable: the host was declared up but is unreachable.
        """
        host = self.get_host(scope, host_id)
        state = HostState(state)
        if state is HostState.UP:
            self.drivers(host.uri).host_info()
            host.last_seen = utcnow()
        host.state = state
        self.session.flush()
        return host

    def set_host_allocation(self, scope: Scope, host_id: str, state: AllocationState) -> Host:
        """Enable or disable new placements on a host (its guests stay)."""
        host = self.get_host(scope, host_id)
        host.allocation_state = AllocationState(state)
        self.session.flush()
        return host

    def update_host(
        self,
        scope: Scope,
        host_id: str,
        *,
        tags: Iterable[str] | None = None,
        ha_reserved: bool | None = None,
    ) -> Host:
        """Replace a host's tags, or reserve it for (or release it from) HA restarts."""
        host = self.get_host(scope, host_id)
        if tags is not None:
            host.tags = host_tags(tags)
        if ha_reserved is not None:
            host.ha_reserved = bool(ha_reserved)
        self.session.flush()
        return host

    def refresh_host(self, scope: Scope, host_id: str) -> Host:
        """Re-read a host's size and pools from libvirt.

        New pools are recorded; pools that vanished are disabled, not
        deleted, since volumes may still be recorded in them.

        :raises DriverUnavailable: the host cannot be reached.
        """
        host = self.get_host(scope, host_id)
        driver = self.drivers(host.uri)
        info = driver.host_info()
        reported = {pool.name: pool for pool in driver.list_pools()}
        host.hostname, host.arch = info.hostname, info.arch
        host.cpu_cores, host.cpu_mhz, host.memory_mib = (
            info.cpu_cores,
            info.cpu_mhz,
            info.memory_mib,
        )
        host.last_seen = utcnow()
        known = self.session.scalars(sa.select(StoragePool).where(StoragePool.host_id == host.id))
        for row in known:
            pool = reported.pop(row.pool_name, None)
            if pool is None:
                row.allocation_state = AllocationState.DISABLED
            else:
                row.capacity_bytes = pool.capacity_bytes
                row.allocation_state = AllocationState.ENABLED
        self._record_local_pools(host, reported.values(), utcnow())
        return host

    def _record_local_pools(
        self, host: Host, pools: Iterable[PoolInfo], created: dt.datetime
    ) -> None:
        # Every pool libvirt reports is the host's own, except those its
        # cluster shares (engine.inventory.pools).
        shared = shared_pool_names(self.session, host.cluster_id)
        for pool in pools:
            if pool.name in shared:
                continue
            self.session.add(
                StoragePool(
                    cluster_id=host.cluster_id,
                    host_id=host.id,
                    name=f"{host.name}/{pool.name}"[:255],
                    pool_name=pool.name,
                    capacity_bytes=pool.capacity_bytes,
                    created=created,
                )
            )
        self.session.flush()

    def remove_host(self, scope: Scope, host_id: str) -> None:
        """Forget a host and its local pools.

        :raises Conflict: guests are placed on it, or volumes live in its pools.
        """
        host = self.get_host(scope, host_id)
        # Lock the row first: a placement claims capacity with an UPDATE of this
        # row in the transaction that records its guest, so after the lock either
        # that guest is visible to the count below or its claim will find no host.
        self.session.execute(sa.select(Host.id).where(Host.id == host.id).with_for_update())
        # Guests and volumes declare what they use (their models call
        # refers_to): the inventory refuses without knowing them.
        for what, count in count_users(self.session, Host.__tablename__, [host.id]):
            raise Conflict(
                f"host {host.name!r} still has {count} {what}(s) placed on it",
                subject="host",
                name=host.name,
                reason="in_use",
                other=what,
            )
        pools = list(
            self.session.scalars(sa.select(StoragePool.id).where(StoragePool.host_id == host.id))
        )
        for what, count in count_users(self.session, StoragePool.__tablename__, pools):
            raise Conflict(
                f"host {host.name!r} still has {count} {what}(s) in its pools",
                subject="host",
                name=host.name,
                reason="in_use",
                other=what,
            )
        self.session.execute(sa.delete(StoragePool).where(StoragePool.host_id == host.id))
        self.session.delete(host)
        self.session.flush()

    # -- storage pools ----------------------------------------------------------

    def list_storage_pools(
        self, scope: Scope, cluster_id: str | None = None, host_id: str | None = None
    ) -> list[StoragePool]:
        """Primary storage pools, optionally of one cluster or host."""
        scope.require_root_admin(ROOT_ONLY)
        query = sa.select(StoragePool).order_by(StoragePool.created, StoragePool.name)
        if cluster_id is not None:
            query = query.where(StoragePool.cluster_id == cluster_id)
        if host_id is not None:
            query = query.where(StoragePool.host_id == host_id)
        return list(self.session.scalars(query))


__all__ = [
    "ROOT_ONLY",
    "DriverFactory",
    "HostAdministration",
    "HostCapacity",
    "Progress",
    "host_tags",
    "shared_pool_names",
]
