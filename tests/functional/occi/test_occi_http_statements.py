"""How many SQL statements an OCCI create makes (issue 15): a count, never a timing.

Every statement is a round trip to MariaDB through a pure-Python driver, so
the count is what a request costs there. The count is of the whole request
(authentication, the category registry, the engine's validation, quota
charge, placement, event and job), taken with a SQLAlchemy event listener
on the application's own engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from functional.occi.occiclient import COMPUTE, RESOURCE_TPL_SCHEME, OcciClient

from engine.db import Database

#: The most statements an OCCI create of a compute may make (issue 15).
CREATE_BUDGET = 20


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """The SQL statements run on *database* inside the block, in order."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The explicit BEGIN engine.db sends on SQLite before a first
        # SAVEPOINT is the one pysqlite sends unseen before a first INSERT, and
        # PyMySQL sends none: it is not counted, so both back-ends count alike.
        if statement != "BEGIN":
            statements.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)


def test_an_occi_create_makes_at_most_twenty_statements(
    occi: OcciClient, cloud: Any, database: Database
) -> None:
    occi.create(COMPUTE, {"occi.core.title": "warm-up"})  # caches: password, registry
    with counted(database) as statements:
        occi.create(
            COMPUTE, {"occi.core.title": "web"}, mixins=[RESOURCE_TPL_SCHEME + cloud.ids["small"]]
        )
    assert statements, "the listener saw the request"
    assert len(statements) <= CREATE_BUDGET, "\n".join(
        f"{i + 1}: {s.splitlines()[0][:160]}" for i, s in enumerate(statements)
    )
