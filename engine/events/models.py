"""The persisted stream of domain events.

Every state change appends one row in the same transaction as the change
itself, so usage accounting and HA, which read this stream, can never see a
change that was rolled back nor miss one that was committed. ``seq`` orders
the stream; consumers remember the last ``seq`` they processed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, utcnow


class Event(Base):
    """One domain event: who did what to which resource, with the facts consumers need."""

    __tablename__ = "events"

    # SQLite only auto-increments an INTEGER PRIMARY KEY; MariaDB gets a BIGINT.
    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    type: Mapped[str] = mapped_column(sa.String(64), index=True)
    resource_type: Mapped[str] = mapped_column(sa.String(32))
    resource_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    account_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    project_id: Mapped[str | None] = mapped_column(sa.String(36))
    domain_id: Mapped[str | None] = mapped_column(sa.String(36))
    user_id: Mapped[str | None] = mapped_column(sa.String(36))
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    occurred: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class ConsumerCursor(Base):
    """How far a consumer (usage, HA) has read the event stream."""

    __tablename__ = "event_cursors"

    consumer: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Alert(Base):
    """A condition an operator must know about, raised while it lasts.

    One row per ``key`` (what is wrong with which subject, e.g.
    ``capacity:cluster:<id>:cpu``): raising it again while it is active updates
    the message, so a condition seen at every check is one alert, not a flood;
    clearing it stamps ``cleared`` and the same key may be raised again later
    (a new row, so the history of each episode is kept).
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    key: Mapped[str] = mapped_column(sa.String(191), index=True)
    #: ``key`` while the alert is active, NULL once cleared: the unique index
    #: lets two processes raising the same condition at once make one row.
    active_key: Mapped[str | None] = mapped_column(sa.String(191), unique=True, nullable=True)
    #: The capability that raised it: ``capacity``, ``ha``...; a bounded set (a metrics label).
    source: Mapped[str] = mapped_column(sa.String(32), index=True)
    severity: Mapped[str] = mapped_column(sa.String(16))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[str | None] = mapped_column(sa.String(36))
    message: Mapped[str] = mapped_column(sa.String(1024))
    raised: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cleared: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
