"""Helpers shared by the tests: Basic credentials, API keys, a request signer, a snapshot
of the database and a cost ratio between two calls.

Imported as ``helpers`` (pytest puts ``tests/`` on ``sys.path`` for the rootdir
conftest). The signer uses :mod:`signing`, the profile the server shares with
clients; ``test_authentication`` also checks a request signed with RFC 9421's
own test key and signature base written out by hand, so the two cannot agree
on a mistake unnoticed.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa

import engine.tables  # noqa: F401  (every table on Base.metadata)
import signing
from engine.db import Base, Database
from engine.tenancy.credentials import CredentialService, IssuedKey
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.server_keys import ServerKeys

#: What WebTest sends as the Host header unless told otherwise.
#: The MariaDB server the tests use (without a database name); the MariaDB
#: variants skip, with the reason, when it does not answer.
MARIADB_SERVER = os.environ.get("CONCORD_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306")

WEBTEST_HOST = "localhost:80"
#: The base URL Concord decides for WebTest's requests (the default port dropped).
WEBTEST_BASE = "http://localhost"


def _test_server_key_file() -> str:
    # A server key of this test process, generated as the server generates its
    # default one, in a private directory removed at exit: the apps under test
    # (TEST_SETTINGS) and issue_key must encrypt and decrypt with the same key.
    directory = tempfile.mkdtemp(prefix="concord-test-keys-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = os.path.join(directory, "server.key")
    ServerKeys.load(path, create=True)
    return path


#: The server key file of the test process, and its keys.
TEST_SERVER_KEY_FILE = _test_server_key_file()
TEST_SERVER_KEYS = ServerKeys.load(TEST_SERVER_KEY_FILE)


#: The ``concord`` command line run in process (the ``concord_cli`` fixture):
#: ``status, output = run(*argv, stdin="")``.
CliRun = Callable[..., tuple[int, str]]


def basic(username: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header for ``username`` and ``password``."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def issue_key(
    database: Database,
    hasher: PasswordHasher,
    user_id: str,
    expires: dt.datetime | None = None,
) -> IssuedKey:
    """Issue an API key for ``user_id`` in its own committed transaction (the user asks).

    Its secret is encrypted under :data:`TEST_SERVER_KEYS`, the keys of the apps under test.
    """
    with database.transaction() as session:
        credentials = CredentialService(session, hasher, TEST_SERVER_KEYS)
        scope = credentials.scope_for_user_id(user_id)
        return credentials.create_api_key(scope, user_id, "test key", expires)


@dataclass(frozen=True)
class Signer:
    """Signs requests with one API key, as a client would (through :mod:`signing`)."""

    access_key: str
    secret: str
    #: The public base the app under test decides for WebTest's requests.
    base: str = WEBTEST_BASE

    def headers(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        content_type: str = "",
        timestamp: int | None = None,
        nonce: str | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The headers of a signed request: the signature's, ``Content-Type`` and ``fields``."""
        sent = dict(fields or {})
        if content_type:
            sent["Content-Type"] = content_type
        url = self.base + path + (f"?{query}" if query else "")
        added = signing.sign(
            method,
            url,
            sent.items(),
            body,
            key_id=self.access_key,
            secret=self.secret,
            created=timestamp,
            nonce=nonce,
        )
        return {**sent, **added}

    @classmethod
    def of(cls, key: IssuedKey) -> Signer:
        """A signer for a freshly issued key."""
        return cls(key.access_key, key.secret)


def snapshot(database: Database) -> dict[str, Any]:
    """Every row of every engine table, as comparable values.

    A request that is refused must leave this unchanged. ``updated`` columns
    are left out: a timestamp is not what a client changes.
    """
    found: dict[str, Any] = {}
    with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "updated"]
            rows = session.execute(sa.select(*columns)).all()
            found[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return found


def cost_ratio(
    hostile: Callable[[], object], baseline: Callable[[], object], runs: int = 3
) -> float:
    """How many times longer ``hostile`` takes than ``baseline``, the best of ``runs`` each.

    The two are timed in turns, so that a load on the machine weighs on both
    alike; each keeps its fastest run (what the code costs, not what the
    scheduler added). Tests bound this ratio, never an absolute time
    (DESIGN.md: timings are ratios against a baseline measured in the same run).
    """
    best_hostile = best_baseline = float("inf")
    for _ in range(runs):
        for call, is_hostile in ((baseline, False), (hostile, True)):
            started = time.perf_counter()
            call()
            elapsed = time.perf_counter() - started
            if is_hostile:
                best_hostile = min(best_hostile, elapsed)
            else:
                best_baseline = min(best_baseline, elapsed)
    return best_hostile / max(best_baseline, 1e-6)


def dedicate_zone(database: Database, zone_id: str, domain_id: str) -> None:
    """Dedicate a zone to a domain, as an operator does (``concord dedication add``)."""
    from engine.allocation.dedication import DedicationService
    from engine.scope import Scope
    from engine.tenancy.service import TenancyService

    with database.transaction() as session:
        system = Scope.system(TenancyService(session).ensure_root())
        DedicationService(session).dedicate(system, "zone", zone_id, domain_id=domain_id)


@contextmanager
def serving_bytes(
    routes: Mapping[str, bytes],
) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """A real HTTP server on loopback answering each path of ``routes`` with its bytes
    (404 elsewhere); yields its base URL and each request's (path, Authorization).

    ``routes`` is read at each request: a caller may fill it once the URL is known.
    """
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
