"""Aggregation on chosen timelines: sums, late events, claims, settle time, re-runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from engine.db import Database
from engine.events.service import DomainEvent, emit
from engine.scope import Owner
from engine.usage.aggregate import PeriodTaken, aggregate_period, recompute, record_id
from engine.usage.models import UsagePeriod, UsageRecord
from engine.usage.periods import floor, period_end
from engine.usage.runner import run_aggregation

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
OWNER = Owner("account-1", "project-1", "domain-1")


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def record(database: Database, when: dt.datetime, etype: str, **facts: Any) -> None:
    kind = etype.split(".")[0]
    payload = {"host_id": "h", "vcpus": 2, "memory_mib": 1024, "offering_id": "o", **facts}
    with database.transaction() as session:
        row = emit(session, DomainEvent(etype, kind, f"{kind}-1", OWNER, payload))
        row.occurred = when


def records(database: Database) -> dict[tuple[dt.datetime, str], tuple[int, int]]:
    with database.transaction() as session:
        return {
            (r.period_start, r.usage_type): (r.seconds, r.quantity)
            for r in session.scalars(sa.select(UsageRecord))
        }


def test_a_guest_started_twice_in_an_hour_gets_one_record_of_the_sum(database: Database) -> None:
    record(database, at(0), "compute.created", state="creating")
    record(database, at(10), "compute.started", state="running")
    record(database, at(20), "compute.stopped", state="stopped")
    record(database, at(50), "compute.started", state="running")
    record(database, at(70), "compute.deleted", state="deleted")
    report = run_aggregation(database, settle_seconds=0, now=at(120))
    assert report.periods == [(at(0), at(60)), (at(60), at(120))]
    found = records(database)
    assert found[(at(0), "running_vm")] == (20 * 60, 20 * 60)
    assert found[(at(0), "cpu")] == (20 * 60, 2 * 20 * 60)
    assert found[(at(0), "memory")] == (20 * 60, 1024 * 20 * 60)
    assert found[(at(0), "allocated_vm")] == (3600, 3600)
    assert found[(at(60), "running_vm")] == (600, 600)
    assert found[(at(60), "allocated_vm")] == (600, 600)
    assert len(found) == 8


def test_periods_wait_for_the_settle_time_and_never_run_twice(database: Database) -> None:
    record(database, at(5), "volume.created", state="creating", size_gib=3)
    assert run_aggregation(database, settle_seconds=120, now=at(61)).periods == []
    assert run_aggregation(database, settle_seconds=120, now=at(62)).periods == [(at(0), at(60))]
    assert run_aggregation(database, settle_seconds=120, now=at(62)).periods == []
    assert records(database) == {(at(0), "volume"): (55 * 60, 3 * 55 * 60)}


def test_a_second_aggregator_cannot_write_a_claimed_period(database: Database) -> None:
    record(database, at(5), "volume.created", state="creating", size_gib=1)
    with database.transaction() as session:
        aggregate_period(session, at(0), at(60), granularity="hour")
    with pytest.raises(PeriodTaken), database.transaction() as session:
        aggregate_period(session, at(0), at(60), granularity="hour")
    assert len(records(database)) == 1


def test_a_crash_mid_period_leaves_nothing(database: Database) -> None:
    record(database, at(5), "volume.created", state="creating", size_gib=1)
    with pytest.raises(RuntimeError), database.transaction() as session:
        aggregate_period(session, at(0), at(60), granularity="hour")
        raise RuntimeError("killed")
    with database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(UsagePeriod)) == 0
    assert records(database) == {}
    run_aggregation(database, settle_seconds=0, now=at(60))
    assert records(database) == {(at(0), "volume"): (55 * 60, 55 * 60)}


def test_a_late_event_is_applied_at_the_next_period_start(database: Database) -> None:
    record(database, at(5), "volume.created", state="creating", size_gib=1)
    run_aggregation(database, settle_seconds=0, now=at(60))
    # Committed after its period was aggregated (a transaction longer than the
    # settle time): not lost, counted from the next period's start.
    record(database, at(30), "volume.resized", state="available", size_gib=4)
    report = run_aggregation(database, settle_seconds=0, now=at(120))
    assert report.late_events == 1
    found = records(database)
    assert found[(at(0), "volume")] == (55 * 60, 55 * 60)
    assert found[(at(60), "volume")] == (3600, 4 * 3600)


def test_records_have_stable_ids_and_recompute_identically(database: Database) -> None:
    record(database, at(5), "compute.created", state="running")
    run_aggregation(database, settle_seconds=0, now=at(180))
    with database.transaction() as session:
        stored = sorted(
            (r.id, r.period_start, r.usage_type, r.seconds, r.quantity)
            for r in session.scalars(sa.select(UsageRecord))
        )
        again = sorted(
            (r["id"], r["period_start"], r["usage_type"], r["seconds"], r["quantity"])
            for start in (at(0), at(60), at(120))
            for r in recompute(session, start, start + dt.timedelta(hours=1))
        )
    assert stored == again
    assert stored[0][0] == record_id(stored[0][1], stored[0][2], "compute-1", "o")


def test_daily_periods_follow_hourly_ones_without_overlap(database: Database) -> None:
    record(database, at(5), "network.created", state="creating")
    run_aggregation(database, settle_seconds=0, now=at(60))
    day_end = period_end(at(60), "day")
    report = run_aggregation(database, granularity="day", settle_seconds=0, now=day_end)
    assert report.periods == [(at(60), day_end)]
    assert floor(at(60), "day") + dt.timedelta(days=1) == day_end
    found = records(database)
    assert found[(at(60), "network")][0] == int((day_end - at(60)).total_seconds())


def test_public_images_and_hosts_are_not_metered(database: Database) -> None:
    with database.transaction() as session:
        row = emit(
            session,
            DomainEvent(
                "image.created", "image", "i", Owner(None, None, None), {"size_bytes": 2**30}
            ),
        )
        row.occurred = at(1)
        row = emit(session, DomainEvent("host.disconnected", "host", "h", Owner(None, None, None)))
        row.occurred = at(2)
    run_aggregation(database, settle_seconds=0, now=at(60))
    assert records(database) == {}
