"""Running the aggregation: every period that is over, each in its own transaction.

:func:`run_aggregation` is what ``concord usage aggregate`` and the schedule
inside ``concord worker`` call. Any number of them may run at once on one
database: each period is claimed by inserting its row (see
:mod:`engine.usage.aggregate`), so a period is written once, by whichever
gets there first, and the others move on to the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from engine.db import Database, utcnow
from engine.events.models import Event
from engine.usage.aggregate import Carry, PeriodTaken, aggregate_period
from engine.usage.models import UsagePeriod
from engine.usage.periods import check_granularity, floor, period_end
from engine.usage.types import METERED

log = logging.getLogger("engine.usage")

#: Seconds after a period's end before it is aggregated, so that the
#: transactions that recorded its last events have committed.
DEFAULT_SETTLE_SECONDS = 120


@dataclass
class AggregationReport:
    """What one run did."""

    periods: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    records: int = 0
    events: int = 0
    late_events: int = 0
    taken: int = 0

    def __str__(self) -> str:
        return (
            f"{len(self.periods)} period(s), {self.events} event(s), {self.records} record(s), "
            f"{self.late_events} late event(s), {self.taken} period(s) taken by another aggregator"
        )


def aggregator_name() -> str:
    """``host:pid`` of this process, written on the periods it aggregates."""
    return f"{socket.gethostname()}:{os.getpid()}"


def next_start(database: Database, granularity: str) -> dt.datetime | None:
    """Where the next period starts: the last period's end, or the first event's period.

    ``None`` when nothing was ever aggregated and no metered event exists.
    """
    with database.transaction() as session:
        last = session.scalar(sa.select(sa.func.max(UsagePeriod.end)))
        if last is not None:
            return last  # type: ignore[no-any-return]
        first = session.scalar(
            sa.select(sa.func.min(Event.occurred)).where(Event.resource_type.in_(sorted(METERED)))
        )
    if first is None:
        return None
    return floor(first, granularity)


def run_aggregation(
    database: Database,
    *,
    granularity: str = "hour",
    settle_seconds: int = DEFAULT_SETTLE_SECONDS,
    now: dt.datetime | None = None,
    until: dt.datetime | None = None,
    max_periods: int | None = None,
    aggregator: str | None = None,
    stopping: Callable[[], bool] | None = None,
) -> AggregationReport:
    """Aggregate every period that ended at least ``settle_seconds`` before ``now``.

    :param granularity: ``hour`` or ``day``: where new periods end.
    :param until: aggregate no period ending after this time either.
    :param max_periods: stop after this many periods (None: all).
    :param stopping: asked before each period; ``True`` ends the run there
        (a worker shutting down).
    """
    check_granularity(granularity)
    now = now or utcnow()
    limit = now - dt.timedelta(seconds=settle_seconds)
    if until is not None:
        limit = min(limit, until)
    name = aggregator if aggregator is not None else aggregator_name()
    report = AggregationReport()
    carry: Carry | None = None
    while max_periods is None or len(report.periods) < max_periods:
        if stopping is not None and stopping():
            break
        start = next_start(database, granularity)
        if start is None:
            break
        end = period_end(start, granularity)
        if end > limit:
            break
        try:
            with database.transaction() as session:
                period, after = aggregate_period(
                    session, start, end, granularity=granularity, aggregator=name, carry=carry
                )
                counts = (period.records, period.events, period.late_events)
            carry = after  # only once committed
        except PeriodTaken:
            report.taken += 1
            carry = None
            continue
        except sa.exc.OperationalError as exc:
            carry = None
            # A lock wait timed out behind another aggregator: try later.
            log.warning("usage aggregation of %s waited too long: %s", start, exc.orig)
            break
        report.periods.append((start, end))
        report.records += counts[0]
        report.events += counts[1]
        report.late_events += counts[2]
    return report


__all__ = ["DEFAULT_SETTLE_SECONDS", "AggregationReport", "next_start", "run_aggregation"]
