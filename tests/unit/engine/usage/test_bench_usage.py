"""A smoke run of bench/usage.py on a few hundred events: it runs, and says what it measured."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bench.usage import run
from engine.db import Database
from engine.schema import upgrade
from engine.usage.models import UsageInterval, UsageRecord


def test_the_usage_benchmark_runs_small(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'bench.sqlite'}")
    upgrade(database)
    try:
        lines = run(database, events=400, resources=20, hours=3)
        with database.transaction() as session:
            written = sum(
                session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
                for model in (UsageRecord, UsageInterval)
            )
            copied = sum(
                session.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0
                for name in ("floor_usage_records", "floor_usage_intervals")
            )
    finally:
        database.dispose()
    assert lines[0] == "wrote 400 events in " + lines[0].split(" in ")[1]
    assert "400 event(s)" in lines[3] and "4 period(s)" in lines[3]
    # The write floor copied exactly the rows the aggregation wrote.
    assert written > 0 and copied == written
    assert f"{written} rows copied in SQL" in lines[4]
    assert lines[5].startswith("aggregate / group by = ")
    assert lines[6].startswith("best reachable with these rows (group by / write floor) = ")
    # Both per-owner prototypes gave the engine's records summed per owner.
    assert lines[7].startswith("per owner, from events: ")
    assert lines[8].startswith("per owner, from ledger: ")
    for line in lines[7:9]:
        assert "; equal to the engine's records summed per owner)" in line
    assert lines[10].startswith("per owner from events / group by = ")
    assert lines[11].startswith("per owner from ledger / group by = ")
