"""What every CLI command needs: settings, the database and the system scope.

It also opens the inventory service the way the CLI reaches hosts (through libvirt
from this process), because both the infrastructure commands and the catalog's
``--zone`` option need it; neither command module imports the other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from concord.settings import Settings
from engine.db import Database
from engine.drivers.base import HypervisorDriver
from engine.errors import EngineError
from engine.inventory.service import InventoryService
from engine.schema import is_current
from engine.scope import Scope
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.server_keys import ServerKeyError, ServerKeys
from engine.tenancy.service import TenancyService


class CommandError(Exception):
    """A CLI failure to print as one line, exit status 1."""


def load_settings(config_path: str | None, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from an optional PasteDeploy ini file, with CONCORD_* overrides.

    :param overrides: values the command line gives (they win over both).
    """
    values: dict[str, Any] = {}
    if config_path:
        from paste.deploy.loadwsgi import appconfig

        path = Path(config_path).absolute()
        if not path.is_file():
            raise CommandError(f"no configuration file at {path}")
        values = dict(appconfig(f"config:{path}"))
    try:
        return Settings.from_mapping(values, overrides=overrides)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


@dataclass
class Context:
    """The state a command runs with."""

    settings: Settings
    database: Database

    @property
    def hasher(self) -> PasswordHasher:
        """The password hasher configured for this deployment."""
        return PasswordHasher(
            PasswordPolicy(
                time_cost=self.settings.password_time_cost,
                memory_cost_kib=self.settings.password_memory_kib,
            )
        )

    @cached_property
    def server_keys(self) -> ServerKeys:
        """The keys API-key secrets are encrypted with (``server_key_file``)."""
        try:
            return self.settings.server_keys()
        except ServerKeyError as exc:
            raise CommandError(str(exc)) from None

    @property
    def database_name(self) -> str:
        """The database the settings name, as a message shows it (never its password)."""
        return database_name(self.settings.database_url)

    def create_database_file(self) -> None:
        """Make the directory of an SQLite file, for the commands that create the database."""
        path = sqlite_path(self.settings.database_url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def require_database(self) -> None:
        """Refuse a database that does not exist yet, rather than create an empty one.

        SQLite makes a file at the first connection: an administration command run in the
        wrong directory would otherwise leave an empty ``var/concord.sqlite`` there and
        report a schema problem about it.
        """
        path = sqlite_path(self.settings.database_url)
        if path is not None and not path.exists():
            raise CommandError(
                f"no database at {path}: create it with 'concord db upgrade' (or "
                "'concord init'), or name the one to use with CONCORD_DATABASE_URL "
                "(CONCORD_DEMO=true for the demo's)"
            )

    def require_current_schema(self) -> None:
        """Refuse a database that is missing or whose schema is not current, naming it."""
        self.require_database()
        if not is_current(self.database):
            raise CommandError(
                f"the database schema is not current in {self.database_name}: "
                "run 'concord db upgrade'"
            )

    @contextmanager
    def system(self) -> Iterator[tuple[Session, Scope]]:
        """A transaction acting as Concord itself (the local administrator)."""
        self.require_current_schema()
        with self.database.transaction() as session:
            root = TenancyService(session).root()
            yield session, Scope.system(root)


def _drivers(uri: str) -> HypervisorDriver:
    # Imported here so that commands that never touch a host work without libvirt.
    from engine.drivers.libvirt import LibvirtDriver

    return LibvirtDriver(uri)


def inventory_service(session: Session) -> InventoryService:
    """The inventory service, reaching each host through libvirt from this process."""
    return InventoryService(session, _drivers)


def make_context(args: argparse.Namespace) -> Context:
    """Build the context from the global ``--config`` option.

    Options that are also settings (``serve --demo``, which picks the demo's
    own database, and ``--remove-demo-credentials``) are read here, before the
    database is opened.
    """
    overrides = {
        name: True
        for name in ("demo", "remove_demo_credentials")
        if getattr(args, name, False) is True
    }
    settings = load_settings(getattr(args, "config", None), overrides)
    return Context(settings, Database(settings.database_url))


def sqlite_path(database_url: str) -> Path | None:
    """The absolute path of an SQLite database file, or None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).absolute()


def database_name(database_url: str) -> str:
    """A database as messages name it: an SQLite file by its path, others by URL sans password."""
    path = sqlite_path(database_url)
    if path is not None:
        return str(path)
    return make_url(database_url).render_as_string(hide_password=True)


def fail(message: str) -> int:
    """Print an error line on stderr and return the exit status 1."""
    print(f"concord: error: {message}", file=sys.stderr)
    return 1


def run_guarded(function: Any, *args: Any) -> int:
    """Run a command, turning engine and CLI errors into one-line messages."""
    try:
        result = function(*args)
    except (EngineError, CommandError) as exc:
        detail = getattr(exc, "detail", "")
        # The hypervisor's own words (a missing socket, a refused key) say what to fix.
        return fail(f"{exc}: {detail}" if detail else str(exc))
    return int(result or 0)


def print_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    """Print rows as an aligned text table."""
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip())
