"""HA's persisted state: host health, fencing configuration, the work queue and its history.

Everything HA knows lives in these rows, so that any process can take over
from any other (DESIGN.md: all state lives in the database):

* :class:`HostHealth`: where each monitored host is in the
  up -> suspect -> down machine (:mod:`engine.ha.health`), with the time of
  its last good answer;
* :class:`FenceConfig`: which fencer fences a host and with what options;
* :class:`HaItem`: the work queue, one item per failed host and one per
  guest to recover from it, claimed like jobs (:mod:`engine.ha.queue`);
* :class:`HaHistory`: every step each item went through, with its time
  (detected, suspect, fenced, restarted where), kept after the item ends.
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
from engine.inventory import models as _inventory_tables  # noqa: F401


class HaHealth(enum.StrEnum):
    """What HA's monitor believes of a host."""

    UP = "up"  #: answered within ``ha_suspect_after``
    SUSPECT = "suspect"  #: silent for ``ha_suspect_after``, not (yet) proven down
    DOWN = "down"  #: silent for ``ha_down_after`` and the second check failed too


class HostHealth(Base):
    """The monitor's record of one host."""

    __tablename__ = "ha_host_health"

    host_id: Mapped[str] = mapped_column(
        sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[HaHealth] = mapped_column(string_enum(HaHealth), default=HaHealth.UP)
    #: When the host last answered the heartbeat (or the second check).
    last_ok: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_check: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: When it entered ``state``.
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detail: Mapped[str | None] = mapped_column(sa.String(255))


class FenceConfig(Base):
    """How to fence one host: a fencer's name and its per-host options."""

    __tablename__ = "ha_fence_configs"

    host_id: Mapped[str] = mapped_column(
        sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    )
    fencer: Mapped[str] = mapped_column(sa.String(64))
    options: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class HaItemKind(enum.StrEnum):
    """What an HA work item is about."""

    HOST = "host"  #: a failed host: fence it, then recover its guests
    GUEST = "guest"  #: one HA guest to restart elsewhere


class HaStep(enum.StrEnum):
    """Where an HA work item is (CloudStack's ``op_ha_work`` steps, reduced)."""

    DETECTED = "detected"  #: a host declared down; nothing done yet
    FENCING = "fencing"  #: its fencer is running
    AWAITING_OPERATOR = "awaiting_operator"  #: fencing unconfirmed: an operator must confirm
    HELD = "held"  #: the zone's storm guard stopped automatic recovery
    FENCED = "fenced"  #: confirmed fenced; its guests are being recovered
    QUEUED = "queued"  #: (guest) waiting to be placed elsewhere
    RESTARTING = "restarting"  #: (guest) placed; its start job runs
    RESTARTED = "restarted"  #: (guest) running on another host
    FAILED = "failed"  #: (guest) could not be restarted; the compute says why
    DONE = "done"  #: (host) every guest handled

    @property
    def is_final(self) -> bool:
        """True when nothing more will be done for the item."""
        return self in (HaStep.RESTARTED, HaStep.FAILED, HaStep.DONE)


class HaItem(Base):
    """One unit of HA work, claimed by one process at a time."""

    __tablename__ = "ha_items"
    __table_args__ = (sa.Index("ix_ha_items_step", "step"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    kind: Mapped[HaItemKind] = mapped_column(string_enum(HaItemKind))
    #: The failed host (for a guest item too: the host it is recovered from).
    host_id: Mapped[str] = mapped_column(sa.ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    zone_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    compute_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    #: A guest item's host item.
    parent_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    step: Mapped[HaStep] = mapped_column(string_enum(HaStep))
    #: ``host:<id>`` while a host item is open, NULL after: one open item per host.
    active_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    #: Higher first (the compute's ``ha_priority``).
    priority: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Where a guest was placed, and the start job that runs it there.
    target_host_id: Mapped[str | None] = mapped_column(sa.String(36))
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))
    heartbeat: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: (host, ``awaiting_operator``) when its unconfirmed fence is tried again.
    retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    message: Mapped[str | None] = mapped_column(sa.String(1024))
    #: When the host was last heard of, and when it was declared down.
    last_ok: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class HaHistory(Base):
    """One step of one HA item, with when it happened."""

    __tablename__ = "ha_history"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    item_id: Mapped[str] = mapped_column(
        sa.ForeignKey("ha_items.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detail: Mapped[str | None] = mapped_column(sa.String(1024))
