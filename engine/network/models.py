"""Networks, their address management, and guests' network interfaces."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.catalog import models as _catalog_tables  # noqa: F401
from engine.db import Base
from engine.resources.models import OwnedResource, ZonedResource
from engine.resources.references import refers_to


class Network(ZonedResource, Base):
    """A guest network: an IP range on a VLAN or VXLAN segment."""

    __tablename__ = "networks"
    # A VXLAN segment id identifies one network in its zone (RFC 7348 §5); a
    # deleted network gives its VNI back by clearing it (NULLs never clash).
    # A client's chosen id is unique in its account (engine.resources.ids).
    __table_args__ = (
        sa.UniqueConstraint("zone_id", "vni", name="uq_networks_zone_vni"),
        sa.Index("uq_networks_chosen_id", "account_id", "chosen_id", unique=True),
        # The listing order per owner serves positional pages (engine.resources.paging).
        sa.Index("ix_networks_listing_order", "account_id", "created", "id", "project_id", "state"),
    )

    offering_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("network_offerings.id", ondelete="SET NULL"), index=True
    )
    cidr: Mapped[str] = mapped_column(sa.String(64))
    gateway: Mapped[str | None] = mapped_column(sa.String(64))
    #: ``dynamic`` (DHCP) or ``static`` (OCCI occi.network.allocation).
    allocation: Mapped[str] = mapped_column(sa.String(16), default="dynamic")
    vlan: Mapped[int | None] = mapped_column(sa.Integer)
    vni: Mapped[int | None] = mapped_column(sa.Integer)
    label: Mapped[str | None] = mapped_column(sa.String(255))
    #: Whether the network is counted against its owner's ``networks`` limit;
    #: False once a failed creation or the deletion gave it back.
    quota_held: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class NetworkInterface(OwnedResource, Base):
    """A guest's interface on a network, with its MAC and IP address."""

    __tablename__ = "network_interfaces"
    __table_args__ = (
        sa.UniqueConstraint("network_id", "ip_address", name="uq_network_interfaces_ip"),
        sa.UniqueConstraint("mac", name="uq_network_interfaces_mac"),
        sa.UniqueConstraint("compute_id", "interface", name="uq_network_interfaces_device"),
        sa.Index("uq_network_interfaces_chosen_id", "account_id", "chosen_id", unique=True),
    )

    compute_id: Mapped[str] = mapped_column(
        sa.ForeignKey("computes.id", ondelete="CASCADE"), index=True
    )
    network_id: Mapped[str] = mapped_column(
        sa.ForeignKey("networks.id", ondelete="RESTRICT"), index=True
    )
    #: The guest-side interface name, e.g. ``eth0`` (occi.networkinterface.interface).
    interface: Mapped[str] = mapped_column(sa.String(32))
    mac: Mapped[str] = mapped_column(sa.String(17))
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    allocation: Mapped[str] = mapped_column(sa.String(16), default="dynamic")


class DefaultNetwork(Base):
    """The network an account's new computes join in a zone when given none.

    CloudStack attaches a new VM to its account's default network of the zone,
    and OpenStack to the project's (auto-allocated) network, so that a guest
    created without saying more has an address; OCCI clients rely on it (IM's
    connector creates computes without network links). One row per account and
    zone; no row means a compute given no network has none.
    """

    __tablename__ = "default_networks"

    account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[str] = mapped_column(
        sa.ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True
    )
    network_id: Mapped[str] = mapped_column(
        sa.ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )


# What a network uses of the catalog: it refuses to delete an offering a
# live network still uses (engine.resources.references).
refers_to("network_offerings", "network", Network.offering_id)
