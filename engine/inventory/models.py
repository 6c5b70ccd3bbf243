"""Inventory: zones > pods > clusters > hosts, storage pools and image stores.

Capacity is accounted on the host and pool rows themselves
(``allocated_*`` columns) and changed only by conditional updates in
:mod:`engine.allocation.service`, so two concurrent placements cannot
over-commit a host (reference/engine.md §1.3, "Capacity arithmetic").
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class HostState(enum.StrEnum):
    """The states of a host (CloudStack's, which operators know)."""

    UP = "up"  #: connected and accepting guests
    DOWN = "down"  #: confirmed down (fenced): its guests are stopped
    DISCONNECTED = "disconnected"  #: unreachable, not yet confirmed down
    MAINTENANCE = "maintenance"  #: drained by an administrator; no new guests
    ALERT = "alert"  #: reachable but unhealthy; no new guests


class AllocationState(enum.StrEnum):
    """Whether new resources may be placed on a zone, pod, cluster or host."""

    ENABLED = "enabled"
    DISABLED = "disabled"


class Zone(Base):
    """A zone: an independent failure domain with its own hosts and image store."""

    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(1024))
    allocation_state: Mapped[AllocationState] = mapped_column(
        string_enum(AllocationState), default=AllocationState.ENABLED
    )
    #: The allocator that ranks its hosts (engine.allocation.allocators);
    #: ``None``: the default, first fit.
    allocator: Mapped[str | None] = mapped_column(sa.String(64))
    #: How many hosts the zone has, whatever their state: the range ``random``
    #: draws a host in, read with the zone's row instead of counted per
    #: placement. Moved only by relative ``UPDATE`` statements in the
    #: transaction that adds, removes or moves a host
    #: (:mod:`engine.inventory.host_counts`), so it always equals a recount.
    host_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Pod(Base):
    """A pod: a rack or group of clusters inside a zone."""

    __tablename__ = "pods"
    __table_args__ = (sa.UniqueConstraint("zone_id", "name", name="uq_pods_zone_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    zone_id: Mapped[str] = mapped_column(sa.ForeignKey("zones.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    allocation_state: Mapped[AllocationState] = mapped_column(
        string_enum(AllocationState), default=AllocationState.ENABLED
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    zone: Mapped[Zone] = relationship()


class Cluster(Base):
    """A cluster: hosts of one hypervisor type that share over-provisioning factors.

    Factors multiply physical capacity: a CPU factor of 4 lets 4 vCPUs run per
    core. Defaults are CloudStack's (CPU 1.0, memory 1.0, storage 2.0).
    """

    __tablename__ = "clusters"
    __table_args__ = (sa.UniqueConstraint("pod_id", "name", name="uq_clusters_pod_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    pod_id: Mapped[str] = mapped_column(sa.ForeignKey("pods.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    hypervisor_type: Mapped[str] = mapped_column(sa.String(32))
    cpu_overprovisioning: Mapped[float] = mapped_column(sa.Float, default=1.0)
    memory_overprovisioning: Mapped[float] = mapped_column(sa.Float, default=1.0)
    storage_overprovisioning: Mapped[float] = mapped_column(sa.Float, default=2.0)
    #: Allocated shares (0-1, after over-provisioning) of CPU and memory above
    #: which the cluster takes no new guests (CloudStack's
    #: cluster.*.allocated.capacity.disablethreshold); ``None``: no threshold.
    cpu_disable_threshold: Mapped[float | None] = mapped_column(sa.Float)
    memory_disable_threshold: Mapped[float | None] = mapped_column(sa.Float)
    #: The allocated share of a pool's over-provisioned capacity above which
    #: it takes no new volumes (pool.storage.allocated.capacity.disablethreshold).
    storage_disable_threshold: Mapped[float | None] = mapped_column(sa.Float)
    allocation_state: Mapped[AllocationState] = mapped_column(
        string_enum(AllocationState), default=AllocationState.ENABLED
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    pod: Mapped[Pod] = relationship()


def _free(limit: str, allocated: str) -> str:
    # ``* 1e0`` makes the division a floating one on SQLite and MariaDB alike
    # (MariaDB's integer ``/`` is a DECIMAL of four places): the same
    # correctly rounded quotient as Python's ``/`` on the two integers.
    return f"CASE WHEN {limit} > 0 THEN ({limit} - {allocated}) * 1e0 / {limit} ELSE 0e0 END"


#: The stored free share's SQL: ``0.5 x free CPU share + 0.5 x free memory share``.
FREE_SHARE_SQL = (
    f"0.5e0 * ({_free('cpu_limit', 'allocated_vcpus')})"
    f" + 0.5e0 * ({_free('memory_limit', 'allocated_memory_mib')})"
)


class Host(Base):
    """A hypervisor host reached through one libvirt URI."""

    __tablename__ = "hosts"
    __table_args__ = (
        # Each built-in ordering's key, so that placement reads the first
        # hosts that qualify off an index (engine/allocation/sql.py).
        # The zone comes first: every placement is within one zone, and an
        # index that serves both the equality and the order is the one every
        # planner (SQLite's, MariaDB's) walks, stopping at the LIMIT.
        sa.Index("ix_hosts_zone_created", "zone_id", "created", "id"),
        sa.Index("ix_hosts_zone_free_share", "zone_id", "free_share", "created", "id"),
        sa.Index(
            "ix_hosts_zone_negated_free_share", "zone_id", "negated_free_share", "created", "id"
        ),
        # ``random`` draws a host by its number in the zone: a seek of this
        # index (engine/allocation/sql_placement.py), never a walk.
        sa.Index("uq_hosts_zone_slot", "zone_id", "zone_slot", unique=True),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    cluster_id: Mapped[str] = mapped_column(
        sa.ForeignKey("clusters.id", ondelete="RESTRICT"), index=True
    )
    #: The zone of its cluster's pod, stored so that placement's indexes can
    #: start with it; kept by :mod:`engine.inventory.limits`, and counted in
    #: ``Zone.host_count`` by :mod:`engine.inventory.host_counts` (whose
    #: flush hook needs the zone a host leaves: ``active_history`` loads it
    #: before a change, whether or not another hook read it first).
    zone_id: Mapped[str | None] = mapped_column(sa.String(36), active_history=True)
    #: The host's number in its zone: the zone's hosts hold exactly
    #: ``0 .. host_count - 1`` at every commit (``None`` for a host of no
    #: zone), kept with the count by :mod:`engine.inventory.zone_slots`.
    zone_slot: Mapped[int | None] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    uri: Mapped[str] = mapped_column(sa.String(1024))
    hypervisor_type: Mapped[str] = mapped_column(sa.String(32))
    hostname: Mapped[str | None] = mapped_column(sa.String(255))
    arch: Mapped[str] = mapped_column(sa.String(32), default="x86_64")
    cpu_cores: Mapped[int] = mapped_column(sa.Integer)
    cpu_mhz: Mapped[int] = mapped_column(sa.Integer)
    memory_mib: Mapped[int] = mapped_column(sa.BigInteger)
    #: vCPUs and MiB promised to guests placed here (running or reserved).
    allocated_vcpus: Mapped[int] = mapped_column(sa.Integer, default=0)
    allocated_memory_mib: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: :func:`~engine.inventory.capacity.host_limits`, stored so that placement
    #: in SQL compares and orders on the host row alone; kept equal to it on
    #: every flush by :mod:`engine.inventory.limits`.
    cpu_limit: Mapped[int] = mapped_column(sa.Integer, default=0)
    memory_limit: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: :func:`~engine.allocation.allocators.free_share` at equal weights,
    #: computed by the database from the row (so every claim's UPDATE keeps it
    #: current) and indexed: ``fill_first`` and ``disperse`` read their best
    #: hosts off an index instead of sorting the zone.
    free_share: Mapped[float | None] = mapped_column(
        sa.Double(), sa.Computed(FREE_SHARE_SQL, persisted=False)
    )
    #: ``-free_share`` (negation is exact): ``disperse``'s index, ascending
    #: like its tie-break on (created, id).
    negated_free_share: Mapped[float | None] = mapped_column(
        sa.Double(), sa.Computed(f"-({FREE_SHARE_SQL})", persisted=False)
    )
    state: Mapped[HostState] = mapped_column(string_enum(HostState), default=HostState.UP)
    allocation_state: Mapped[AllocationState] = mapped_column(
        string_enum(AllocationState), default=AllocationState.ENABLED
    )
    #: Space-separated host tags that offerings can require.
    tags: Mapped[str] = mapped_column(sa.String(1024), default="")
    #: HA-reserved hosts take guests only when they are restarted by HA.
    ha_reserved: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cluster: Mapped[Cluster] = relationship()

    @property
    def tag_set(self) -> frozenset[str]:
        """The host's tags as a set."""
        return frozenset(self.tags.split())


class StoragePool(Base):
    """Primary storage: a libvirt storage pool for volumes of one cluster.

    ``host_id`` is set for host-local pools (a libvirt ``dir`` pool on one
    host), which volumes of guests on that host use.
    """

    __tablename__ = "storage_pools"
    __table_args__ = (sa.UniqueConstraint("cluster_id", "name", name="uq_storage_pools_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    cluster_id: Mapped[str] = mapped_column(
        sa.ForeignKey("clusters.id", ondelete="RESTRICT"), index=True
    )
    host_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("hosts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    #: The pool's name in libvirt.
    pool_name: Mapped[str] = mapped_column(sa.String(255))
    capacity_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    allocated_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    tags: Mapped[str] = mapped_column(sa.String(1024), default="")
    allocation_state: Mapped[AllocationState] = mapped_column(
        string_enum(AllocationState), default=AllocationState.ENABLED
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cluster: Mapped[Cluster] = relationship()


class ImageStore(Base):
    """Secondary storage of a zone, where templates and captured images live."""

    __tablename__ = "image_stores"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    zone_id: Mapped[str] = mapped_column(sa.ForeignKey("zones.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    #: Where images are kept: a directory path, or a libvirt pool as ``pool:<name>``.
    location: Mapped[str] = mapped_column(sa.String(1024))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
