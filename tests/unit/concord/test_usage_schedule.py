"""The usage schedule that ``concord worker`` (and the embedded worker) runs."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from concord.background import start_usage_schedule
from concord.settings import Settings
from engine.db import Database, utcnow
from engine.events.service import DomainEvent, emit
from engine.scope import Owner
from engine.usage.models import UsagePeriod, UsageRecord


def test_the_schedule_aggregates_the_periods_that_are_over(database: Database) -> None:
    with database.transaction() as session:
        row = emit(
            session,
            DomainEvent("network.created", "network", "n1", Owner("a", None, "d"), {}),
        )
        # Half past the hour before last: two periods are over.
        last_hour = utcnow().replace(minute=0, second=0, microsecond=0)
        row.occurred = last_hour - dt.timedelta(minutes=90)
    settings = Settings.from_mapping(
        {"concord.usage_interval": "1", "concord.usage_settle_seconds": "0"}, environ={}
    )
    stop = start_usage_schedule(database, settings)
    try:
        done = threading.Event()
        for _ in range(300):  # at most 30 s: the first run starts at once
            with database.transaction() as session:
                if session.scalar(sa.select(sa.func.count()).select_from(UsagePeriod)):
                    done.set()
                    break
            done.wait(0.1)
        assert done.is_set()
    finally:
        stop()
    with database.transaction() as session:
        first = session.scalars(sa.select(UsageRecord).order_by(UsageRecord.period_start)).first()
    assert first is not None and first.seconds == 1800


def test_an_interval_of_zero_turns_the_schedule_off(database: Database) -> None:
    settings = Settings.from_mapping({"concord.usage_interval": "0"}, environ={})
    start_usage_schedule(database, settings)()
    assert not [t for t in threading.enumerate() if t.name == "concord-usage"]
