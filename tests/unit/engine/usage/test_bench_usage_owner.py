"""The per-owner prototypes of bench/usage_owner_sql.py on timelines the bench does not write.

Their figures are only worth quoting if they are the engine's: late-free
timelines with failed actions, deletions, resizes, offering changes,
addresses of both families and images, aggregated by the engine, then by both
prototypes, must give the same sums per owner, period, type and offering.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.usage_owner_sql import engine_sums_per_owner, per_owner_models
from engine.db import Database
from engine.events.models import Event
from engine.schema import upgrade
from engine.usage.runner import run_aggregation

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _facts(kind: str, rng: random.Random, n: int) -> tuple[str, dict[str, Any]]:
    facts: dict[str, Any] = {"name": f"r{n}", "zone_id": "z"}
    if kind == "compute":
        state = rng.choice(["running", "stopped", "paused", "error", "deleted", "starting"])
        facts.update(
            state=state,
            host_id=rng.choice(["h", "", None]),
            offering_id=rng.choice(["small", "large"]),
            vcpus=rng.choice([1, 2, 0]),
            memory_mib=rng.choice([512, 2048]),
        )
        etype = rng.choice(["compute.started", "compute.updated", "compute.create.failed"])
    elif kind == "volume":
        facts.update(state=rng.choice(["available", "error", "in-use"]), size_gib=rng.randrange(4))
        facts["offering_id"] = rng.choice(["disk", "fast"])
        etype = rng.choice(["volume.resized", "volume.deleted", "volume.updated"])
    elif kind == "network":
        facts.update(state=rng.choice(["active", "error"]), offering_id="net")
        etype = rng.choice(["network.created", "network.deleted"])
    elif kind == "network_interface":
        facts.update(state="attached", ip_address=rng.choice(["10.0.0.1", "fd00::1", ""]))
        etype = rng.choice(["network_interface.created", "network_interface.deleted"])
    else:
        facts.update(
            state=rng.choice(["active", "error"]),
            size_bytes=rng.choice([0, 1, 5 * 1024 * 1024 + 3]),
            source_compute_id=rng.choice(["", "c-1", None]),
        )
        etype = rng.choice(["image.created", "image.deleted"])
    return etype, facts


def test_the_prototypes_give_the_engines_figures_per_owner(tmp_path: Path) -> None:
    rng = random.Random(13)
    kinds = ("compute", "volume", "network", "network_interface", "image")
    rows = []
    for _ in range(600):
        n = rng.randrange(40)
        etype, facts = _facts(kinds[n % len(kinds)], rng, n)
        rows.append(
            {
                "type": etype,
                "resource_type": kinds[n % len(kinds)],
                "resource_id": f"res-{n:03d}",
                "account_id": None if n == 7 else f"acct-{n % 4}",
                "project_id": f"proj-{n % 3}" if n % 2 else None,
                "domain_id": "dom",
                # Several events in one second, and on period boundaries.
                "occurred": T0
                + dt.timedelta(seconds=rng.choice([rng.randrange(4 * 3600), 3600, 7200]))
                + dt.timedelta(microseconds=rng.randrange(1_000_000)),
                "payload": facts,
            }
        )
    database = Database(f"sqlite:///{tmp_path / 'owner.sqlite'}")
    upgrade(database)
    try:
        with database.transaction() as session:
            session.execute(sa.insert(Event), rows)
        run_aggregation(database, settle_seconds=0, now=T0 + dt.timedelta(hours=5))
        engine = engine_sums_per_owner(database)
        timings, sums = per_owner_models(database, T0, T0 + dt.timedelta(hours=5), repeats=1)
    finally:
        database.dispose()
    assert engine and timings["events"][0] == len(engine)
    assert sums["events"] == engine
    assert sums["ledger"] == engine
