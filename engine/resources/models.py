"""What every tenant resource shares: identity, ownership, state and tags.

Compute, volumes, networks and their links all carry these columns; the
renderings map them to OCCI's ``occi.core.*`` attributes and to CIMI's common
attributes (id, name, description, created, updated, properties).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from engine.db import Base, UTCDateTime, new_id, utcnow

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class OwnedResource:
    """Columns of every resource owned by an account (and optionally a project)."""

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    #: The id the client chose, unique in its account (engine.resources.ids);
    #: None when the server chose.
    chosen_id: Mapped[str | None] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    description: Mapped[str | None] = mapped_column(sa.String(1024))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: Free-form client properties (CIMI ``properties``; OCCI extra attributes).
    properties: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: An :class:`engine.lifecycle.State` value.
    state: Mapped[str] = mapped_column(sa.String(32))
    state_message: Mapped[str | None] = mapped_column(sa.String(1024))

    @property
    def public_id(self) -> str:
        """The id clients see and name it by: the one its owner chose, else :attr:`id`."""
        return self.chosen_id or self.id

    @declared_attr
    def account_id(cls) -> Mapped[str]:
        return mapped_column(sa.ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)

    @declared_attr
    def project_id(cls) -> Mapped[str | None]:
        return mapped_column(sa.ForeignKey("projects.id", ondelete="RESTRICT"), index=True)

    @declared_attr
    def domain_id(cls) -> Mapped[str]:
        return mapped_column(sa.ForeignKey("domains.id", ondelete="RESTRICT"), index=True)


class ZonedResource(OwnedResource):
    """An owned resource that lives in one zone: a compute, a volume, a network."""

    @declared_attr
    def zone_id(cls) -> Mapped[str]:
        return mapped_column(sa.ForeignKey("zones.id", ondelete="RESTRICT"), index=True)


class ResourceTag(Base):
    """A user-defined tag on any resource (OCCI user mixins, CIMI-free labels)."""

    __tablename__ = "resource_tags"

    resource_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    resource_type: Mapped[str] = mapped_column(sa.String(32), index=True)
    value: Mapped[str] = mapped_column(sa.String(1024), default="")
    account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
