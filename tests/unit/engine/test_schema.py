"""Schema upgrades: idempotent, and safe when several processes start together."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import engine.tables  # noqa: F401  (every model on Base.metadata)
from engine.db import Base, Database
from engine.schema import current_revision, head_revision, is_current, upgrade


def test_upgrading_a_current_database_changes_nothing(database: Database) -> None:
    assert is_current(database)
    upgrade(database)
    assert current_revision(database) == head_revision()


def test_concurrent_upgrades_of_an_empty_mariadb_database_both_succeed() -> None:
    # Two processes started together on an empty database (two ``concord serve``)
    # must not both create the tables: the named lock in upgrade() serialises them.
    import os

    import pytest
    import sqlalchemy as sa
    from helpers import MARIADB_SERVER

    name = f"concord_schema_race_{os.getpid()}"
    try:
        server = sa.create_engine(MARIADB_SERVER)
        with server.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except sa.exc.SQLAlchemyError as exc:
        pytest.skip(f"MariaDB not reachable at {MARIADB_SERVER}: {exc}")
    databases = [Database(f"{MARIADB_SERVER}/{name}?charset=utf8mb4") for _ in range(2)]
    errors: list[BaseException] = []

    def run(database: Database) -> None:
        try:
            upgrade(database)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in databases]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert is_current(databases[0])
    finally:
        for db in databases:
            db.dispose()
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


def test_the_migrations_build_exactly_the_tables_the_models_declare(database: Database) -> None:
    # What `alembic revision --autogenerate` would write against a migrated
    # database: nothing. A model whose table no migration creates (or a
    # migration the models no longer match) fails here, on both back-ends;
    # so does a models module that engine.tables forgets to import.
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        assert compare_metadata(context, Base.metadata) == []
