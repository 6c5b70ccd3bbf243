"""User-defined tags: labels a tenant defines once and attaches to any of its resources.

A :class:`Tag` belongs to an account (and optionally a project), like any
resource; a :class:`TagAssignment` attaches it to one resource of any kind.
The renderings decide what a tag looks like: OCCI renders each as a
user-defined Mixin (GFD.221 §3.6, "tags"), its ``namespace`` and ``name``
being the Mixin's scheme and term and ``path`` the location of the Mixin's
collection; nothing here depends on that.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, utcnow

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class Tag(Base):
    """A label defined by a tenant.

    ``namespace`` + ``name`` identify it, and ``path`` is where renderings
    list what carries it; both are unique per owning account (two tenants
    may choose the same ones without ever seeing each other's).
    """

    __tablename__ = "tags"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "namespace", "name", name="uq_tags_account_identity"),
        sa.UniqueConstraint("account_id", "path", name="uq_tags_account_path"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    #: The namespace the name lives in (an OCCI Mixin's scheme, a URI).
    namespace: Mapped[str] = mapped_column(sa.String(255))
    #: The tag's name in its namespace (an OCCI Mixin's term).
    name: Mapped[str] = mapped_column(sa.String(255))
    title: Mapped[str | None] = mapped_column(sa.String(255))
    #: Where the tagged resources are listed (an OCCI Mixin's location).
    path: Mapped[str] = mapped_column(sa.String(255))
    #: Identifiers of what the tag extends (OCCI ``depends``), opaque to the engine.
    extends: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: The resource kinds (:class:`engine.lifecycle.Kind` values) it may be put
    #: on; empty means any.
    kinds: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    domain_id: Mapped[str] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TagAssignment(Base):
    """A tag put on one resource (a compute, volume, network or one of their links)."""

    __tablename__ = "tag_assignments"

    tag_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )
    #: The resource's id; no foreign key, since resources of every kind carry tags.
    resource_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, index=True)
    #: The resource's :class:`engine.lifecycle.Kind` value.
    resource_kind: Mapped[str] = mapped_column(sa.String(32))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = ["Tag", "TagAssignment"]
