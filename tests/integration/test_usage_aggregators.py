"""Two ``concord usage aggregate`` processes on one MariaDB, one SIGKILLed mid-run.

The same event log (a few thousand events of guests, volumes and addresses
over two days) is written to two private MariaDB databases. On the first, a
single clean ``concord usage aggregate`` runs. On the second, two aggregator
processes start together; once some periods are committed, one of them is
SIGKILLed (in the middle of a period's transaction, as the periods follow
each other without pause), the other finishes, and one more run picks up
whatever is left. The periods and records of both databases must be
identical: none lost, none written twice, none partial.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from integration.processes import (
    ManagedProcess,
    concord_argv,
    concord_env,
    private_mariadb,
    run_cli,
    wait_until,
)

from engine.db import Database
from engine.events.models import Event
from engine.usage.models import UsagePeriod, UsageRecord

T0 = dt.datetime(2026, 9, 1, 0, 0, tzinfo=dt.UTC)
HOURS = 48
UNTIL = "2026-09-03T00:00:00Z"


def timeline(seed: int = 7) -> list[dict[str, Any]]:
    """Event rows: 60 guests, 30 volumes and 30 addresses changing state for two days."""
    rng = random.Random(seed)
    rows = []
    owners = [(f"acct-{n}", f"proj-{n}", "dom-1") for n in range(5)]
    for n in range(120):
        kind = "compute" if n < 60 else ("volume" if n < 90 else "network_interface")
        account, project, domain = owners[n % 5]
        moment = T0 + dt.timedelta(seconds=rng.randrange(3600))
        alive, running = False, False
        while moment < T0 + dt.timedelta(hours=HOURS):
            facts: dict[str, Any] = {"name": f"r{n}", "zone_id": "z"}
            if not alive:
                etype, state, alive = f"{kind}.created", "creating", True
            elif kind == "compute" and rng.random() < 0.8:
                running = not running
                etype = "compute.started" if running else "compute.stopped"
                state = "running" if running else "stopped"
            elif rng.random() < 0.5 and kind == "volume":
                etype, state = "volume.resized", "available"
            else:
                etype, state, alive, running = f"{kind}.deleted", "deleted", False, False
            facts.update(state=state, host_id="h", offering_id=f"off-{n % 3}")
            facts.update(vcpus=1 + n % 4, memory_mib=512 * (1 + n % 3))
            facts.update(size_gib=1 + rng.randrange(20), ip_address=f"10.0.{n}.1")
            rows.append(
                {
                    "type": etype,
                    "resource_type": kind,
                    "resource_id": f"res-{n:04d}",
                    "account_id": account,
                    "project_id": project,
                    "domain_id": domain,
                    "occurred": moment.replace(microsecond=rng.randrange(10**6)),
                    "payload": facts,
                }
            )
            moment += dt.timedelta(seconds=rng.randrange(30, 1800))
    rows.sort(key=lambda r: r["occurred"])
    return rows


def prepare(url: str) -> Database:
    run_cli(concord_env(url), "db", "upgrade")
    database = Database(url)
    with database.transaction() as session:
        session.execute(sa.insert(Event), timeline())
    return database


def ledger(database: Database) -> tuple[list[Any], list[Any]]:
    with database.transaction() as session:
        periods = [
            (p.start, p.end, p.events)
            for p in session.scalars(sa.select(UsagePeriod).order_by(UsagePeriod.start))
        ]
        records = sorted(
            (
                r.id,
                r.period_start,
                r.usage_type,
                r.resource_id,
                r.offering_id,
                r.account_id,
                r.seconds,
                r.quantity,
            )
            for r in session.scalars(sa.select(UsageRecord))
        )
    return periods, records


def test_a_killed_aggregator_leaves_the_same_records_as_a_clean_run(tmp_path: Path) -> None:
    with (
        private_mariadb("concord_usage_clean") as clean_url,
        private_mariadb("concord_usage_race") as race_url,
    ):
        clean, race = prepare(clean_url), prepare(race_url)
        args = ["usage", "aggregate", "--settle", "0", "--until", UNTIL]
        run_cli(concord_env(clean_url), *args, timeout=300)
        expected = ledger(clean)
        assert len(expected[0]) == HOURS and len(expected[1]) > 1000
        env = concord_env(race_url, tmp_path / "pycache")
        first, second = (
            ManagedProcess(name, concord_argv(*args), env, tmp_path / f"{name}.log").start()
            for name in ("aggregator-1", "aggregator-2")
        )
        try:

            def committed() -> int:
                with race.transaction() as session:
                    count = session.scalar(sa.select(sa.func.count()).select_from(UsagePeriod))
                return int(count or 0)

            wait_until(lambda: committed() >= 6, 120, "six periods", lambda: first.tail())
            assert first.running, first.tail()
            first.kill()
            assert first.returncode == -9
            wait_until(lambda: second.returncode is not None, 300, "the survivor", second.tail)
            assert second.returncode == 0, second.tail()
        finally:
            first.kill()
            second.kill()
        # Whatever the survivor left (it stops when a lock wait times out), one more run does.
        run_cli(concord_env(race_url), *args, timeout=300)
        assert ledger(race) == expected
        clean.dispose()
        race.dispose()
