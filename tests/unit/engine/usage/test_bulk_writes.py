"""The aggregation's bulk writes store what SQLAlchemy would have stored.

:mod:`engine.usage.bulk` bypasses SQLAlchemy's per-row parameter handling:
its record ids must be the very UUIDv5 of :func:`engine.usage.aggregate.record_id`,
and its timestamps must be stored in the form SQLAlchemy binds in queries
(on SQLite a timestamp is text, compared as text: ``00:00:00`` and
``00:00:00.000000`` are different values there).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from engine.db import Database
from engine.events.service import DomainEvent, emit
from engine.scope import Owner
from engine.usage.aggregate import record_id
from engine.usage.bulk import period_key, record_ids
from engine.usage.models import UsageInterval, UsagePeriod, UsageRecord
from engine.usage.runner import run_aggregation

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
OWNER = Owner("account-1", "project-1", "domain-1")


@given(
    start=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    ),
    usage_type=st.text(max_size=20),
    resource_id=st.text(max_size=40),
    offering=st.text(max_size=40),
)
def test_bulk_record_ids_are_the_uuid5_of_record_id(
    start: dt.datetime, usage_type: str, resource_id: str, offering: str
) -> None:
    made = record_ids(period_key(start))(usage_type, resource_id, offering)
    assert made == record_id(start, usage_type, resource_id, offering)


def _emit(database: Database, when: dt.datetime, etype: str, **facts: Any) -> None:
    kind = etype.split(".")[0]
    with database.transaction() as session:
        row = emit(session, DomainEvent(etype, kind, f"{kind}-1", OWNER, facts))
        row.occurred = when


def test_stored_timestamps_match_the_ones_queries_bind(database: Database) -> None:
    # Whole-second moments (no microseconds): the case where a DBAPI's own
    # datetime adapter and SQLAlchemy's SQLite form differ.
    _emit(database, T0 + dt.timedelta(minutes=5), "volume.created", state="available", size_gib=3)
    _emit(database, T0 + dt.timedelta(minutes=90), "volume.resized", state="available", size_gib=5)
    run_aggregation(database, settle_seconds=0, now=T0 + dt.timedelta(hours=3))
    with database.transaction() as session:
        periods = session.scalars(sa.select(UsagePeriod.start).order_by(UsagePeriod.start)).all()
        assert len(periods) == 3
        for start in periods:
            found = session.scalar(
                sa.select(sa.func.count())
                .select_from(UsageRecord)
                .where(
                    UsageRecord.period_start == start,
                    UsageRecord.period_end == start + dt.timedelta(hours=1),
                )
            )
            assert found == 1
        # The first interval, closed by the resize in a later period (an UPDATE).
        closed = session.scalar(
            sa.select(sa.func.count())
            .select_from(UsageInterval)
            .where(
                UsageInterval.start == T0 + dt.timedelta(minutes=5),
                UsageInterval.end == T0 + dt.timedelta(minutes=90),
            )
        )
        assert closed == 1
        still_open = session.scalar(
            sa.select(sa.func.count())
            .select_from(UsageInterval)
            .where(
                UsageInterval.start == T0 + dt.timedelta(minutes=90),
                UsageInterval.end.is_(None),
            )
        )
        assert still_open == 1
