"""The database plumbing: timestamps, and transactions that really roll back."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from engine.db import Database, UTCDateTime
from engine.scope import Owner
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.quota_models import ResourceCount
from engine.tenancy.quotas import QuotaService


def test_a_savepoint_first_in_a_transaction_rolls_back_with_it(database: Database, tenancy) -> None:
    # On pysqlite a SAVEPOINT sent before any other write used to start (and
    # RELEASE to commit) the transaction itself, so a quota charge survived
    # the caller's rollback.
    owner = Owner(tenancy.ids["dev"], None, tenancy.ids["acme"])
    key = (LimitOwner.ACCOUNT, tenancy.ids["dev"], ResourceType.INSTANCES)
    with pytest.raises(RuntimeError), database.transaction() as session:
        QuotaService(session).charge(owner, {ResourceType.INSTANCES: 1})
        raise RuntimeError("the caller fails after charging")
    with database.transaction() as session:
        counter = session.get(ResourceCount, key)
        assert counter is not None and counter.used == 0


def test_timestamps_round_trip_as_aware_utc(database: Database) -> None:
    column = sa.Column("at", UTCDateTime())
    table = sa.Table("t_times", sa.MetaData(), column)
    table.create(database.engine)
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with database.engine.begin() as connection:
        connection.execute(table.insert().values(at=moment))
        stored = connection.scalar(sa.select(table.c.at))
    table.drop(database.engine)
    assert stored == moment and stored.tzinfo is dt.UTC


def test_naive_timestamps_are_refused(database: Database) -> None:
    table = sa.Table("t_naive", sa.MetaData(), sa.Column("at", UTCDateTime()))
    table.create(database.engine)
    try:
        with pytest.raises(sa.exc.StatementError), database.engine.begin() as connection:
            connection.execute(table.insert().values(at=dt.datetime(2026, 1, 1)))
    finally:
        table.drop(database.engine)


def test_a_savepoint_on_sqlite_waits_for_another_process_s_write(tmp_path) -> None:
    """A transaction that opens a savepoint takes SQLite's write lock first.

    Another connection (a server, a worker, the CLI: another process) holds
    the write lock and commits while this transaction has read under its
    savepoint: with a deferred BEGIN, this transaction's first write asked to
    upgrade its shared lock while the other waited for that shared lock to
    commit, and SQLite refused it ("database is locked"; CI, stop 22).
    """
    path = tmp_path / "locks.sqlite"
    database = Database(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 5}
    )
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (n INTEGER)")
    other = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes VALUES (1)")
    committed: list[str] = []

    def commit_soon() -> None:
        time.sleep(0.3)
        other.execute("COMMIT")
        committed.append("other")

    writer = threading.Thread(target=commit_soon)
    writer.start()
    try:
        with database.transaction() as session, session.begin_nested():
            seen = session.execute(sa.text("SELECT count(*) FROM notes")).scalar_one()
            session.execute(sa.text("INSERT INTO notes VALUES (2)"))
    finally:
        writer.join()
        other.close()
    # The savepoint waited for the other write to commit, then saw it.
    assert committed == ["other"] and seen == 1
    with database.session() as session:
        assert session.execute(sa.text("SELECT count(*) FROM notes")).scalar_one() == 2
    database.dispose()
