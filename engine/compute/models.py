"""Guests (compute resources), their SSH keys and contextualisation data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.catalog import models as _catalog_tables  # noqa: F401
from engine.db import Base, UTCDateTime, new_id, utcnow
from engine.inventory import models as _inventory_tables  # noqa: F401
from engine.resources.models import ZonedResource
from engine.resources.references import refers_to


class Compute(ZonedResource, Base):
    """A guest: sized by an offering or explicitly, booted from an image.

    ``host_id`` is where it is placed now (capacity is held there while it
    is placed, running or not); ``last_host_id`` where it last ran, so that
    HA and reconciliation can find it.
    """

    __tablename__ = "computes"

    offering_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("compute_offerings.id", ondelete="SET NULL"), index=True
    )
    image_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("images.id", ondelete="SET NULL"), index=True
    )
    vcpus: Mapped[int] = mapped_column(sa.Integer)
    cpu_share: Mapped[int] = mapped_column(sa.Integer, default=1024)
    memory_mib: Mapped[int] = mapped_column(sa.Integer)
    arch: Mapped[str] = mapped_column(sa.String(32), default="x86_64")
    hostname: Mapped[str | None] = mapped_column(sa.String(255))
    host_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("hosts.id", ondelete="SET NULL"), index=True
    )
    last_host_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("hosts.id", ondelete="SET NULL"), index=True
    )
    ha_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: The storage pool holding the guest's own root disk (a copy of its
    #: image, engine.compute._root_disk), and the bytes claimed there for it;
    #: None and 0 while it has none.
    root_pool_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("storage_pools.id", ondelete="SET NULL"), index=True
    )
    root_disk_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: Whether the guest's instance, vCPUs and memory are counted against its
    #: owner's limits. True from creation; False once a failed creation or
    #: the deletion gave them back, so that nothing is released twice.
    quota_held: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    ssh_public_key: Mapped[str | None] = mapped_column(sa.Text)
    #: Contextualisation data supplied once at creation (OCCI user_data).
    user_data: Mapped[str | None] = mapped_column(sa.Text)
    #: The hypervisor's last reported power state (engine.drivers.specs.PowerState).
    power_state: Mapped[str | None] = mapped_column(sa.String(32))
    power_state_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SSHKey(Base):
    """A named SSH public key an account can inject into its guests."""

    __tablename__ = "ssh_keys"
    __table_args__ = (sa.UniqueConstraint("account_id", "name", name="uq_ssh_keys_account_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    public_key: Mapped[str] = mapped_column(sa.Text)
    fingerprint: Mapped[str] = mapped_column(sa.String(128))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: What the renderings show besides the key (CIMI Credential common attributes).
    description: Mapped[str | None] = mapped_column(sa.String(1024))
    properties: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# What a compute uses of the catalog and the inventory: those refuse to
# delete a row a live guest still uses (engine.resources.references).
refers_to("images", "guest", Compute.image_id)
refers_to("compute_offerings", "guest", Compute.offering_id)
refers_to("hosts", "guest", Compute.host_id)
