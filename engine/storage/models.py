"""Volumes and their attachments to guests."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.catalog import models as _catalog_tables  # noqa: F401
from engine.db import Base
from engine.inventory import models as _inventory_tables  # noqa: F401
from engine.resources.models import OwnedResource, ZonedResource
from engine.resources.references import refers_to


class Volume(ZonedResource, Base):
    """A block device in a primary storage pool (OCCI storage, CIMI Volume)."""

    __tablename__ = "volumes"
    # A client's chosen id is unique in its account (engine.resources.ids).
    # The listing order per owner serves positional pages (engine.resources.paging).
    __table_args__ = (
        sa.Index("uq_volumes_chosen_id", "account_id", "chosen_id", unique=True),
        sa.Index("ix_volumes_listing_order", "account_id", "created", "id", "project_id", "state"),
    )

    offering_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("disk_offerings.id", ondelete="SET NULL"), index=True
    )
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    pool_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("storage_pools.id", ondelete="SET NULL"), index=True
    )
    #: The volume's name and path in its libvirt pool, once created there.
    volume_name: Mapped[str | None] = mapped_column(sa.String(255))
    path: Mapped[str | None] = mapped_column(sa.String(1024))
    image_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("images.id", ondelete="SET NULL"), index=True
    )
    bootable: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: Whether the volume's count and size are charged to its owner's limits and
    #: its size reserved in ``pool_id``. True from creation; False once a failed
    #: creation or the deletion gave them back, so that nothing is released twice.
    quota_held: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class StorageAttachment(OwnedResource, Base):
    """A volume attached to a guest (OCCI storagelink, CIMI MachineVolume)."""

    __tablename__ = "storage_attachments"
    __table_args__ = (
        sa.UniqueConstraint("compute_id", "device", name="uq_storage_attachments_device"),
        sa.UniqueConstraint("volume_id", name="uq_storage_attachments_volume"),
        sa.Index("uq_storage_attachments_chosen_id", "account_id", "chosen_id", unique=True),
    )

    compute_id: Mapped[str] = mapped_column(
        sa.ForeignKey("computes.id", ondelete="CASCADE"), index=True
    )
    volume_id: Mapped[str] = mapped_column(sa.ForeignKey("volumes.id", ondelete="CASCADE"))
    #: The guest device name, e.g. ``vdb`` (OCCI occi.storagelink.deviceid).
    device: Mapped[str] = mapped_column(sa.String(32))
    mountpoint: Mapped[str | None] = mapped_column(sa.String(255))


# What a volume uses of the catalog and the inventory: those refuse to
# delete a row a live volume still uses (engine.resources.references).
refers_to("images", "volume", Volume.image_id)
refers_to("disk_offerings", "volume", Volume.offering_id)
refers_to("storage_pools", "volume", Volume.pool_id)
