"""What the usage functional tests share: a timeline worth checking, and the CLI's figures.

Both renderings' tests (CIMI Meters, OCCI meters) compare what a tenant reads
with what ``concord usage report`` prints for its account, over the same
aggregated periods.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from concord.cli.main import main
from engine.db import Database
from engine.events.models import Event
from engine.usage.runner import run_aggregation

#: When the retimed events start: 09:00:07, then every 20 minutes.
T0 = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)
RANGE = ["--from", "2026-10-05T00:00:00Z", "--to", "2026-10-06T00:00:00Z"]


def retime_and_aggregate(database: Database) -> None:
    """Place every event 20 minutes after the previous one (from T0 + 7 s), then aggregate.

    The requests' events all happen within a second; spread out, the usage
    has figures worth checking (fractions of hours across period boundaries).
    """
    with database.transaction() as session:
        events = session.scalars(sa.select(Event).order_by(Event.seq)).all()
        for index, event in enumerate(events):
            event.occurred = T0 + dt.timedelta(minutes=20 * index, seconds=7)
    run_aggregation(database, settle_seconds=0, now=T0 + dt.timedelta(hours=4))


def cli_report(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    account: str = "dev",
    domain: str = "ROOT/acme",
) -> list[dict[str, object]]:
    """What ``concord usage report --account <account> --format json`` prints."""
    monkeypatch.setenv("CONCORD_DATABASE_URL", database.url)
    capsys.readouterr()
    args = ["usage", "report", "--account", account, "--account-domain", domain]
    assert main([*args, *RANGE, "--format", "json"]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows
