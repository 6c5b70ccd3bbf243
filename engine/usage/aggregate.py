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
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.events.models import Event
from engine.usage.models import UsageInterval, UsagePeriod, UsageRecord
from engine.usage.periods import second
from engine.usage.types import METERED, UNCHANGED, Holding, holdings

#: The namespace of the records' name-based ids (a fixed, random UUID).
RECORD_NAMESPACE = uuid.UUID("0b8f4f7e-5d1c-4d55-9a40-3c2c6f0b7a21")
#: The intervals' and records' tables, for bulk statements.
INTERVALS = cast(sa.Table, UsageInterval.__table__)
RECORDS = cast(sa.Table, UsageRecord.__table__)
#: Events read per query.
BATCH = 5000


class PeriodTaken(Exception):
    """Another aggregator has aggregated (or is aggregating) the period."""


def record_id(period_start: dt.datetime, usage_type: str, resource_id: str, offering: str) -> str:
    """The stable id of a record: the same period, type, resource and offering, the same id."""
    return _record_id(_period_key(period_start), usage_type, resource_id, offering)


def _period_key(period_start: dt.datetime) -> str:
    return f"{period_start.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def _record_id(period: str, usage_type: str, resource_id: str, offering: str) -> str:
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{period}|{usage_type}|{resource_id}|{offering}"))


@dataclass(frozen=True)
class _Meta:
    resource_type: str
    resource_name: str
    account_id: str
    project_id: str | None
    domain_id: str | None
    zone_id: str | None


@dataclass
class _Span:
    """An interval while the period is folded."""

    resource_id: str
    holding: Holding
    meta: _Meta
    start: dt.datetime
    end: dt.datetime | None = None
    stored: bool = False  # the interval has a row already


@dataclass
class _Fold:
    """The intervals of one period as its events are applied."""

    open: dict[str, dict[Holding, _Span]] = field(default_factory=dict)
    closed: list[_Span] = field(default_factory=list)
    events: int = 0
    late: int = 0
    max_seq: int = 0

    def apply(
        self, resource_id: str, held: frozenset[Holding], meta: _Meta, at: dt.datetime
    ) -> None:
        """From ``at`` on, ``resource_id`` holds exactly ``held``."""
        current = self.open.get(resource_id, {})
        for holding in [h for h in current if h not in held]:
            span = current.pop(holding)
            span.end = at
            # A span opened and closed within one second held nothing.
            if span.stored or span.start < at:
                self.closed.append(span)
        for holding in held:
            if holding not in current:
                current[holding] = _Span(resource_id, holding, meta, at)
        if current:
            self.open[resource_id] = current
        else:
            self.open.pop(resource_id, None)

    def spans(self) -> Iterator[_Span]:
        """Every interval the period overlaps: those closed in it, then those still open."""
        yield from self.closed
        for held in self.open.values():
            yield from held.values()


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
    order = (Event.seq,) if late else (Event.occurred, Event.seq)
    query = (
        sa.select(*_EVENT_COLUMNS)
        .where(condition, Event.resource_type.in_(sorted(METERED)))
        .order_by(*order)
    )
    offset = 0
    while True:
        rows = session.execute(query.offset(offset).limit(BATCH)).all()
        yield from rows
        if len(rows) < BATCH:
            return
        offset += BATCH


def _meta_of(row: Any) -> _Meta:
    return _Meta(
        row.resource_type,
        row.resource_name,
        row.account_id,
        row.project_id,
        row.domain_id,
        row.zone_id,
    )


def _load_open(session: Session, fold: _Fold) -> None:
    query = sa.select(INTERVALS).where(UsageInterval.end.is_(None))
    for row in session.execute(query):
        holding = Holding(row.usage_type, row.offering_id, row.rate)
        span = _Span(row.resource_id, holding, _meta_of(row), row.start, stored=True)
        fold.open.setdefault(row.resource_id, {})[holding] = span


def _fold_event(fold: _Fold, row: Any, at: dt.datetime) -> None:
    fold.events += 1
    fold.max_seq = max(fold.max_seq, row.seq)
    payload = row.payload or {}
    held = holdings(row.resource_type, row.type, row.account_id, payload)
    if held is UNCHANGED:
        return
    meta = _Meta(
        row.resource_type,
        str(payload.get("name") or "")[:255],
        row.account_id or "",
        row.project_id,
        row.domain_id,
        payload.get("zone_id"),
    )
    fold.apply(row.resource_id, held, meta, at)


def _interval_values(span: _Span) -> dict[str, Any]:
    return {
        "resource_type": span.meta.resource_type,
        "resource_id": span.resource_id,
        "resource_name": span.meta.resource_name,
        "usage_type": span.holding.usage_type,
        "offering_id": span.holding.offering_id,
        "account_id": span.meta.account_id,
        "project_id": span.meta.project_id,
        "domain_id": span.meta.domain_id,
        "zone_id": span.meta.zone_id,
        "rate": span.holding.rate,
        "start": span.start,
        "end": span.end,
    }


def _store_intervals(session: Session, fold: _Fold) -> None:
    table = INTERVALS
    ends = [
        {
            "b_resource": s.resource_id,
            "b_type": s.holding.usage_type,
            "b_offering": s.holding.offering_id,
            "b_start": s.start,
            "b_end": s.end,
        }
        for s in fold.closed
        if s.stored
    ]
    if ends:
        session.connection().execute(
            sa.update(table)
            .where(
                table.c.resource_id == sa.bindparam("b_resource"),
                table.c.usage_type == sa.bindparam("b_type"),
                table.c.offering_id == sa.bindparam("b_offering"),
                table.c.start == sa.bindparam("b_start"),
            )
            .values(end=sa.bindparam("b_end")),
            ends,
        )
    new = [_interval_values(span) for span in fold.spans() if not span.stored]
    if new:
        session.connection().execute(sa.insert(table), new)
    for held in fold.open.values():
        for span in held.values():
            span.stored = True


def records_of(
    spans: Iterable[_Span], start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    """One record per resource, usage type and offering: the spans clipped to ``[start, end)``."""
    totals: dict[tuple[str, str, str], list[Any]] = {}
    for span in spans:
        first = max(span.start, start)
        last = end if span.end is None else min(span.end, end)
        seconds = int((last - first).total_seconds())
        if seconds <= 0:
            continue
        key = (span.holding.usage_type, span.resource_id, span.holding.offering_id)
        entry = totals.get(key)
        if entry is None:
            totals[key] = [span.meta, seconds, seconds * span.holding.rate]
        else:
            entry[1] += seconds
            entry[2] += seconds * span.holding.rate
    period = _period_key(start)
    return [
        {
            "id": _record_id(period, usage_type, resource_id, offering),
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
        for (usage_type, resource_id, offering), (meta, seconds, quantity) in sorted(totals.items())
    ]


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
    open: dict[str, dict[Holding, _Span]]


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
    fold = _Fold(max_seq=previous.max_seq if previous else 0)
    if carry is not None and carry.end == start:
        fold.open = carry.open
    else:
        _load_open(session, fold)
    # Events that committed after their own period was aggregated: applied
    # at this period's start rather than lost (docs/usage.rst, "Late events").
    for row in _events(session, sa.and_(Event.occurred < start, Event.seq > fold.max_seq), True):
        fold.late += 1
        _fold_event(fold, row, start)
    for row in _events(session, sa.and_(Event.occurred >= start, Event.occurred < end), False):
        _fold_event(fold, row, second(row.occurred))
    records = records_of(fold.spans(), start, end)
    _store_intervals(session, fold)
    if records:
        session.connection().execute(sa.insert(RECORDS), records)
    claim.max_seq = fold.max_seq
    claim.events = fold.events
    claim.late_events = fold.late
    claim.records = len(records)
    session.flush()
    return claim, Carry(end, fold.open)


def recompute(session: Session, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The records of an aggregated period ``[start, end)``, derived again from the intervals."""
    table = INTERVALS
    query = sa.select(table).where(
        table.c.start < end, sa.or_(table.c.end.is_(None), table.c.end > start)
    )
    spans = [
        _Span(
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
