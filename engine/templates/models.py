"""Launch templates: named, stored creation parameters of a resource.

Neither libvirt nor the engine's resources need templates: a compute is
created from explicit parameters. But CIMI clients create Machines, Volumes,
Networks, Addresses and Credentials *from* templates they store first
(DSP0263 5.14 MachineTemplate, 5.15 VolumeTemplate, 5.16 NetworkTemplate,
AddressTemplate, CredentialTemplate), and OCCI clients may find them useful
too, so the engine keeps them, as Deltacloud kept its CIMI templates in a
local database (cimi.md 6.20).

A template is engine-neutral: its ``parameters`` are the keyword arguments of
the engine call that creates the resource (``offering_id``, ``image_id``,
``vcpus``, ``size_gib``...), with engine ids, never a rendering's URLs; they
are checked by :mod:`engine.templates.service`. A template has no lifecycle
(nothing runs on it), so it has no ``state``.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class TemplateKind(enum.StrEnum):
    """What a template creates."""

    #: a guest (CIMI MachineTemplate)
    COMPUTE = "compute"
    #: a volume (CIMI VolumeTemplate)
    VOLUME = "volume"
    #: a network (CIMI NetworkTemplate)
    NETWORK = "network"
    #: an IP address on a network (CIMI AddressTemplate)
    ADDRESS = "address"
    #: an SSH key (CIMI CredentialTemplate)
    CREDENTIAL = "credential"


class LaunchTemplate(Base):
    """Stored creation parameters, owned like any tenant resource."""

    __tablename__ = "launch_templates"
    __table_args__ = (sa.Index("ix_launch_templates_kind_created", "kind", "created"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    kind: Mapped[TemplateKind] = mapped_column(string_enum(TemplateKind))
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    description: Mapped[str | None] = mapped_column(sa.String(1024))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: Free-form client properties (CIMI ``properties``).
    properties: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: The keyword arguments of the creating engine call (see the module docstring).
    parameters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    account_id: Mapped[str] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    domain_id: Mapped[str] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="CASCADE"), index=True
    )


__all__ = ["LaunchTemplate", "TemplateKind"]
