"""Database plumbing: the declarative base, column types and sessions.

The engine talks to SQLite (the embedded default) or MariaDB/MySQL through
SQLAlchemy 2. Nothing here knows about requests: callers open a
:meth:`Database.transaction` and pass the session to engine services.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so that Alembic migrations are identical on SQLite
# and MariaDB and can drop constraints by name later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every engine model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> str:
    """Return a new random resource identifier (a UUID4 in canonical text form)."""
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC and returned timezone-aware.

    MariaDB's DATETIME and SQLite keep no zone; storing UTC everywhere and
    re-attaching it on the way out makes both back-ends behave the same.
    Microseconds are kept (``DATETIME(6)`` on MariaDB) because usage
    accounting derives intervals from these values.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC time")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def id_column(**kwargs: Any) -> Any:
    """A primary-key column holding a UUID string, generated on insert."""
    return sa.Column(sa.String(36), primary_key=True, default=new_id, **kwargs)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores FOREIGN KEY clauses unless asked on every connection;
    # without this, deleting a parent would silently leave orphans on the
    # embedded back-end while MariaDB refused the same operation.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_before_savepoint(connection: sa.Connection, _name: str) -> None:
    # pysqlite (legacy transaction control) only opens a transaction before
    # INSERT/UPDATE/DELETE. A SAVEPOINT sent first would run in autocommit
    # mode, where SQLite makes it the outermost transaction and RELEASE
    # commits it: a quota charge made in a savepoint would then survive the
    # caller's rollback. Opening the transaction explicitly first keeps
    # every savepoint nested in the caller's transaction.
    #
    # IMMEDIATE: a savepoint guards writes, so the transaction takes the
    # write lock now, waiting for it through the busy timeout. A deferred
    # BEGIN would read under a shared lock first and then ask for the write
    # lock while another process (a server, a worker, the CLI) holds it to
    # commit: SQLite refuses that upgrade at once ("database is locked")
    # rather than wait, since the two would wait for each other.
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create a SQLAlchemy engine for ``url`` with Concord's per-backend settings.

    :param url: ``sqlite:///path`` or ``mysql+pymysql://user:pw@host/db``.
    :returns: an :class:`~sqlalchemy.engine.Engine`.
    """
    options: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # Connections dropped by the server (wait_timeout, failover) are
        # detected before use rather than failing a request.
        options["pool_pre_ping"] = True
        options["pool_recycle"] = 3600
        if url.startswith("mysql"):
            options["isolation_level"] = "READ COMMITTED"
    options.update(kwargs)
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        event.listen(engine, "savepoint", _begin_before_savepoint)
    return engine


class Database:
    """A database handle: an engine and a session factory.

    :param url: the SQLAlchemy URL of the database.
    """

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_options)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """The back-end's dialect name (``sqlite``, ``mysql`` or ``mariadb``)."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """Open a new session; the caller commits or rolls back and closes it."""
        return self.sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a session, commit it when the block succeeds, roll back otherwise.

        Every state change, its event and its quota accounting happen in one
        such transaction (DESIGN.md, "Behaviour every part owes").
        """
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def string_enum(cls: type[enum.StrEnum]) -> sa.Enum:
    """A column type for ``cls``'s members, stored as their short string values."""
    # Stored as short strings with a CHECK constraint rather than a native
    # ENUM so that adding a member is a plain migration on both back-ends.
    return sa.Enum(
        cls,
        native_enum=False,
        values_callable=lambda members: [m.value for m in members],
        length=32,
        create_constraint=True,
        name=cls.__name__.lower(),
    )
