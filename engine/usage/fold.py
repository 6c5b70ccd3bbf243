"""Folding a period's events into intervals, in plain Python objects.

The part of the aggregation that touches no database (see
:mod:`engine.usage.aggregate` for the whole): a :class:`Fold` holds what
every resource holds at the moment reached (its open :class:`Span`\\ s) and
the spans closed so far in the period; :func:`fold_event` applies one event
row to it, and :func:`totals` integrates the spans over the period. Rows are
read from the database as plain column tuples and nothing here is an ORM
object: a period folds thousands of events and writes a record per resource
it saw holding anything, so the cost per row is what the aggregation's rate
is made of (bench/RESULTS.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.usage.types import UNCHANGED, Holding, holdings


@dataclass(frozen=True)
class Meta:
    """What a record says of its resource besides the usage: who owns it, where it is."""

    resource_type: str
    resource_name: str
    account_id: str
    project_id: str | None
    domain_id: str | None
    zone_id: str | None


@dataclass(slots=True)
class Span:
    """An interval while the period is folded."""

    resource_id: str
    holding: Holding
    meta: Meta
    start: dt.datetime
    end: dt.datetime | None = None
    stored: bool = False  # the interval has a row already


@dataclass
class Fold:
    """The intervals of one period as its events are applied."""

    open: dict[str, dict[Holding, Span]] = field(default_factory=dict)
    closed: list[Span] = field(default_factory=list)
    events: int = 0
    late: int = 0
    max_seq: int = 0

    def apply(
        self, resource_id: str, held: frozenset[Holding], meta: Meta, at: dt.datetime
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
                current[holding] = Span(resource_id, holding, meta, at)
        if current:
            self.open[resource_id] = current
        else:
            self.open.pop(resource_id, None)

    def spans(self) -> Iterator[Span]:
        """Every interval the period overlaps: those closed in it, then those still open."""
        yield from self.closed
        for held in self.open.values():
            yield from held.values()


def fold_event(fold: Fold, row: Any, at: dt.datetime) -> None:
    """Apply one event row (the columns of ``events``) to ``fold``, at the second ``at``."""
    fold.events += 1
    fold.max_seq = max(fold.max_seq, row.seq)
    payload = row.payload or {}
    held = holdings(row.resource_type, row.type, row.account_id, payload)
    if held is UNCHANGED:
        return
    meta = Meta(
        row.resource_type,
        str(payload.get("name") or "")[:255],
        row.account_id or "",
        row.project_id,
        row.domain_id,
        payload.get("zone_id"),
    )
    fold.apply(row.resource_id, held, meta, at)


#: (usage type, resource, offering) -> [the resource's meta, seconds, unit-seconds].
Totals = dict[tuple[str, str, str], list[Any]]


def totals(spans: Iterable[Span], start: dt.datetime, end: dt.datetime) -> Totals:
    """The spans clipped to ``[start, end)``, summed per usage type, resource and offering."""
    totals: Totals = {}
    for span in spans:
        first = span.start if span.start > start else start
        last = end if span.end is None or span.end > end else span.end
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
    return totals


__all__ = ["Fold", "Meta", "Span", "Totals", "fold_event", "totals"]
