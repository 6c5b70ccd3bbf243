"""Schema management through Alembic migrations.

``concord db upgrade`` and ``concord serve`` call :func:`upgrade`; the test
suite builds every database the same way, so the migrations themselves are
tested on SQLite and MariaDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


class SecretSealer(Protocol):
    """What the migrations need of the server keys (:class:`engine.tenancy.server_keys.ServerKeys`).

    Declared here, in the base, so that schema management imports no capability.
    """

    def seal(self, secret: str) -> str:
        """Encrypt ``secret`` under the current server key."""
        ...

    def unseal(self, token: str) -> str:
        """Decrypt a token made under any configured server key."""
        ...


def alembic_config(database: Database, server_keys: SecretSealer | None = None) -> Config:
    """An Alembic configuration bound to ``database`` (no alembic.ini needed).

    :param server_keys: the keys API-key secrets are encrypted with, for the
        migrations that encrypt or decrypt the secrets already stored (0004);
        without them those refuse to run on a database that holds API keys.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection_engine"] = database.engine
    config.attributes["server_keys"] = server_keys
    return config


def upgrade(
    database: Database, revision: str = "head", server_keys: SecretSealer | None = None
) -> None:
    """Apply every migration up to ``revision``.

    On MariaDB/MySQL a named server lock serialises concurrent upgrades, so
    that several processes started together on an empty database (two
    ``concord serve``, say) do not both create the tables.

    :param server_keys: see :func:`alembic_config`.
    """
    config = alembic_config(database, server_keys)
    if database.dialect not in ("mysql", "mariadb"):
        command.upgrade(config, revision)
        return
    with database.engine.connect() as lock:
        if lock.scalar(sa.text("SELECT GET_LOCK('concord-schema-upgrade', 300)")) != 1:
            raise RuntimeError("timed out waiting for another process's schema upgrade")
        try:
            command.upgrade(config, revision)
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
