"""A federation registry reads its members' GLUE documents over HTTP and answers where a guest fits.

Two member sites are whole Concord applications served on loopback, each
with its own database; the registry is a third, driven by its CLI
(``concord federation member|refresh|sites``) and its HTTP API.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from helpers import CliRun, basic
from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from engine.catalog.service import CatalogService
from engine.db import Database
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

MPURI = "https://appdb.example.org/store/vm/image/c0ffee:42/"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _site(tmp_path: Path, template: Path, name: str, settings: Settings) -> tuple[Database, Any]:
    path = tmp_path / f"{name}.sqlite"
    shutil.copy(template, path)
    database = Database(f"sqlite:///{path}")
    site_settings = Settings.from_mapping(
        {**settings.as_pyramid(), "concord.site_name": name, "concord.glue_token": f"{name}-token"},
        environ={},
    )
    return database, make_app(site_settings, database)


def _seed(
    database: Database,
    hasher: PasswordHasher,
    offerings: list[tuple[str, int, int]],
    image: dict[str, Any],
) -> None:
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        admins = tenancy.create_account(system, "admins", root.id, AccountType.ADMIN)
        tenancy.create_user(system, admins.id, "admin", "admin-password")
        catalog = CatalogService(session)
        for name, vcpus, memory in offerings:
            catalog.create_compute_offering(system, name, vcpus=vcpus, memory_mib=memory)
        catalog.create_image(system, public=True, **image)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    servers: list[WSGIServer] = []

    def start(app: Any) -> str:
        server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_registry_finds_sites_by_image_and_by_room(
    tmp_path: Path,
    sqlite_template: Path,
    settings: Settings,
    hasher: PasswordHasher,
    serve: Callable[[Any], str],
    concord_cli: Callable[[str], CliRun],
) -> None:
    alpha_db, alpha_app = _site(tmp_path, sqlite_template, "alpha", settings)
    beta_db, beta_app = _site(tmp_path, sqlite_template, "beta", settings)
    _seed(
        alpha_db, hasher, [("small", 1, 512)], {"name": "debian-12", "properties": {"mpuri": MPURI}}
    )
    _seed(beta_db, hasher, [("small", 1, 512), ("huge", 16, 65536)], {"name": "alma-9"})
    alpha, beta = serve(alpha_app), serve(beta_app)

    # The document is the registry's to read with the site's token, nobody else's.
    TestApp(alpha_app).get(
        "/federation/glue", headers={"Authorization": "Bearer wrong"}, status=401
    )
    TestApp(alpha_app).get(
        "/federation/glue", headers={"Authorization": "Bearer alpha-token"}, status=200
    )

    registry_path = tmp_path / "registry.sqlite"
    shutil.copy(sqlite_template, registry_path)
    run = concord_cli(f"sqlite:///{registry_path}")

    assert run("init")[0] == 0
    assert (
        run(
            "federation",
            "member",
            "add",
            "alpha",
            f"{alpha}/federation/glue",
            "--token",
            "alpha-token",
        )[0]
        == 0
    )
    assert (
        run(
            "federation",
            "member",
            "add",
            "beta",
            f"{beta}/federation/glue",
            "--token",
            "beta-token",
        )[0]
        == 0
    )
    assert run("federation", "member", "add", "gamma", "http://127.0.0.1:9/federation/glue")[0] == 0
    status, out = run("federation", "refresh", "--timeout", "5")
    assert status == 1  # gamma cannot be reached, and says so
    assert out.splitlines()[:2] == ["alpha: read", "beta: read"]
    assert out.splitlines()[2].startswith(
        "gamma: http://127.0.0.1:9/federation/glue cannot be read"
    )

    by_image = json.loads(run("federation", "sites", "--image", MPURI, "--format", "json")[1])
    assert [(s["site"], s["matches"]) for s in by_image] == [("alpha", "debian-12")]
    assert by_image[0]["endpoints"].split()[0] == f"{alpha}/"
    by_name = json.loads(run("federation", "sites", "--image", "alma-9", "--format", "json")[1])
    assert [s["site"] for s in by_name] == ["beta"]
    roomy = json.loads(
        run("federation", "sites", "--vcpus", "8", "--memory-mib", "4096", "--format", "json")[1]
    )
    assert [(s["site"], s["matches"]) for s in roomy] == [("beta", "huge")]
    listed = run("federation", "member", "list")[1].splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["alpha", "beta", "gamma"]
    assert "cannot be read" in listed[3]

    # The same answers over HTTP, for any signed-in user of the registry.
    registry = TestApp(make_app(settings, Database(f"sqlite:///{registry_path}")))
    with Database(f"sqlite:///{registry_path}").transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.root()
        users = tenancy.create_account(Scope.system(root), "users", root.id, AccountType.USER)
        tenancy.create_user(Scope.system(root), users.id, "ana", "ana-password")
    ana = basic("ana", "ana-password")
    answer = registry.get(
        "/federation/sites", {"vcpus": "2", "memory_mib": "1024"}, headers=ana
    ).json
    assert [s["site"] for s in answer["sites"]] == ["beta"]
    answer = registry.get("/federation/sites", {"image": MPURI}, headers=ana).json
    assert [s["site"] for s in answer["sites"]] == ["alpha"]
    registry.get("/federation/sites", {"image": MPURI}, status=401)
    registry.get("/federation/sites", {"vcpus": "-1"}, headers=ana, status=400)
    registry.get("/federation/sites", headers=ana, status=400)
