"""The federation schedule's turns: each claimed by one worker of many, by a conditional UPDATE."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from engine.db import Database
from engine.federation.models import ImageListSubscription, ScheduledTask
from engine.federation.schedule import ACCOUNTING_PUSH, claim_due_lists, claim_task

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
HOUR = 3600.0


def _subscribe(database: Database, *names: str) -> None:
    with database.transaction() as session:
        for name in names:
            session.add(
                ImageListSubscription(
                    name=name, url=f"http://127.0.0.1:9/{name}", endorser_dn="/CN=x", ca_pem="-"
                )
            )


def test_a_list_is_claimed_once_per_interval(database: Database) -> None:
    _subscribe(database, "beta", "alpha")
    with database.transaction() as session:
        assert claim_due_lists(session, NOW, HOUR) == ["alpha", "beta"]  # new: due at once
    with database.transaction() as session:
        assert claim_due_lists(session, NOW + dt.timedelta(minutes=59), HOUR) == []
    with database.transaction() as session:
        assert claim_due_lists(session, NOW + dt.timedelta(hours=1), HOUR) == ["alpha", "beta"]
        due = session.scalars(sa.select(ImageListSubscription.sync_due)).all()
    assert set(due) == {NOW + dt.timedelta(hours=2)}


def test_a_task_is_claimed_once_per_interval(database: Database) -> None:
    with database.transaction() as session:
        assert claim_task(session, ACCOUNTING_PUSH, NOW, HOUR)  # never run: due
    with database.transaction() as session:
        assert not claim_task(session, ACCOUNTING_PUSH, NOW + dt.timedelta(minutes=30), HOUR)
    with database.transaction() as session:
        assert claim_task(session, ACCOUNTING_PUSH, NOW + dt.timedelta(hours=1), HOUR)
        (task,) = session.scalars(sa.select(ScheduledTask)).all()
    assert (task.name, task.due) == (ACCOUNTING_PUSH, NOW + dt.timedelta(hours=2))


def test_of_workers_claiming_together_one_takes_each_turn(database: Database) -> None:
    _subscribe(database, "alpha", "beta", "gamma")
    workers = 4
    barrier = threading.Barrier(workers)
    lists: list[list[str]] = []
    tasks: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        with database.transaction() as session:
            claimed = claim_due_lists(session, NOW, HOUR)
        with database.transaction() as session:
            took = claim_task(session, ACCOUNTING_PUSH, NOW, HOUR)
        with lock:
            lists.append(claimed)
            tasks.append(took)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(name for claimed in lists for name in claimed) == ["alpha", "beta", "gamma"]
    assert sorted(tasks) == [False, False, False, True]
