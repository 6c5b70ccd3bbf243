"""The federation schedule ``concord worker`` runs: image lists synchronised, usage pushed."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from helpers import TEST_SERVER_KEYS

from concord.background import run_federation_turns, start_federation_schedule
from concord.settings import Settings
from engine.db import Database
from engine.federation.models import ImageListSubscription

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _settings(**values: str) -> Settings:
    return Settings.from_mapping({f"concord.{k}": v for k, v in values.items()}, environ={})


def test_due_lists_are_synchronised_and_the_push_runs_once_per_turn(
    database: Database, tenancy: Any, tmp_path: Path
) -> None:
    with database.transaction() as session:
        session.add(
            ImageListSubscription(
                name="gone", url="http://127.0.0.1:9/list", endorser_dn="/CN=x", ca_pem="-"
            )
        )
    settings = _settings(
        image_list_sync_interval="3600",
        accounting_queue=str(tmp_path / "outgoing"),
        accounting_push_interval="600",
        federation_http_timeout="1",
    )
    done = run_federation_turns(database, settings, TEST_SERVER_KEYS, NOW)
    assert done[0].startswith("image list gone: http://127.0.0.1:9/list cannot be read")
    assert done[1:] == ["accounting: 0 record(s) in 0 message(s)"]
    with database.transaction() as session:
        (error,) = session.scalars(sa.select(ImageListSubscription.error)).all()
    assert error is not None and "cannot be read" in error
    # Another worker at the same moment finds nothing due.
    assert run_federation_turns(database, settings, TEST_SERVER_KEYS, NOW) == []
    later = NOW + dt.timedelta(minutes=10)
    assert run_federation_turns(database, settings, TEST_SERVER_KEYS, later) == [
        "accounting: 0 record(s) in 0 message(s)"
    ]
    assert (tmp_path / "outgoing").is_dir()


def test_nothing_configured_runs_no_thread(database: Database) -> None:
    start_federation_schedule(database, _settings(), TEST_SERVER_KEYS)()
    pushing_off = _settings(accounting_queue="/tmp/q", accounting_push_interval="0")
    start_federation_schedule(database, pushing_off, TEST_SERVER_KEYS)()
    assert not [t for t in threading.enumerate() if t.name == "concord-federation"]
