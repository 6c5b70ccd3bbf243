"""Guests (compute resources), their SSH keys and contextualisation data."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.catalog import models as _catalog_tables  # noqa: F401
from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow
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
    # A client's chosen id is unique in its account (engine.resources.ids).
    # The listing order per owner serves positional pages (engine.resources.paging).
    __table_args__ = (
        sa.Index("uq_computes_chosen_id", "account_id", "chosen_id", unique=True),
        sa.Index("ix_computes_listing_order", "account_id", "created", "id", "project_id", "state"),
    )

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
    #: Restart it on another host when its host fails (engine.ha); copied
    #: from the offering at creation unless the creation says otherwise.
    ha_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: Among the guests HA restarts after one host failure, higher first.
    ha_priority: Mapped[int] = mapped_column(sa.Integer, default=0)
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
    #: The guest's identity on its host: its libvirt domain is
    #: ``concord-<guest_id>`` with this UUID, its root disk
    #: ``concord-root-<guest_id>``. Drawn at random by the server, never the
    #: compute's id, which a client may choose: no client can name, and so
    #: take over, a domain or a volume on a host. (Computes made before
    #: migration 0009 keep their id here, the name their guests already have.)
    guest_id: Mapped[str] = mapped_column(
        sa.String(36), nullable=True, unique=True, index=True, default=new_id
    )
    #: The hypervisor's last reported power state (engine.drivers.specs.PowerState).
    power_state: Mapped[str | None] = mapped_column(sa.String(32))
    power_state_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CrashRestart(Base):
    """The series of in-place restarts of a guest that keeps crashing on a healthy host.

    One row per compute that crashed at least once under a restart policy
    (:mod:`engine.compute.crash_restart`). A series starts at a crash and
    counts the restarts tried since; a crash more than the policy's window
    after the series began starts a new one. ``next_attempt`` is when the
    next restart is due (the back-off), ``None`` while none is.
    """

    __tablename__ = "compute_crash_restarts"

    compute_id: Mapped[str] = mapped_column(
        sa.ForeignKey("computes.id", ondelete="CASCADE"), primary_key=True
    )
    #: Restarts tried in this series (queued as jobs).
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Crashes seen in this series.
    crashes: Mapped[int] = mapped_column(sa.Integer, default=0)
    first_crash: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_crash: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: True once the cap was reached: no restart until the series expires.
    gave_up: Mapped[bool] = mapped_column(sa.Boolean, default=False)


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


class GroupPolicy(enum.StrEnum):
    """How a placement group's guests are placed with respect to each other."""

    #: All on one host (CloudStack's host affinity, OpenStack's ``affinity``).
    AFFINITY = "affinity"
    #: Never two on one host (CloudStack's host anti-affinity, OpenStack's
    #: ``anti-affinity``): strict, a guest no host can take is refused.
    ANTI_AFFINITY = "anti-affinity"


class PlacementGroup(Base):
    """An account's affinity or anti-affinity group; guests join it when created.

    ``placements`` counts the placements made in the group: the placement of
    a member first increments it, which serialises the placements of one
    group (the row stays locked until the placing transaction ends) so that
    two concurrent guests of an anti-affinity group never both see a host
    free of members (:mod:`engine.compute.groups`).
    """

    __tablename__ = "placement_groups"
    __table_args__ = (
        sa.UniqueConstraint("owner_key", "name", name="uq_placement_groups_owner_name"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    domain_id: Mapped[str] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="CASCADE"), index=True
    )
    #: Where its name is unique and it is found: the project it was made in
    #: (as OpenStack's server groups are a project's), else its account.
    owner_key: Mapped[str] = mapped_column(sa.String(36))
    name: Mapped[str] = mapped_column(sa.String(255))
    policy: Mapped[GroupPolicy] = mapped_column(string_enum(GroupPolicy))
    placements: Mapped[int] = mapped_column(sa.Integer, default=0)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlacementGroupMember(Base):
    """A compute's membership of a placement group (at most one group per compute)."""

    __tablename__ = "placement_group_members"

    compute_id: Mapped[str] = mapped_column(
        sa.ForeignKey("computes.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        sa.ForeignKey("placement_groups.id", ondelete="CASCADE"), index=True
    )


# What a compute uses of the catalog and the inventory: those refuse to
# delete a row a live guest still uses (engine.resources.references).
refers_to("images", "guest", Compute.image_id)
refers_to("compute_offerings", "guest", Compute.offering_id)
refers_to("hosts", "guest", Compute.host_id)
