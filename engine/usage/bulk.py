"""Writing a period's intervals and records: one DBAPI ``executemany`` per statement.

A period writes thousands of rows: a record per resource, usage type and
offering that held anything in it, and the intervals it opens and closes.
Through SQLAlchemy's ``insert()`` with a list of dicts, every row costs a
parameter dict built by the compiler and a type-processor call per value;
a profile of ``bench/usage.py`` (bench/RESULTS.md, "Usage aggregation near
its write floor") put about two thirds of the aggregation's time there and
in computing the records' name-based ids with :func:`uuid.uuid5`, against
one third in the database itself. So here:

* each statement is a fixed SQL string (the dialect's quoting and
  placeholder), and rows are plain tuples in its column order, handed to the
  DBAPI's ``executemany`` as they are (SQLite runs one prepared statement,
  PyMySQL folds the rows into multi-row ``INSERT``\\ s);
* the only values that need converting, the timestamps, go through the
  column type's own bind processor (:class:`~engine.db.UTCDateTime`), once
  per distinct moment: every record of a period has the same two bounds,
  and an interval usually ends where another starts;
* record ids are the same UUIDv5 as :func:`uuid.uuid5` computes (the tests
  compare them) from a SHA-1 state hashed once per period and copied per
  record, rather than rebuilt, parsed into a :class:`uuid.UUID` and
  formatted for each.

Values reach the database exactly as SQLAlchemy would have sent them, so
what is stored is unchanged; only the Python work per row is gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

#: The namespace of the records' name-based ids (a fixed, random UUID).
RECORD_NAMESPACE = uuid.UUID("0b8f4f7e-5d1c-4d55-9a40-3c2c6f0b7a21")

# RFC 4122's variant bits (10xx) over the 17th hex digit, as uuid.UUID sets them.
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def period_key(period_start: dt.datetime) -> str:
    """The period's part of its records' ids: its start, in UTC, to the second."""
    return f"{period_start.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def record_ids(period: str) -> Callable[[str, str, str], str]:
    """A function of (usage type, resource, offering) giving the record id in ``period``.

    Equal to ``str(uuid.uuid5(RECORD_NAMESPACE, f"{period}|{type}|{resource}|{offering}"))``.
    """
    base = hashlib.sha1(RECORD_NAMESPACE.bytes + f"{period}|".encode(), usedforsecurity=False)

    def record_id(usage_type: str, resource_id: str, offering: str) -> str:
        digest = base.copy()
        digest.update(f"{usage_type}|{resource_id}|{offering}".encode())
        x = digest.hexdigest()
        return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"

    return record_id


class Writer:
    """The bulk statements of one period, in the caller's transaction.

    :param connection: the session's connection (its transaction).
    :param moment_type: the timestamp columns' type, for its bind processor.
    """

    def __init__(self, connection: sa.Connection, moment_type: sa.types.TypeEngine[Any]) -> None:
        self.connection = connection
        dialect = connection.dialect
        self._quote = dialect.identifier_preparer.quote
        # Positional placeholders: pysqlite's "?", PyMySQL's "%s" (it takes
        # tuples under its "pyformat" style too).
        marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}
        if dialect.paramstyle not in marks:
            raise ValueError(f"no bulk writes for the {dialect.paramstyle!r} parameter style")
        self._mark = marks[dialect.paramstyle]
        # The dialect's own implementation (SQLite's DATETIME writes a fixed
        # text form, which the queries compare as text), not the generic one.
        impl = moment_type.dialect_impl(dialect)
        bind = impl.bind_processor(dialect)
        self._bind: Callable[[Any], Any] = bind if bind is not None else (lambda value: value)
        self._moments: dict[dt.datetime, Any] = {}

    def moment(self, value: dt.datetime | None) -> Any:
        """``value`` as the DBAPI takes it for a timestamp column (converted once per value)."""
        if value is None:
            return None
        bound = self._moments.get(value)
        if bound is None:
            bound = self._moments[value] = self._bind(value)
        return bound

    def insert(self, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """``INSERT`` ``rows`` (tuples in the order of ``columns``) with one ``executemany``."""
        if not rows:
            return
        names = ", ".join(self._quote(c) for c in columns)
        marks = ", ".join([self._mark] * len(columns))
        # Only the tables' own column names, quoted by the dialect; values are bound.
        sql = f"INSERT INTO {self._quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
        self._run(sql, rows)

    def update(
        self,
        table: sa.Table,
        assign: Sequence[str],
        where: Sequence[str],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """``UPDATE`` each row found by the ``where`` columns (equal) with one ``executemany``.

        Each row holds the ``assign`` values, then the ``where`` ones.
        """
        if not rows:
            return
        sets = ", ".join(f"{self._quote(c)} = {self._mark}" for c in assign)
        match = " AND ".join(f"{self._quote(c)} = {self._mark}" for c in where)
        sql = f"UPDATE {self._quote(table.name)} SET {sets} WHERE {match}"  # noqa: S608
        self._run(sql, rows)

    def _run(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        # exec_driver_sql passes the tuples to cursor.executemany untouched.
        self.connection.exec_driver_sql(sql, rows)


__all__ = ["RECORD_NAMESPACE", "Writer", "period_key", "record_ids"]
