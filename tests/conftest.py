"""Shared fixtures: real databases (SQLite always, MariaDB when reachable) and the app.

``database`` is parametrised over both back-ends, so every test that uses it
runs on SQLite and on MariaDB. The MariaDB variant is skipped, with the
reason printed by ``-ra``, only when no server answers; set
``CONCORD_TEST_MARIADB_URL`` to point at another server (the default is the
local ``root@127.0.0.1:3306`` with an empty password).

Schemas are built by the real Alembic migrations once per session and worker;
tests are isolated by emptying every table afterwards.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import MARIADB_SERVER, TEST_SERVER_KEY_FILE, CliRun
from hypothesis import HealthCheck, settings
from oidc_issuer import LocalIssuer
from webtest import TestApp

from concord.app import make_app
from concord.cli.main import main
from concord.logs import ConcordHandler
from concord.settings import Settings
from engine.db import Base, Database
from engine.schema import upgrade
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.service import TenancyService

#: Cheap Argon2 costs: tests hash many passwords; production uses the defaults.
TEST_POLICY = PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1)
TEST_SETTINGS = {
    "concord.password_time_cost": "1",
    "concord.password_memory_kib": "1024",
    "concord.embedded_worker": "false",
    "concord.log_level": "WARNING",
    # Never the default var/server.key of the working directory (the checkout).
    "concord.server_key_file": TEST_SERVER_KEY_FILE,
}


# Hypothesis's default 200 ms deadline and its "too slow" health check judge the
# machine's speed, not the code: on a loaded CI machine (two CPUs, MariaDB, other
# workers) they fail tests that are correct. Speed is measured in bench/, never
# here. Tests that give their own settings inherit this profile for the rest.
settings.register_profile("concord", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("concord")


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Take Concord's log handler off the root logger after each test, and its level back.

    ``concord serve``, ``worker`` and ``--debug``, run in process by some
    tests, point the root logger at the ``sys.stderr`` of that moment: pytest's
    capture of that one test. Once it was closed, every later log record in
    the process wrote "--- Logging error ---" to the stderr of whichever CLI
    test came next, which checks that it is empty.
    """
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if isinstance(h, ConcordHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (much faster than migrating)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A migrated MariaDB database private to this xdist worker, or a skip with the reason."""
    # The process id keeps concurrent test runs on one server (two
    # developers, or CI beside a developer) out of each other's databases.
    name = f"concord_test_{_worker_id()}_{os.getpid()}"
    try:
        server = sa.create_engine(MARIADB_SERVER, future=True)
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except sa.exc.SQLAlchemyError as exc:
        pytest.skip(f"MariaDB tests skipped: no server at {MARIADB_SERVER} ({exc.orig or exc})")
    url = f"{MARIADB_SERVER}/{name}?charset=utf8mb4"
    database = Database(url)
    upgrade(database)
    database.dispose()
    yield url
    with server.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    server.dispose()


def _empty_mariadb(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
        for table in Base.metadata.sorted_tables:
            connection.execute(table.delete())
        connection.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each back-end."""
    if request.param == "sqlite":
        path = tmp_path / "concord.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        yield db
        db.dispose()
    else:
        db = Database(request.getfixturevalue("mariadb_url"))
        try:
            yield db
        finally:
            _empty_mariadb(db)
            db.dispose()


@pytest.fixture
def hasher() -> PasswordHasher:
    """A password hasher with test costs."""
    return PasswordHasher(TEST_POLICY)


@dataclass
class Tenancy:
    """A small cloud: ROOT with an admin, domain ``acme`` with a domain admin and two
    user accounts (``alice`` in ``dev``, ``bob`` in ``ops``), and ``carol`` in another
    domain ``globex``. Every password is ``<name>-password``."""

    root: Scope
    ids: dict[str, str]

    @staticmethod
    def password(username: str) -> str:
        """The password of a seeded user."""
        return f"{username}-password"


@pytest.fixture
def tenancy(database: Database, hasher: PasswordHasher) -> Tenancy:
    """Seed the database with the :class:`Tenancy` cloud."""
    ids: dict[str, str] = {}
    with database.transaction() as session:
        service = TenancyService(session, hasher)
        root = service.ensure_root()
        system = Scope.system(root)
        ids["ROOT"] = root.id
        admins = service.create_account(system, "admins", root.id, AccountType.ADMIN)
        ids["admin"] = service.create_user(system, admins.id, "admin", "admin-password").id
        for domain_name, accounts in (
            (
                "acme",
                [
                    ("acme-admins", AccountType.DOMAIN_ADMIN, "acmeadmin"),
                    ("dev", AccountType.USER, "alice"),
                    ("ops", AccountType.USER, "bob"),
                ],
            ),
            ("globex", [("sales", AccountType.USER, "carol")]),
        ):
            domain = service.create_domain(system, domain_name, root.id)
            ids[domain_name] = domain.id
            for account_name, account_type, username in accounts:
                account = service.create_account(system, account_name, domain.id, account_type)
                ids[account_name] = account.id
                user = service.create_user(system, account.id, username, Tenancy.password(username))
                ids[username] = user.id
    return Tenancy(system, ids)


@pytest.fixture
def settings() -> Settings:
    """Settings for an app under test (cheap hashing, no embedded worker)."""
    return Settings.from_mapping(TEST_SETTINGS, environ={})


@pytest.fixture
def app(database: Database, settings: Settings) -> TestApp:
    """The whole WSGI application over ``database``, driven by WebTest."""
    return TestApp(make_app(settings, database))


@pytest.fixture
def concord_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[str], CliRun]:
    """The ``concord`` command line in this process, bound to a database URL.

    ``run = concord_cli(url)`` points the CLI at ``url`` (with the test server
    key and cheap hashing, through its ``CONCORD_*`` variables); then
    ``run("init")`` returns its exit status and what it printed, and
    ``stdin=`` gives what a prompt (a password, a secret) reads.
    """

    def bind(database_url: str) -> CliRun:
        monkeypatch.setenv("CONCORD_DATABASE_URL", database_url)
        monkeypatch.setenv("CONCORD_SERVER_KEY_FILE", TEST_SERVER_KEY_FILE)
        monkeypatch.setenv("CONCORD_PASSWORD_TIME_COST", "1")
        monkeypatch.setenv("CONCORD_PASSWORD_MEMORY_KIB", "1024")

        def run(*argv: str, stdin: str = "") -> tuple[int, str]:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
            capsys.readouterr()
            status = main(list(argv))
            return status, capsys.readouterr().out

        return run

    return bind


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    """A real OpenID Connect issuer on loopback whose tokens name the audience ``site``."""
    issuer = LocalIssuer(audience="site").start()
    yield issuer
    issuer.stop()
