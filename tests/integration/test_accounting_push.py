"""A worker's federation turn pushes the site's APEL records to a real accounting repository.

The repository is a ``concord serve`` process of its own (its own SQLite
database, ``accounting_repository`` on) that trusts the sending site through
``concord federation accounting site add``, as its operator would. The
sending site runs in the test process on the test's database (SQLite and
MariaDB): its guests live through real lifecycle jobs on libvirt test-driver
hosts, their events are moved back to whole past hours, and the usage
aggregation turns them into usage records. Then a worker's turn of the
federation schedule (:func:`concord.background.run_federation_turns`, what
the embedded worker and ``concord worker`` run with ``accounting_push_url``
and ``accounting_push_interval`` set) exports the site's APEL cloud records
and pushes them; the repository's summary shows them, with the ledger's
figures. The next turn re-pushes the same guests: they are replaced, not
counted twice.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEYS
from integration.processes import ManagedProcess, ProcessGroup, run_cli
from unit.engine.cloud import Cloud, build_cloud, create, perform

from concord.background import run_federation_turns
from concord.settings import Settings
from engine.db import Database, utcnow
from engine.events.models import Event
from engine.jobs.models import JobState
from engine.lifecycle import Action
from engine.tenancy.passwords import PasswordHasher
from engine.usage.runner import run_aggregation

pytestmark = pytest.mark.integration

#: Hours the sending site's guests have run when the turns are taken.
HOURS = 3
INTERVAL = 600


@dataclass
class Repository:
    group: ProcessGroup
    server: ManagedProcess
    database: Path

    def cli(self, *args: str) -> str:
        return run_cli(self.group.env(), *args)

    def records_of(self, site: str) -> list[tuple[str, int]]:
        """(VMUUID, WallDuration) of every record the repository holds for ``site``."""
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute(
                "SELECT vmuuid, wall_duration FROM accounting_records WHERE site = ?"
                " ORDER BY vmuuid",
                (site,),
            ).fetchall()
        return [(str(vm), int(wall)) for vm, wall in rows]

    def received(self, site: str) -> list[str]:
        """When the repository last took each of ``site``'s records (as stored, by VMUUID)."""
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute(
                "SELECT received FROM accounting_records WHERE site = ? ORDER BY vmuuid", (site,)
            ).fetchall()
        return [str(received) for (received,) in rows]

    def summary(self, site: str) -> list[dict[str, Any]]:
        out = self.cli("federation", "accounting", "summary", "--site", site, "--format", "json")
        rows: list[dict[str, Any]] = json.loads(out)["summary"]
        return rows


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    """``concord serve`` as the federation's accounting repository."""
    directory: Path = tmp_path_factory.mktemp("accounting-repository")
    database = directory / "repository.sqlite"
    settings = {"accounting_repository": "true", "site_name": "repository"}
    group = ProcessGroup(directory, f"sqlite:///{database}", settings=settings)
    try:
        with group.explain_failure():
            server = group.start_server("repository")
            group.wait_healthy(server, timeout=120)
            yield Repository(group, server, database)
    finally:
        assert group.stop_all() == []


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def _live_three_hours(cloud: Cloud) -> tuple[dt.datetime, list[str]]:
    """Two guests started and one of them stopped, their events moved ``HOURS`` hours back.

    Returns the moment the turns are taken (now) and the computes' ids. Both
    guests start at the first whole hour of the window; the second is stopped
    an hour later, so the ledger has a guest of ``HOURS`` hours and one of one.
    """
    computes = []
    for name in ("long", "short"):
        compute_id, job_id = create(cloud, name=name, start=True)
        cloud.run_jobs()
        assert cloud.job(job_id).state is JobState.SUCCESS
        computes.append(compute_id)
    with cloud.database.transaction() as session:
        before_stop = session.scalar(sa.select(sa.func.max(Event.seq)))
    stopped = perform(cloud, computes[1], Action.STOP)
    assert stopped.state is JobState.SUCCESS
    now = utcnow()
    start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=HOURS)
    with cloud.database.transaction() as session:
        for event in session.scalars(sa.select(Event).order_by(Event.seq)):
            # Everything at the start, but what the stop recorded an hour later.
            event.occurred = start + dt.timedelta(hours=1 if event.seq > before_stop else 0)
    report = run_aggregation(cloud.database, settle_seconds=0, now=now)
    assert report.periods, "the aggregation found no period to aggregate"
    return now, computes


def test_a_worker_turn_pushes_the_sites_records_and_the_next_replaces_them(
    cloud: Cloud, database: Database, repository: Repository
) -> None:
    # One trusted site per database back-end: the repository outlives the parameters.
    site = "site-b-" + database.url.split(":", 1)[0].split("+", 1)[0]
    token = repository.cli("federation", "accounting", "site", "add", site).splitlines()[1]
    now, (long_id, short_id) = _live_three_hours(cloud)
    settings = Settings.from_mapping(
        {
            "concord.site_name": site,
            "concord.accounting_push_url": (
                f"{repository.server.url}/federation/accounting/records"
            ),
            "concord.accounting_push_token": token,
            "concord.accounting_push_interval": str(INTERVAL),
        },
        environ={},
    )
    assert repository.summary(site) == []

    done = run_federation_turns(database, settings, TEST_SERVER_KEYS, now)
    assert done == ["accounting: 2 record(s) in 1 message(s)"]
    # The guests' ledger: one ran HOURS hours, the other one until it stopped.
    first = [(long_id, HOURS * 3600), (short_id, 3600)]
    assert repository.records_of(site) == sorted(first)
    (row,) = repository.summary(site)
    assert (row["site"], row["vms"], row["month"]) == (site, 2, f"{now:%Y-%m}"), row
    assert row["wall_duration"] == (HOURS + 1) * 3600
    assert row["cpu_duration"] == (HOURS + 1) * 3600  # one vCPU each

    taken = repository.received(site)

    # Not due again at once (another worker at the same moment takes nothing)...
    assert run_federation_turns(database, settings, TEST_SERVER_KEYS, now) == []
    # ...but a turn later: the same guests again, replaced in the repository.
    later = now + dt.timedelta(seconds=INTERVAL)
    again = run_federation_turns(database, settings, TEST_SERVER_KEYS, later)
    assert again == ["accounting: 2 record(s) in 1 message(s)"]
    retaken = repository.received(site)
    assert all(new > old for new, old in zip(retaken, taken, strict=True)), (taken, retaken)
    assert repository.records_of(site) == sorted(first)
    assert repository.summary(site) == [row]
