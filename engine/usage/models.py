"""Usage accounting's tables: intervals, periods, records and tariffs.

Three tables carry the ledger (docs/usage.rst):

* :class:`UsageInterval` -- how long a resource held one kind of usage at one
  rate: ``[start, end)`` in whole seconds, ``end`` empty while it still holds
  it. Intervals are derived from the event log, period by period, and never
  change below the last aggregated period, so any period's records can be
  recomputed from them and come out the same.
* :class:`UsagePeriod` -- one aggregated period. Its primary key is its
  start, and each period starts where the previous one ended: two
  aggregators can never both write a period, and periods never overlap nor
  leave a gap. The row is inserted first in the period's transaction (the
  claim) and commits with its records, so a crash leaves no partial period.
* :class:`UsageRecord` -- what a resource used in a period, per usage type
  and offering, with a stable id (exports and re-runs are idempotent).

:class:`Tariff` prices them (:mod:`engine.usage.rating`).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, UTCDateTime, new_id, utcnow


class UsageInterval(Base):
    """A resource holding one usage type at one rate from ``start`` until ``end``."""

    __tablename__ = "usage_intervals"

    # A resource holds one rate of a type and offering at a time, so these
    # four name an interval: no generated id to read back after a bulk insert.
    resource_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    usage_type: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    #: The offering the usage is priced by; ``""`` when none.
    offering_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default="")
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    resource_type: Mapped[str] = mapped_column(sa.String(32))
    resource_name: Mapped[str] = mapped_column(sa.String(255), default="")
    account_id: Mapped[str] = mapped_column(sa.String(36))
    project_id: Mapped[str | None] = mapped_column(sa.String(36))
    domain_id: Mapped[str | None] = mapped_column(sa.String(36))
    zone_id: Mapped[str | None] = mapped_column(sa.String(36))
    #: Units held per second (vCPUs, MiB, GiB, or 1).
    rate: Mapped[int] = mapped_column(sa.BigInteger)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.Index("ix_usage_intervals_resource_end", "resource_id", "end"),
        sa.Index("ix_usage_intervals_end", "end"),
    )


class UsagePeriod(Base):
    """One aggregated period ``[start, end)``: the claim and the checkpoint."""

    __tablename__ = "usage_periods"

    start: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    end: Mapped[dt.datetime] = mapped_column(UTCDateTime(), unique=True)
    #: ``hour`` or ``day``: the setting in force when it was aggregated.
    granularity: Mapped[str] = mapped_column(sa.String(8))
    #: The highest event ``seq`` applied up to and including this period.
    max_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    events: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Events that committed after their own period was aggregated, applied
    #: at this period's start (docs/usage.rst, "Late events").
    late_events: Mapped[int] = mapped_column(sa.Integer, default=0)
    records: Mapped[int] = mapped_column(sa.Integer, default=0)
    aggregated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Which process aggregated it (``host:pid``), for operators.
    aggregator: Mapped[str] = mapped_column(sa.String(128), default="")


class UsageRecord(Base):
    """What one resource used of one usage type (and offering) in one period."""

    __tablename__ = "usage_records"

    #: A name-based UUID of (period start, type, resource, offering): stable.
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    period_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    usage_type: Mapped[str] = mapped_column(sa.String(32))
    resource_type: Mapped[str] = mapped_column(sa.String(32))
    resource_id: Mapped[str] = mapped_column(sa.String(36))
    resource_name: Mapped[str] = mapped_column(sa.String(255), default="")
    offering_id: Mapped[str] = mapped_column(sa.String(36), default="")
    account_id: Mapped[str] = mapped_column(sa.String(36))
    project_id: Mapped[str | None] = mapped_column(sa.String(36))
    domain_id: Mapped[str | None] = mapped_column(sa.String(36))
    zone_id: Mapped[str | None] = mapped_column(sa.String(36))
    #: Seconds in the period during which the resource held this usage.
    seconds: Mapped[int] = mapped_column(sa.BigInteger)
    #: Unit-seconds: the exact integral of the rate over the period.
    quantity: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.Index("ix_usage_records_account_start", "account_id", "period_start"),
        sa.Index("ix_usage_records_domain_start", "domain_id", "period_start"),
        sa.Index("ix_usage_records_start", "period_start"),
    )


class Tariff(Base):
    """A price per unit of a usage type, optionally for one offering, for a time."""

    __tablename__ = "usage_tariffs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    usage_type: Mapped[str] = mapped_column(sa.String(32))
    #: ``""``: every offering without a tariff of its own.
    offering_id: Mapped[str] = mapped_column(sa.String(36), default="")
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: A decimal number kept as text: exact on every back-end.
    price: Mapped[str] = mapped_column(sa.String(40))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: Exclusive; ``None``: open-ended.
    valid_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("usage_type", "offering_id", "valid_from", name="uq_usage_tariffs"),
    )
