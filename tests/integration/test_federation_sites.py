"""Three Concord sites on loopback federate: one identity provider, one image list.

Each site is a ``concord serve --demo`` process with its own port, SQLite
database and simulated libvirt hosts, configured with the ``concord
federation`` CLI as an operator would. A local OpenID Connect issuer
(tests/oidc_issuer.py, built on joserfc) is trusted by all three, with one
mapping rule placing members of virtual organisation ``demo`` in account
``demo``: its token signs in on every site and lands in that tenant, while an
untrusted issuer, a wrong audience, an expired token and a token that no rule
matches are each 401 and create nothing. Site A signs its public templates as
an image list; B and C subscribe, and a guest is launched on B from A's image
through OCCI and through CIMI, its template carrying A's global image id.
Site C is the federation's accounting repository: B pushes its APEL usage
records there (``concord usage export --push``), and C's summary shows B's
guests under A's global image id.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from integration.processes import (
    ManagedProcess,
    ProcessGroup,
    basic_auth,
    http,
    run_cli,
    wait_until,
)
from oidc_issuer import ENTITLEMENT, LocalIssuer, vo_mapping
from pki import certificate_authority, endorser

from engine.db import Database
from engine.events.models import Event
from engine.usage.apel import parse_cloud_message

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SITES = ("site-a", "site-b", "site-c")
MAPPING = vo_mapping("aai")
DEMO = basic_auth("demo", "demo")
OS_TPL = "http://schemas.concord.invalid/occi/os_tpl#"
RESOURCE_TPL = "http://schemas.concord.invalid/occi/resource_tpl#"


@dataclass
class Site:
    name: str
    group: ProcessGroup
    server: ManagedProcess
    database: Path

    @property
    def url(self) -> str:
        return self.server.url

    def cli(self, *args: str) -> str:
        return run_cli(self.group.env(), *args)

    def count(self, table: str) -> int:
        with sqlite3.connect(self.database) as connection:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    def image_id(self, name: str) -> str:
        with sqlite3.connect(self.database) as connection:
            (found,) = connection.execute(
                "SELECT id FROM images WHERE name = ?", (name,)
            ).fetchone()
        return str(found)

    def federated_account(self, subject: str) -> str | None:
        with sqlite3.connect(self.database) as connection:
            row = connection.execute(
                "SELECT accounts.name FROM federated_identities"
                " JOIN users ON users.id = federated_identities.user_id"
                " JOIN accounts ON accounts.id = users.account_id"
                " WHERE federated_identities.subject = ?",
                (subject,),
            ).fetchone()
        return None if row is None else str(row[0])


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    issuer = LocalIssuer(audience="concord-federation").start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def sites(
    tmp_path_factory: pytest.TempPathFactory, issuer: LocalIssuer
) -> Iterator[dict[str, Site]]:
    root = tmp_path_factory.mktemp("federation")
    ca = certificate_authority("Federation CA")
    cert, key = endorser(ca, "site-a").write(root, "site-a")
    ca_file, _ = ca.write(root, "ca")
    mapping = root / "mapping.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    started: dict[str, Site] = {}
    try:
        for name in SITES:
            home = root / name
            home.mkdir()
            database = home / "site.sqlite"
            settings = {"site_name": name}
            if name == "site-a":
                settings.update(image_list_certificate=str(cert), image_list_key=str(key))
            if name == "site-b":
                # Usage is aggregated by the test, after moving B's ledger back in time.
                settings.update(usage_interval="0")
            if name == "site-c":
                settings.update(accounting_repository="true")
            group = ProcessGroup(home, f"sqlite:///{database}", settings=settings)
            server = group.start_demo(name)
            started[name] = Site(name, group, server, database)
        for site in started.values():
            site.group.wait_healthy(site.server, timeout=120)
            site.cli(
                "federation", "issuer", "add", "aai", issuer.url, "--audience", issuer.audience
            )
            site.cli("federation", "mapping", "set", str(mapping))
        for name in ("site-b", "site-c"):
            started[name].cli(
                "federation", "image-list", "subscribe", "site-a",
                f"{started['site-a'].url}/federation/image-list",
                "--endorser-dn", "/C=EU/O=Concord tests/CN=site-a", "--ca", str(ca_file),
            )  # fmt: skip
        yield started
    finally:
        for site in started.values():
            print(site.group.logs()) if site.group.stop_all() else None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "text/uri-list"}


def test_a_token_of_the_trusted_issuer_signs_in_on_every_site_into_the_mapped_tenant(
    sites: dict[str, Site], issuer: LocalIssuer
) -> None:
    token = issuer.token("ada-sub", eduperson_entitlement=[ENTITLEMENT.format(vo="demo")])
    for site in sites.values():
        reply = http("GET", f"{site.url}/compute/", headers=_bearer(token))
        assert reply.status == 200, (site.name, reply.text)
        assert site.federated_account("ada-sub") == "demo"


def test_tokens_a_site_must_not_accept_are_401_and_create_nothing(
    sites: dict[str, Site], issuer: LocalIssuer
) -> None:
    stranger = LocalIssuer(audience=issuer.audience).start()
    try:
        member = {"eduperson_entitlement": [ENTITLEMENT.format(vo="demo")]}
        refused = {
            "untrusted issuer": stranger.token("eve-sub", **member),
            "wrong audience": issuer.token("eve-sub", aud="another-service", **member),
            "expired": issuer.token("eve-sub", lifetime=-600, **member),
            "no rule matches": issuer.token(
                "eve-sub", eduperson_entitlement=["urn:mace:example.org:group:demo:role=guest"]
            ),
        }
        for site in sites.values():
            before = (site.count("users"), site.count("federated_identities"))
            for case, token in refused.items():
                reply = http("GET", f"{site.url}/compute/", headers=_bearer(token))
                assert reply.status == 401, (site.name, case, reply.text)
            assert (site.count("users"), site.count("federated_identities")) == before
            assert site.federated_account("eve-sub") is None
    finally:
        stranger.stop()


def _machine_images(site: Site) -> dict[str, dict[str, object]]:
    reply = http(
        "GET", f"{site.url}/cimi/machineImages", headers={**DEMO, "Accept": "application/json"}
    )
    assert reply.status == 200, reply.text
    return {i["name"]: i for i in json.loads(reply.text).get("machineImages", [])}


def test_sites_subscribe_to_a_sites_image_list_and_launch_its_image(
    sites: dict[str, Site], issuer: LocalIssuer
) -> None:
    site_a, site_b = sites["site-a"], sites["site-b"]
    published = _machine_images(site_a)
    source_name = sorted(published)[0]
    # CIMI's href names the image by its readable term; the list names it by its id.
    global_id = f"{site_a.url}/federation/image-list#{site_a.image_id(source_name)}"
    for name in ("site-b", "site-c"):
        out = sites[name].cli("federation", "image-list", "sync")
        assert out.startswith(f"site-a: accepted: {len(published)} added"), out
        image = _machine_images(sites[name])[f"site-a.{source_name}"]
        assert image["properties"]["mpuri"] == global_id  # type: ignore[index]
    image_id = str(_machine_images(site_b)[f"site-a.{source_name}"]["id"]).rsplit("/", 1)[-1]

    token = issuer.token("ada-sub", eduperson_entitlement=[ENTITLEMENT.format(vo="demo")])
    configs = json.loads(
        http(
            "GET",
            f"{site_b.url}/cimi/machineConfigs",
            headers={**DEMO, "Accept": "application/json"},
        ).text
    )["machineConfigurations"]
    config = min(configs, key=lambda c: (c["cpu"], c["memory"]))
    offering_id = str(config["id"]).rsplit("/", 1)[-1]

    # Through OCCI, signed in with the federation's token.
    occi = http(
        "POST",
        f"{site_b.url}/compute/",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "text/occi",
            "Category": (
                'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind", '
                f'{image_id}; scheme="{OS_TPL}"; class="mixin", '
                f'{offering_id}; scheme="{RESOURCE_TPL}"; class="mixin"'
            ),
            "X-OCCI-Attribute": 'occi.core.title="from-a-occi"',
        },
    )
    assert occi.status == 201, occi.text
    occi_url = occi.headers["location"]
    # Through CIMI.
    create = {
        "resourceURI": "http://schemas.dmtf.org/cimi/1/MachineCreate",
        "name": "from-a-cimi",
        "machineTemplate": {
            "machineConfig": {"href": config["id"]},
            "machineImage": {"href": f"{site_b.url}/cimi/machineImages/{image_id}"},
        },
    }
    cimi = http(
        "POST",
        f"{site_b.url}/cimi/machines",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps(create),
    )
    assert cimi.status in (201, 202), cimi.text
    cimi_url = cimi.headers["location"]

    def running() -> bool:
        compute = http(
            "GET", occi_url, headers={"Authorization": f"Bearer {token}", "Accept": "text/plain"}
        )
        machine = http(
            "GET",
            cimi_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        return (
            compute.attribute("occi.compute.state") == "active"
            and json.loads(machine.text).get("state") == "STARTED"
        )

    wait_until(running, 60, "both guests on site B to run", site_b.group.logs)
    with sqlite3.connect(site_b.database) as connection:
        launched = connection.execute(
            "SELECT computes.name, images.properties FROM computes"
            " JOIN images ON images.id = computes.image_id"
            " WHERE computes.name IN ('from-a-occi', 'from-a-cimi') ORDER BY computes.name"
        ).fetchall()
    assert [(name, json.loads(props)["mpuri"]) for name, props in launched] == [
        ("from-a-cimi", global_id),
        ("from-a-occi", global_id),
    ]

    _push_usage_to_the_repository(sites, global_id)


def _push_usage_to_the_repository(sites: dict[str, Site], global_id: str) -> None:
    """B pushes its APEL records to C, the repository; C's summary shows them under A's image."""
    site_b, site_c = sites["site-b"], sites["site-c"]
    token = site_c.cli("federation", "accounting", "site", "add", "site-b").splitlines()[1]
    # Usage is aggregated per hour once the hour is over: move B's whole event log
    # two hours back, standing for two hours of running, so that one aggregation
    # covers whole hours of the new guests (no period of B was aggregated before).
    ledger = Database(f"sqlite:///{site_b.database}")
    with ledger.transaction() as session:
        for event in session.query(Event):
            event.occurred = event.occurred - dt.timedelta(hours=2)
    ledger.dispose()
    site_b.cli("usage", "aggregate", "--settle", "0")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    window = (
        "--from", f"{now - dt.timedelta(hours=3):%Y-%m-%dT%H:%M:%SZ}",
        "--to", f"{now:%Y-%m-%dT%H:%M:%SZ}",
    )  # fmt: skip
    exported = site_b.cli("usage", "export", "--format", "apel", *window)
    launched = [r for r in parse_cloud_message(exported) if r.get("ImageId") == global_id]
    assert len(launched) == 2 and all(r["WallDuration"] > 0 for r in launched), exported
    intake = f"{site_c.url}/federation/accounting/records"
    refused = http("POST", intake, headers={"Authorization": "Bearer not-a-site"}, body=exported)
    assert refused.status == 401, refused.text
    for _ in range(2):  # pushed twice: replaced, not counted twice
        out = site_b.cli(
            "usage", "export", "--format", "apel", *window, "--push", intake, "--token", token
        )
        assert out.endswith(f"pushed to {intake}\n"), out
    summary = json.loads(
        site_c.cli("federation", "accounting", "summary", "--site", "site-b", "--format", "json")
    )["summary"]
    rows = [row for row in summary if row["image_id"] == global_id]
    assert [(r["site"], r["vms"], r["month"]) for r in rows] == [("site-b", 2, f"{now:%Y-%m}")], (
        summary
    )
    assert rows[0]["wall_duration"] == sum(r["WallDuration"] for r in launched)
    assert rows[0]["cpu_duration"] == sum(r["CpuDuration"] for r in launched)
