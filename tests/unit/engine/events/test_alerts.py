"""Alerts: one active row per condition, an event and a log line per transition."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa

from engine.db import Database
from engine.events.alerts import (
    AlertSubject,
    active_alerts,
    active_counts,
    alert_history,
    clear_alert,
    raise_alert,
)
from engine.events.models import Alert, Event

CLUSTER = AlertSubject("cluster", "c1")
KEY = "capacity:cluster:c1:cpu"


def _raise(database: Database, message: str = "cpu at 91% of 90%", key: str = KEY) -> bool:
    with database.transaction() as session:
        return raise_alert(session, key=key, source="capacity", subject=CLUSTER, message=message)


def _events(database: Database) -> list[tuple[str, str]]:
    with database.transaction() as session:
        return [
            (e.type, e.payload["key"])
            for e in session.scalars(sa.select(Event).order_by(Event.seq))
        ]


def test_raising_twice_is_one_alert_with_the_latest_message(database: Database) -> None:
    assert _raise(database, "cpu at 91%") is True
    assert _raise(database, "cpu at 95%") is False
    with database.transaction() as session:
        [alert] = active_alerts(session)
        assert (alert.key, alert.message, alert.source) == (KEY, "cpu at 95%", "capacity")
        assert (alert.subject_type, alert.subject_id) == ("cluster", "c1")
    assert _events(database) == [("alert.raised", KEY)]


def test_clearing_ends_the_episode_and_a_new_raise_starts_another(database: Database) -> None:
    _raise(database)
    with database.transaction() as session:
        assert clear_alert(session, key=KEY, message="cpu at 60%") is True
        assert clear_alert(session, key=KEY) is False
        assert active_alerts(session) == []
    assert _raise(database) is True
    with database.transaction() as session:
        history = alert_history(session)
        assert [a.cleared is None for a in history] == [True, False]
    assert _events(database) == [
        ("alert.raised", KEY),
        ("alert.cleared", KEY),
        ("alert.raised", KEY),
    ]


def test_counts_by_source_and_severity_and_filter_by_source(database: Database) -> None:
    _raise(database)
    _raise(database, key="capacity:cluster:c1:memory")
    with database.transaction() as session:
        raise_alert(
            session,
            key="ha:zone:z1:storm",
            source="ha",
            subject=AlertSubject("zone", "z1"),
            message="3 of 4 hosts failed within 60 s",
            severity="critical",
        )
        assert active_counts(session) == {("capacity", "warning"): 2, ("ha", "critical"): 1}
        assert [a.key for a in active_alerts(session, source="ha")] == ["ha:zone:z1:storm"]


def test_a_rolled_back_raise_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        raise_alert(session, key=KEY, source="capacity", subject=CLUSTER, message="m")
        raise RuntimeError("the caller's work failed")
    with database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_transitions_are_logged_at_warning_then_info(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="engine.events.alerts")
    _raise(database)
    _raise(database)
    with database.transaction() as session:
        clear_alert(session, key=KEY, message="fell back")
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert levels == [
        (logging.WARNING, f"alert raised [capacity] {KEY}: cpu at 91% of 90%"),
        (logging.INFO, f"alert cleared [capacity] {KEY}: fell back"),
    ]


def test_an_unknown_severity_is_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="severity"), database.transaction() as session:
        raise_alert(session, key=KEY, source="s", subject=CLUSTER, message="m", severity="doom")


def test_processes_raising_the_same_condition_at_once_make_one_alert(database: Database) -> None:
    """Several watchers (two servers' monitors) see the condition in the same instant."""
    barrier = threading.Barrier(4)
    outcomes: list[bool] = []

    def watcher() -> None:
        barrier.wait()
        outcomes.append(_raise(database))

    threads = [threading.Thread(target=watcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.transaction() as session:
        assert len(active_alerts(session)) == 1
    assert sorted(outcomes) == [False, False, False, True]
    assert [t for t, _ in _events(database)] == ["alert.raised"]
