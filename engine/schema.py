"""Schema management through Alembic migrations.

``concord db upgrade`` and ``concord serve`` call :func:`upgrade`; the test
suite builds every database the same way, so the migrations themselves are
tested on SQLite and MariaDB.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database: Database) -> Config:
    """An Alembic configuration bound to ``database`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection_engine"] = database.engine
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Apply every migration up to ``revision``.

    On MariaDB/MySQL a named server lock serialises concurrent upgrades, so
    that several processes started together on an empty database (two
    ``concord serve``, say) do not both create the tables.
    """
    if database.dialect not in ("mysql", "mariadb"):
        command.upgrade(alembic_config(database), revision)
        return
    with database.engine.connect() as lock:
        if lock.scalar(sa.text("SELECT GET_LOCK('concord-schema-upgrade', 300)")) != 1:
            raise RuntimeError("timed out waiting for another process's schema upgrade")
        try:
            command.upgrade(alembic_config(database), revision)
        finally:
            lock.scalar(sa.text("SELECT RELEASE_LOCK('concord-schema-upgrade')"))


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def is_current(database: Database) -> bool:
    """True when the database schema is at the newest revision."""
    return current_revision(database) == head_revision()
