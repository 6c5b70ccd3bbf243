"""Dedication: infrastructure set aside for one domain or one account.

A zone, pod, cluster or host dedicated to an owner takes only that owner's
guests, and placement for that owner prefers it (CloudStack's dedicated
resources). A domain's dedication serves every account of the domain and of
the domains below it.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow

# The tables this module's foreign keys name must be on the metadata before
# a flush or a DDL statement; importing their models puts them there.
from engine.tenancy import models as _tenancy_tables  # noqa: F401


class DedicatedLevel(enum.StrEnum):
    """What kind of infrastructure a dedication sets aside."""

    ZONE = "zone"
    POD = "pod"
    CLUSTER = "cluster"
    HOST = "host"


class Dedication(Base):
    """One zone, pod, cluster or host set aside for a domain or an account.

    The target is named by level and id, not by a foreign key (it is one of
    four tables); removing the target leaves a row that matches nothing.
    """

    __tablename__ = "dedications"
    __table_args__ = (
        sa.UniqueConstraint("level", "target_id", name="uq_dedications_target"),
        sa.CheckConstraint("(domain_id IS NULL) <> (account_id IS NULL)", name="one_owner"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    level: Mapped[DedicatedLevel] = mapped_column(string_enum(DedicatedLevel))
    target_id: Mapped[str] = mapped_column(sa.String(36))
    domain_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("domains.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThresholdLevel(enum.StrEnum):
    """What a notification threshold watches: a level of the capacity report."""

    ZONE = "zone"
    POD = "pod"
    CLUSTER = "cluster"
    HOST = "host"
    POOL = "pool"


class ThresholdResource(enum.StrEnum):
    """The resource a notification threshold watches."""

    CPU = "cpu"
    MEMORY = "memory"
    STORAGE = "storage"


class ThresholdMeasure(enum.StrEnum):
    """Which figure of the resource: what guests hold, or what running guests use."""

    ALLOCATED = "allocated"
    USED = "used"


class CapacityThreshold(Base):
    """A share of a target's capacity above which an operator is alerted.

    CloudStack's ``*.capacity.notificationthreshold`` settings, per target
    rather than global: the share is of the target's limit after
    over-provisioning (:mod:`engine.allocation.report`). Unlike the cluster
    disable thresholds it changes no placement; it only raises an alert
    (:mod:`engine.allocation.notifications`). Like a dedication, the target
    is named by level and id, not by a foreign key.
    """

    __tablename__ = "capacity_thresholds"
    __table_args__ = (
        sa.UniqueConstraint(
            "level", "target_id", "resource", "measure", name="uq_capacity_thresholds_target"
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    level: Mapped[ThresholdLevel] = mapped_column(string_enum(ThresholdLevel))
    target_id: Mapped[str] = mapped_column(sa.String(36))
    resource: Mapped[ThresholdResource] = mapped_column(string_enum(ThresholdResource))
    measure: Mapped[ThresholdMeasure] = mapped_column(string_enum(ThresholdMeasure))
    share: Mapped[float] = mapped_column(sa.Float())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = [
    "CapacityThreshold",
    "DedicatedLevel",
    "Dedication",
    "ThresholdLevel",
    "ThresholdMeasure",
    "ThresholdResource",
]
