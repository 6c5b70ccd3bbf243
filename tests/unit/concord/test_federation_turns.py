"""The federation schedule ``concord worker`` runs: image lists, usage pushed, members probed."""

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
from engine.federation.models import EndpointCheck, FederationMember, ImageListSubscription
from engine.federation.registry import RegistryService

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
OCCI = "eu.egi.cloud.vm-management.occi"
CIMI = "org.dmtf.cimi"


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


def test_of_four_workers_one_takes_the_monitor_turn(database: Database, tenancy: Any) -> None:
    # A member whose server is stopped (nothing listens on port 9): its last
    # document still lists its endpoints, which the turn finds critical.
    document = {
        "CloudComputingService": [{"ID": "s", "Name": "gone"}],
        "CloudComputingEndpoint": [
            {"ID": "o", "InterfaceName": OCCI, "URL": "http://127.0.0.1:9/"},
            {"ID": "c", "InterfaceName": CIMI, "URL": "http://127.0.0.1:9/cimi/cloudEntryPoint"},
        ],
    }
    with database.transaction() as session:
        registry = RegistryService(session, TEST_SERVER_KEYS)
        registry.add_member(tenancy.root, "gone", "http://127.0.0.1:9/federation/glue")
        registry.record("gone", document)
    settings = _settings(federation_monitor_interval="600", federation_http_timeout="1")
    workers = 4
    barrier = threading.Barrier(workers)
    done: list[list[str]] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        lines = run_federation_turns(database, settings, TEST_SERVER_KEYS, NOW)
        with lock:
            done.append(lines)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done, key=len) == [
        [],
        [],
        [],
        [f"monitor gone {OCCI}: critical", f"monitor gone {CIMI}: critical"],
    ]
    with database.transaction() as session:
        checks = session.execute(sa.select(EndpointCheck.health, EndpointCheck.reason)).all()
        member = session.scalars(sa.select(FederationMember)).one()
        assert member.error is not None and "cannot be read" in member.error
    assert len(checks) == 2
    assert all(h == "critical" and r.startswith("the endpoint does not answer") for h, r in checks)
    # The next turn is due an interval later, not before.
    assert run_federation_turns(database, settings, TEST_SERVER_KEYS, NOW) == []
    soon = NOW + dt.timedelta(seconds=599)
    assert run_federation_turns(database, settings, TEST_SERVER_KEYS, soon) == []
    later = NOW + dt.timedelta(seconds=600)
    assert len(run_federation_turns(database, settings, TEST_SERVER_KEYS, later)) == 2


def test_the_monitor_alone_starts_the_schedule(database: Database) -> None:
    stop = start_federation_schedule(
        database, _settings(federation_monitor_interval="3600"), TEST_SERVER_KEYS
    )
    try:
        assert [t for t in threading.enumerate() if t.name == "concord-federation"]
    finally:
        stop()
