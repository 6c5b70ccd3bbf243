"""Turning the event log into usage intervals and records, one period at a time.

:func:`aggregate_period` does one period ``[start, end)`` in the caller's
transaction:

1. It inserts the period's :class:`~engine.usage.models.UsagePeriod` row
   first. The row's key is the period's start and a period starts where the
   previous one ended, so a second aggregator inserting the same period
   waits for the first one's transaction (MariaDB's key lock, SQLite's write
   lock) and then fails with a duplicate key: it never writes the period
   twice. If the first one dies, its transaction rolls back and the second
   one's insert goes through.
2. It reads the period's events in order (``occurred``, then ``seq``) and
   folds them into intervals: each event says what its resource holds from
   then on (:func:`~engine.usage.types.holdings`), which closes the intervals
   of what it no longer holds and opens intervals for what it newly holds,
   at the event's second.
3. It writes one record per resource, usage type and offering: the exact
   integral of the intervals clipped to the period.

Everything commits together or not at all: a crash leaves no partial period.
:func:`recompute` derives any aggregated period's records again from the
intervals, which never change below the last period; a re-run is identical.

Cost: a period writes about as many rows as it reads (a record for every
resource that held anything in it, even one with no event), so the rate
is set by the work per row. The events are read with one streamed Core
statement (columns only, in order); the fold is plain Python
(:mod:`engine.usage.fold`); what each resource holds at the start is one
statement (or this process's :class:`Carry`); the rows are written as
tuples with one ``executemany`` per statement and table
(:mod:`engine.usage.bulk`). The ORM handles only the period's own row.
bench/RESULTS.md ("Usage aggregation near its write floor") has the
profile that led here and the figures against the database's own cost of
storing the same rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.events.models import Event
from engine.usage.bulk import RECORD_NAMESPACE, Writer, period_key, record_ids
from engine.usage.fold import Fold, Meta, Span, Totals, fold_event, totals
from engine.usage.models import UsageInterval, UsagePeriod, UsageRecord
from engine.usage.periods import second
from engine.usage.types import METERED, Holding

#: The intervals' and records' tables, for bulk statements.
INTERVALS = cast(sa.Table, UsageInterval.__table__)
RECORDS = cast(sa.Table, UsageRecord.__table__)
#: Event rows fetched from the database at a time (a period's are streamed).
BATCH = 5000
#: The columns of an interval row and of a record row, in the order of their tuples.
INTERVAL_COLUMNS = (
    "resource_type",
    "resource_id",
    "resource_name",
    "usage_type",
    "offering_id",
    "account_id",
    "project_id",
    "domain_id",
    "zone_id",
    "rate",
    "start",
    "end",
)
RECORD_COLUMNS = (
    "id",
    "period_start",
    "period_end",
    "usage_type",
    "resource_type",
    "resource_id",
    "resource_name",
    "offering_id",
    "account_id",
    "project_id",
    "domain_id",
    "zone_id",
    "seconds",
    "quantity",
)


class PeriodTaken(Exception):
    """Another aggregator has aggregated (or is aggregating) the period."""


def record_id(period_start: dt.datetime, usage_type: str, resource_id: str, offering: str) -> str:
    """The stable id of a record: the same period, type, resource and offering, the same id."""
    name = f"{period_key(period_start)}|{usage_type}|{resource_id}|{offering}"
    return str(uuid.uuid5(RECORD_NAMESPACE, name))


_EVENT_COLUMNS = (
    Event.seq,
    Event.type,
    Event.resource_type,
    Event.resource_id,
    Event.account_id,
    Event.project_id,
    Event.domain_id,
    Event.occurred,
    Event.payload,
)


def _events(session: Session, condition: sa.ColumnElement[bool], late: bool) -> Iterator[Any]:
    # One Core statement, streamed BATCH rows at a time (a server-side cursor
    # on MariaDB): no ORM, and no OFFSET pages that re-read what came before.
    order = (Event.seq,) if late else (Event.occurred, Event.seq)
    query = (
        sa.select(*_EVENT_COLUMNS)
        .where(condition, Event.resource_type.in_(sorted(METERED)))
        .order_by(*order)
        .execution_options(yield_per=BATCH)
    )
    yield from session.connection().execute(query)


def _meta_of(row: Any) -> Meta:
    return Meta(
        row.resource_type,
        row.resource_name,
        row.account_id,
        row.project_id,
        row.domain_id,
        row.zone_id,
    )


def _load_open(session: Session, fold: Fold) -> None:
    # What every resource holds at the period's start, in one statement.
    query = sa.select(INTERVALS).where(INTERVALS.c.end.is_(None))
    for row in session.connection().execute(query):
        holding = Holding(row.usage_type, row.offering_id, row.rate)
        span = Span(row.resource_id, holding, _meta_of(row), row.start, stored=True)
        fold.open.setdefault(row.resource_id, {})[holding] = span


def _store_intervals(writer: Writer, fold: Fold) -> None:
    # Intervals stored by an earlier period and closed in this one get their
    # end; the others (closed in this period, or still open) are inserted.
    moment = writer.moment
    writer.update(
        INTERVALS,
        ("end",),
        ("resource_id", "usage_type", "offering_id", "start"),
        [
            (
                moment(s.end),
                s.resource_id,
                s.holding.usage_type,
                s.holding.offering_id,
                moment(s.start),
            )
            for s in fold.closed
            if s.stored
        ],
    )
    writer.insert(
        INTERVALS,
        INTERVAL_COLUMNS,
        [
            (
                s.meta.resource_type,
                s.resource_id,
                s.meta.resource_name,
                s.holding.usage_type,
                s.holding.offering_id,
                s.meta.account_id,
                s.meta.project_id,
                s.meta.domain_id,
                s.meta.zone_id,
                s.holding.rate,
                moment(s.start),
                moment(s.end),
            )
            for s in fold.spans()
            if not s.stored
        ],
    )
    for held in fold.open.values():
        for span in held.values():
            span.stored = True


def records_of(spans: Iterable[Span], start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """One record per resource, usage type and offering: the spans clipped to ``[start, end)``."""
    make_id = record_ids(period_key(start))
    return [
        {
            "id": make_id(usage_type, resource_id, offering),
            "period_start": start,
            "period_end": end,
            "usage_type": usage_type,
            "resource_type": meta.resource_type,
            "resource_id": resource_id,
            "resource_name": meta.resource_name,
            "offering_id": offering,
            "account_id": meta.account_id,
            "project_id": meta.project_id,
            "domain_id": meta.domain_id,
            "zone_id": meta.zone_id,
            "seconds": seconds,
            "quantity": quantity,
        }
        for (usage_type, resource_id, offering), (meta, seconds, quantity) in sorted(
            totals(spans, start, end).items()
        )
    ]


def _store_records(writer: Writer, totals: Totals, start: dt.datetime, end: dt.datetime) -> int:
    # The same rows as records_of, as tuples in RECORD_COLUMNS' order.
    make_id = record_ids(period_key(start))
    first, last = writer.moment(start), writer.moment(end)
    rows = [
        (
            make_id(usage_type, resource_id, offering),
            first,
            last,
            usage_type,
            meta.resource_type,
            resource_id,
            meta.resource_name,
            offering,
            meta.account_id,
            meta.project_id,
            meta.domain_id,
            meta.zone_id,
            seconds,
            quantity,
        )
        for (usage_type, resource_id, offering), (meta, seconds, quantity) in totals.items()
    ]
    writer.insert(RECORDS, RECORD_COLUMNS, rows)
    return len(rows)


def previous_period(session: Session, start: dt.datetime) -> UsagePeriod | None:
    """The aggregated period that ends at ``start``, if any."""
    return session.scalars(sa.select(UsagePeriod).where(UsagePeriod.end == start)).first()


@dataclass
class Carry:
    """What one period leaves open, for the next period aggregated by the same process.

    Valid only for the period starting at ``end``: whoever claims that period
    is the only one to touch the intervals until it commits.
    """

    end: dt.datetime
    open: dict[str, dict[Holding, Span]]


def aggregate_period(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    *,
    granularity: str,
    aggregator: str = "",
    carry: Carry | None = None,
) -> tuple[UsagePeriod, Carry]:
    """Aggregate ``[start, end)`` in the caller's transaction (see the module docstring).

    :param carry: what this process's previous period left open, when it
        ended at ``start``: saves reading the open intervals again.
    :returns: the period's row, and what the next period starts with (valid
        once this transaction has committed).
    :raises PeriodTaken: another aggregator wrote the period first.
    """
    claim = UsagePeriod(start=start, end=end, granularity=granularity, aggregator=aggregator[:128])
    try:
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except sa.exc.IntegrityError:
        raise PeriodTaken(f"the period from {start:%Y-%m-%dT%H:%M:%SZ} is taken") from None
    previous = previous_period(session, start)
    fold = Fold(max_seq=previous.max_seq if previous else 0)
    if carry is not None and carry.end == start:
        fold.open = carry.open
    else:
        _load_open(session, fold)
    # Events that committed after their own period was aggregated: applied
    # at this period's start rather than lost (docs/usage.rst, "Late events").
    for row in _events(session, sa.and_(Event.occurred < start, Event.seq > fold.max_seq), True):
        fold.late += 1
        fold_event(fold, row, start)
    for row in _events(session, sa.and_(Event.occurred >= start, Event.occurred < end), False):
        fold_event(fold, row, second(row.occurred))
    sums = totals(fold.spans(), start, end)
    writer = Writer(session.connection(), INTERVALS.c.start.type)
    _store_intervals(writer, fold)
    claim.records = _store_records(writer, sums, start, end)
    claim.max_seq = fold.max_seq
    claim.events = fold.events
    claim.late_events = fold.late
    session.flush()
    return claim, Carry(end, fold.open)


def recompute(session: Session, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The records of an aggregated period ``[start, end)``, derived again from the intervals."""
    table = INTERVALS
    query = sa.select(table).where(
        table.c.start < end, sa.or_(table.c.end.is_(None), table.c.end > start)
    )
    spans = [
        Span(
            row.resource_id,
            Holding(row.usage_type, row.offering_id, row.rate),
            _meta_of(row),
            row.start,
            row.end,
        )
        for row in session.execute(query)
    ]
    return records_of(spans, start, end)


__all__ = ["Carry", "PeriodTaken", "aggregate_period", "recompute", "record_id", "records_of"]
