"""A registry probes its members' OCCI and CIMI endpoints and publishes their health.

Two member sites are whole Concord applications served over real HTTP on
loopback, each with its own SQLite database; the registry runs on the
``database`` fixture (SQLite and MariaDB), driven by its CLI (``concord
federation monitor|status``) and its HTTP API (``/federation/members``). The
probes are the conformance harness's read-only profile, run in process. A
member whose server is stopped becomes ``critical``, with the reason.
"""

from __future__ import annotations

import json
import logging
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
from engine.federation.models import FederationMember
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

glue = pytest.importorskip("cloud_info_provider.glue")

OCCI = "eu.egi.cloud.vm-management.occi"
CIMI = "org.dmtf.cimi"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _site(tmp_path: Path, template: Path, name: str, settings: Settings, hasher: Any) -> Any:
    path = tmp_path / f"{name}.sqlite"
    shutil.copy(template, path)
    database = Database(f"sqlite:///{path}")
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        admins = tenancy.create_account(system, "admins", root.id, AccountType.ADMIN)
        tenancy.create_user(system, admins.id, "admin", "admin-password")
        # The registry's probe identity: an ordinary user of its own account.
        probes = tenancy.create_account(system, "monitoring", root.id, AccountType.USER)
        tenancy.create_user(system, probes.id, "probe", f"{name}-probe-password")
        catalog = CatalogService(session)
        catalog.create_compute_offering(system, "small", vcpus=1, memory_mib=512)
        catalog.create_image(system, public=True, name="debian-12")
    site_settings = Settings.from_mapping(
        {**settings.as_pyramid(), "concord.site_name": name, "concord.glue_token": f"{name}-token"},
        environ={},
    )
    return make_app(site_settings, database)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], tuple[str, WSGIServer]]]:
    servers: list[WSGIServer] = []

    def start(app: Any) -> tuple[str, WSGIServer]:
        server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_registry_probes_members_and_publishes_their_health(
    tmp_path: Path,
    sqlite_template: Path,
    database: Database,
    settings: Settings,
    hasher: PasswordHasher,
    serve: Callable[[Any], tuple[str, WSGIServer]],
    concord_cli: Callable[[str], CliRun],
    caplog: pytest.LogCaptureFixture,
) -> None:
    alpha, _alpha_server = serve(_site(tmp_path, sqlite_template, "alpha", settings, hasher))
    beta, beta_server = serve(_site(tmp_path, sqlite_template, "beta", settings, hasher))
    run = concord_cli(database.url)

    assert run("init")[0] == 0
    for name, url in (("alpha", alpha), ("beta", beta)):
        glue_url, token = f"{url}/federation/glue", f"{name}-token"
        added = run("federation", "member", "add", name, glue_url, "--token", token)
        assert added[0] == 0
    # Before any probe: nothing is known.
    status, out = run("federation", "status")
    assert status == 0 and out.split()[6:9] == ["alpha", "-", "unknown"]

    # Alpha is probed as its monitoring user; beta gave none, and its endpoints
    # answer only signed-in users: nothing can be judged there.
    given = run(
        "federation", "monitor", "credentials", "alpha", "--user", "probe",
        stdin="alpha-probe-password\n",
    )  # fmt: skip
    assert given == (0, "site alpha: probed as probe\n")
    with database.transaction() as session:
        (sealed,) = session.query(FederationMember.sealed_monitor_secret).filter_by(name="alpha")
    assert sealed[0] and "alpha-probe-password" not in sealed[0]

    with caplog.at_level(logging.DEBUG):
        status, out = run("federation", "monitor", "run", "--timeout", "10")
    assert status == 0, out
    # Each probe is logged with its verdict; the probe's secret never is.
    assert sum("federation monitor: alpha" in r.getMessage() for r in caplog.records) == 2
    assert "alpha-probe-password" not in caplog.text
    verdicts = sorted(tuple(line.split(": ")[:2]) for line in out.splitlines())
    assert verdicts == [
        (f"alpha {OCCI}", "ok"),
        (f"alpha {CIMI}", "ok"),
        (f"beta {OCCI}", "unknown"),
        (f"beta {CIMI}", "unknown"),
    ]
    assert "requires credentials" in out

    # Beta's server stops: its endpoints do not answer, critical with the reason.
    beta_server.shutdown()
    beta_server.server_close()
    status, out = run("federation", "monitor", "run", "--site", "beta", "--timeout", "5")
    assert status == 1
    assert "beta" in out and "alpha" not in out
    assert out.count(": critical: the endpoint does not answer") == 2

    found = json.loads(run("federation", "status", "--format", "json")[1])
    by_endpoint = {(s["site"], s["interface"]): s for s in found}
    assert {k: s["health"] for k, s in by_endpoint.items()} == {
        ("alpha", CIMI): "ok",
        ("alpha", OCCI): "ok",
        ("beta", CIMI): "critical",
        ("beta", OCCI): "critical",
    }
    alpha_occi = by_endpoint[("alpha", OCCI)]
    assert alpha_occi["url"] == f"{alpha}/"
    assert alpha_occi["must"]["passed"] > 0 and alpha_occi["must"]["failed"] == 0
    assert by_endpoint[("beta", OCCI)]["reason"].startswith("the endpoint does not answer")
    table = run("federation", "status")[1].splitlines()
    assert table[0].split() == ["SITE", "INTERFACE", "HEALTH", "CHECKED", "MUST", "REASON"]
    assert sorted(line.split()[:3] for line in table[1:]) == [
        ["alpha", OCCI, "ok"],
        ["alpha", CIMI, "ok"],
        ["beta", OCCI, "critical"],
        ["beta", CIMI, "critical"],
    ]
    assert run("federation", "monitor", "history", "nobody")[0] != 0
    history = json.loads(run("federation", "monitor", "history", "beta", "--format", "json")[1])
    assert [h["health"] for h in history] == ["critical", "critical", "unknown", "unknown"]

    # The registry's aggregated view: each endpoint's health is the registry's
    # latest probe, in GLUE 2.1's attributes, as cloud-info-provider models them.
    registry = TestApp(make_app(settings, database))
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.root()
        operators = tenancy.create_account(Scope.system(root), "ops", root.id, AccountType.ADMIN)
        tenancy.create_user(Scope.system(root), operators.id, "operator", "operator-password")
        users = tenancy.create_account(Scope.system(root), "users", root.id, AccountType.USER)
        tenancy.create_user(Scope.system(root), users.id, "ana", "ana-password")
    members = registry.get(
        "/federation/members", headers=basic("operator", "operator-password")
    ).json
    assert [m["site"] for m in members["members"]] == ["alpha", "beta"]
    for member in members["members"]:
        health = {
            e["InterfaceName"]: (e["HealthState"], e["HealthStateInfo"])
            for e in member["document"]["CloudComputingEndpoint"]
        }
        expected = "ok" if member["site"] == "alpha" else "critical"
        assert health[OCCI][0] == health[CIMI][0] == expected
        assert health["org.openstack.identity"][1] == "answered by the site itself"  # not probed
        for endpoint in member["document"]["CloudComputingEndpoint"]:
            modelled = glue.CloudComputingEndpoint(
                id=endpoint["ID"],
                name=endpoint["Name"],
                url=endpoint["URL"],
                interface_name=endpoint["InterfaceName"],
                health_state=endpoint["HealthState"],
                health_state_info=endpoint["HealthStateInfo"],
            )
            assert modelled.health_state == endpoint["HealthState"]
    # A signed-in user asking which sites offer an image sees each endpoint's
    # health: the registry's probe where it made one, else the site's own word.
    offering = registry.get(
        "/federation/sites", {"image": "debian-12"}, headers=basic("ana", "ana-password")
    ).json["sites"]
    assert [site["site"] for site in offering] == ["alpha", "beta"]
    for site in offering:
        expected = "ok" if site["site"] == "alpha" else "critical"
        assert site["health"][OCCI]["state"] == site["health"][CIMI]["state"] == expected
        identity = site["health"]["org.openstack.identity"]
        assert identity["state"] == "ok"
        assert identity["info"].startswith("as the site publishes it, not probed by the registry")
    assert offering[1]["health"][OCCI]["info"].startswith("the endpoint does not answer")
    sites = json.loads(run("federation", "sites", "--image", "debian-12", "--format", "json")[1])
    assert [site["health"].split() for site in sites] == [
        [f"{OCCI}=ok", f"{CIMI}=ok", "org.openstack.identity=ok"],
        [f"{OCCI}=critical", f"{CIMI}=critical", "org.openstack.identity=ok"],
    ]
    # Tenants never see it; nobody unsigned either.
    registry.get("/federation/members", headers=basic("ana", "ana-password"), status=403)
    registry.get("/federation/members", status=401)
