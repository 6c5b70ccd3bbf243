"""Fixtures of the allocation tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import engine.tables  # noqa: F401  (every table on the metadata, to empty)
from engine.db import Base, Database


@pytest.fixture
def fresh_database(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Database]]:
    """A new migrated SQLite database per call (Hypothesis examples need their own)."""
    made: list[Database] = []

    def make() -> Database:
        path = tmp_path_factory.mktemp("alloc") / "db.sqlite"
        shutil.copy(sqlite_template, path)
        made.append(Database(f"sqlite:///{path}"))
        return made[-1]

    yield make
    for database in made:
        database.dispose()


@pytest.fixture
def fresh_mariadb(mariadb_url: str) -> Iterator[Callable[[], Database]]:
    """The worker's migrated MariaDB database, emptied on every call."""
    database = Database(mariadb_url)

    def make() -> Database:
        with database.engine.begin() as connection:
            connection.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
            for table in Base.metadata.sorted_tables:
                connection.execute(table.delete())
            connection.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))
        return database

    yield make
    make()
    database.dispose()
