"""Fixtures of the allocation tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.db import Database


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
