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

    @contextmanager
    def system(self) -> Iterator[tuple[Session, Scope]]:
        """A transaction acting as Concord itself (the local administrator)."""
        if not is_current(self.database):
            raise CommandError("the database schema is not current: run 'concord db upgrade'")
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
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    return Context(settings, Database(settings.database_url))


def fail(message: str) -> int:
    """Print an error line on stderr and return the exit status 1."""
    print(f"concord: error: {message}", file=sys.stderr)
    return 1


def run_guarded(function: Any, *args: Any) -> int:
    """Run a command, turning engine and CLI errors into one-line messages."""
    try:
        result = function(*args)
    except (EngineError, CommandError) as exc:
        return fail(str(exc))
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
