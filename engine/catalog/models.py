"""The catalog: OS images, compute, disk and network offerings.

An entry is either public (``account_id`` is None; ``domain_id`` None means
the whole cloud, else that domain's subtree) or private to one account,
possibly within a project. The renderings expose them as OCCI ``os_tpl`` and
``resource_tpl`` mixins and as CIMI MachineImage, MachineConfiguration,
VolumeConfiguration and NetworkConfiguration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from engine.db import Base, UTCDateTime, new_id, utcnow
from engine.inventory import models as _inventory_tables  # noqa: F401

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class CatalogEntry:
    """Columns every catalog entry shares."""

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.String(1024))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    properties: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    @declared_attr
    def account_id(cls) -> Mapped[str | None]:
        return mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)

    @declared_attr
    def project_id(cls) -> Mapped[str | None]:
        return mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)

    @declared_attr
    def domain_id(cls) -> Mapped[str | None]:
        return mapped_column(sa.ForeignKey("domains.id", ondelete="CASCADE"), index=True)

    @property
    def is_public(self) -> bool:
        """True when the entry belongs to no account."""
        return self.account_id is None


class Image(CatalogEntry, Base):
    """An OS template: a disk image guests boot from, or one captured from a guest."""

    __tablename__ = "images"

    os_type: Mapped[str] = mapped_column(sa.String(64), default="linux")
    arch: Mapped[str] = mapped_column(sa.String(32), default="x86_64")
    disk_format: Mapped[str] = mapped_column(sa.String(16), default="raw")
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: Minimum disk and memory a guest needs to boot this image.
    min_disk_gib: Mapped[int] = mapped_column(sa.Integer, default=0)
    min_memory_mib: Mapped[int] = mapped_column(sa.Integer, default=0)
    zone_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("zones.id", ondelete="SET NULL"), index=True
    )
    #: Where the image's bytes are: a libvirt ``pool/volume`` or a path; None
    #: for images that boot nothing (firmware-only guests in the demo).
    location: Mapped[str | None] = mapped_column(sa.String(1024))
    #: ``creating``, ``available``, ``error`` or ``deleting`` (engine.lifecycle).
    state: Mapped[str] = mapped_column(sa.String(32), default="available")
    state_message: Mapped[str | None] = mapped_column(sa.String(1024))
    source_compute_id: Mapped[str | None] = mapped_column(sa.String(36))


class ComputeOffering(CatalogEntry, Base):
    """A machine size: vCPUs, memory and root disk, optionally host tags and HA."""

    __tablename__ = "compute_offerings"

    vcpus: Mapped[int] = mapped_column(sa.Integer)
    cpu_share: Mapped[int] = mapped_column(sa.Integer, default=1024)
    memory_mib: Mapped[int] = mapped_column(sa.Integer)
    root_disk_gib: Mapped[int] = mapped_column(sa.Integer, default=0)
    host_tags: Mapped[str] = mapped_column(sa.String(1024), default="")
    ha_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: The allocator for its guests, overriding their zone's; ``None``: the zone's.
    allocator: Mapped[str | None] = mapped_column(sa.String(64))


class DiskOffering(CatalogEntry, Base):
    """A volume size (or a custom size when ``size_gib`` is None) and storage tags."""

    __tablename__ = "disk_offerings"

    size_gib: Mapped[int | None] = mapped_column(sa.Integer)
    storage_tags: Mapped[str] = mapped_column(sa.String(1024), default="")


class NetworkOffering(CatalogEntry, Base):
    """A kind of network: isolation (VLAN or VXLAN), DHCP, default CIDR."""

    __tablename__ = "network_offerings"

    isolation: Mapped[str] = mapped_column(sa.String(16), default="vlan")
    dhcp: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    default_cidr: Mapped[str] = mapped_column(sa.String(64), default="10.1.0.0/24")
