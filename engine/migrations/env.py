"""Alembic environment: runs migrations on the engine handed in by engine.schema."""

from __future__ import annotations

from alembic import context

import engine.tables  # noqa: F401  (registers every table on the metadata)
from engine.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations over the connection engine given by :func:`engine.schema.upgrade`."""
    connectable = config.attributes["connection_engine"]
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most constraints: batch mode rebuilds tables.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
