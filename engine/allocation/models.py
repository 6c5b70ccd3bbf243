"""Capacity thresholds: the shares of a target's capacity operators are alerted at.

The dedications placement honours are the inventory's
(:mod:`engine.inventory.dedicated`): who may even see a dedicated zone is
decided there, below every service that looks a zone up.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, string_enum, utcnow


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
    "ThresholdLevel",
    "ThresholdMeasure",
    "ThresholdResource",
]
