"""Usage aggregation rate over 1,000,000 events, against a plain GROUP BY in the same run.

The script writes an event log (guests started and stopped, volumes
resized, addresses assigned and released; ``--resources`` resources owned by
50 accounts, their events spread over ``--hours`` hours) to an empty
database, then times:

* **aggregate**: :func:`engine.usage.runner.run_aggregation` over every
  hour: reading the events, folding them into intervals, writing the
  intervals, the records and the period rows, one transaction per hour;
* **group by**: one plain ``SELECT ... GROUP BY`` over the same rows,
  counting the events per hour, resource and type (what any report of the
  raw log costs at the least: one pass over the rows, nothing written); the
  fastest of three runs before the aggregations and, on SQLite, three after (the
  machine is shared: a quiet moment should favour neither side);
* **write floor**: copying the rows the aggregation wrote (its records and
  intervals) into empty tables of the same columns and indexes with one
  ``INSERT ... SELECT`` each: what writing those rows costs the database
  alone, with no Python and no parameter passing. No aggregator that stores
  the same rows can beat it, so ``group by / write floor`` is the best ratio
  reachable with this record model (bench/RESULTS.md);
* **per owner** (SQLite only): the two prototypes of
  :mod:`bench.usage_owner_sql`, records per period, owner (account and
  project), usage type and offering computed by the database, from the
  events and from a ledger of changes; each the fastest of three, and each
  checked against the engine's records summed per owner (the line says
  "equal to" or "DIFFERENT FROM").

All rates are events per second; the ratio ``aggregate / group by`` is the
figure to quote for the engine (the issue's goal: at least one half), the
``per owner ... / group by`` ones for what a per-owner model would reach.

Usage::

    PYTHONPATH=. .venv/bin/python bench/usage.py [--events 1000000]
        [--resources 20000] [--hours 168] [--database URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import engine.tables  # noqa: F401  (every table on the metadata)
from bench.usage_owner_sql import engine_sums_per_owner, per_owner_models
from engine.db import Database
from engine.events.models import Event
from engine.schema import upgrade
from engine.usage.aggregate import INTERVALS, RECORDS
from engine.usage.runner import run_aggregation

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
BATCH = 20_000


def write_events(database: Database, events: int, resources: int, hours: int) -> None:
    """``events`` event rows over ``resources`` resources, time-ordered."""
    rng = random.Random(7)
    span = hours * 3600
    kinds = ("compute", "compute", "volume", "network_interface")
    rows: list[dict[str, Any]] = []
    state: dict[int, int] = {}
    moments = sorted(rng.randrange(span * 1000) for _ in range(events))
    for index, millis in enumerate(moments):
        n = rng.randrange(resources)
        kind = kinds[n % len(kinds)]
        step = state.get(n, 0)
        state[n] = step + 1
        facts: dict[str, Any] = {"name": f"r{n}", "zone_id": "z", "host_id": "h"}
        if kind == "compute":
            running = step % 2 == 1
            etype = "compute.started" if running else "compute.stopped"
            if step == 0:
                etype = "compute.created"
            facts.update(
                state="running" if running else "stopped",
                offering_id=f"off-{n % 5}",
                vcpus=1 + n % 4,
                memory_mib=512 * (1 + n % 4),
            )
        elif kind == "volume":
            etype = "volume.created" if step == 0 else "volume.resized"
            facts.update(state="available", size_gib=1 + step % 50, offering_id="disk")
        else:
            held = step % 2 == 0
            etype = "network_interface.created" if held else "network_interface.deleted"
            facts.update(state="attached" if held else "deleted", ip_address=f"10.{n % 250}.0.1")
        rows.append(
            {
                "type": etype,
                "resource_type": kind,
                "resource_id": f"res-{n:06d}",
                "account_id": f"acct-{n % 50}",
                "project_id": None,
                "domain_id": "dom",
                "occurred": T0 + dt.timedelta(milliseconds=millis),
                "payload": facts,
            }
        )
        if len(rows) == BATCH or index == events - 1:
            with database.transaction() as session:
                session.execute(sa.insert(Event), rows)
            rows = []


def group_by(database: Database) -> int:
    """The plain GROUP BY: events per hour, resource and type; returns the groups."""
    if database.dialect == "sqlite":
        hour = sa.func.strftime("%Y-%m-%d %H", Event.occurred)
    else:
        hour = sa.func.date_format(Event.occurred, "%Y-%m-%d %H")
    query = sa.select(hour, Event.resource_id, Event.type, sa.func.count()).group_by(
        hour, Event.resource_id, Event.type
    )
    with database.transaction() as session:
        return len(session.execute(query).all())


def write_floor(database: Database) -> tuple[int, float]:
    """Copy the records and intervals into empty look-alike tables in SQL; (rows, seconds)."""
    meta = sa.MetaData()
    pairs = []
    for table in (RECORDS, INTERVALS):
        copy = sa.Table(f"floor_{table.name}", meta, *[c._copy() for c in table.columns])
        for index in table.indexes:
            # Index names are global in SQLite: the copies' get a prefix.
            sa.Index(f"floor_{index.name}", *[copy.c[c.name] for c in index.columns])
        pairs.append((table, copy))
    meta.create_all(database.engine)
    rows = 0
    started = time.perf_counter()
    with database.transaction() as session:
        for table, copy in pairs:
            names = [c.name for c in table.columns]
            statement = sa.insert(copy).from_select(names, sa.select(*table.columns))
            rows += session.execute(statement).rowcount
    return rows, time.perf_counter() - started


def run(database: Database, events: int, resources: int, hours: int) -> list[str]:
    """Write the events, time the three measures; the lines to print."""
    started = time.perf_counter()
    write_events(database, events, resources, hours)
    wrote = time.perf_counter() - started
    baseline = float("inf")
    for _ in range(3):  # the fastest of three: the machine is shared
        started = time.perf_counter()
        groups = group_by(database)
        baseline = min(baseline, time.perf_counter() - started)
    started = time.perf_counter()
    report = run_aggregation(
        database,
        settle_seconds=0,
        now=T0 + dt.timedelta(hours=hours + 1),
    )
    aggregate = time.perf_counter() - started
    rows, floor = write_floor(database)
    owner: list[str] = []
    if database.dialect == "sqlite":
        timings, sums = per_owner_models(database, T0, T0 + dt.timedelta(hours=hours + 1))
        engine_sums = engine_sums_per_owner(database)
        for name, label, what in (
            ("events", "per owner, from events", "open rows"),
            ("ledger", "per owner, from ledger", "ledger rows"),
        ):
            records, written, seconds = timings[name]
            same = "equal to" if sums[name] == engine_sums else "DIFFERENT FROM"
            owner.append(
                f"{label}: {events / seconds:9.0f} events/s ({seconds:.2f} s, {records} records,"
                f" {written} {what}; {same} the engine's records summed per owner)"
            )
        # The GROUP BY again, after the models: the fastest of all six, so
        # that a quiet moment on the shared machine favours neither side.
        for _ in range(3):
            started = time.perf_counter()
            group_by(database)
            baseline = min(baseline, time.perf_counter() - started)
        built = timings["build ledger"]
        owner += [
            f"(building the ledger in bulk, outside the timing: {built[2]:.2f} s, {built[1]} rows)",
            f"per owner from events / group by = {baseline / timings['events'][2]:.3f}",
            f"per owner from ledger / group by = {baseline / timings['ledger'][2]:.3f}",
        ]
    load = os.getloadavg()[0]
    return [
        f"wrote {events} events in {wrote:.1f} s",
        f"load average {load:.1f}; {resources} resources over {hours} hours",
        f"group by:    {events / baseline:12.0f} events/s ({baseline:.2f} s, {groups} groups)",
        f"aggregate:   {events / aggregate:12.0f} events/s ({aggregate:.2f} s, {report})",
        f"write floor: {events / floor:12.0f} events/s ({floor:.2f} s, {rows} rows copied in SQL)",
        f"aggregate / group by = {baseline / aggregate:.3f}",
        f"best reachable with these rows (group by / write floor) = {baseline / floor:.3f}",
        *owner,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--resources", type=int, default=20_000)
    parser.add_argument("--hours", type=int, default=168)
    parser.add_argument("--database", help="an empty database URL (default: SQLite in /tmp)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        database = Database(url)
        upgrade(database)
        try:
            for line in run(database, args.events, args.resources, args.hours):
                print(line, flush=True)
        finally:
            database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
