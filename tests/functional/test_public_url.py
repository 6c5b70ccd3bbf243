"""Absolute URLs never take an attacker's host: ``public_url`` and ``trusted_proxies``.

Every absolute URL one OCCI and one CIMI exchange render is collected through
the whole WSGI application: OCCI's ``Location`` and its ``text/uri-list``
listing, CIMI's ``baseURI``, ``id`` and ``href`` values and ``Location``.
Each scenario sends a hostile ``Host`` header, ``X-Forwarded-*`` headers, or
both, from a trusted or an untrusted peer (``REMOTE_ADDR``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import basic
from unit.engine.cloud import Cloud, build_cloud
from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from engine.db import Database
from engine.tenancy.passwords import PasswordHasher

#: The base of a request that names no other host (WebTest's Host header).
LOCAL = "http://localhost"
HOSTILE = "evil.example"
PUBLIC = "https://cloud.example.org/api"  # a path prefix, as behind a proxy
TRUSTED = "10.0.0.0/8, 192.0.2.1"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "proxied.example:8443"}
NETWORK_KIND = (
    'Category: network; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
)


@pytest.fixture
def cloud(
    database: Database, tenancy: Any, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    """A zone to create networks in, and the tenants of ``tests/conftest.py``."""
    yield from build_cloud(database, tenancy, hasher, tmp_path)


@pytest.fixture
def app_with(database: Database, settings: Settings) -> Callable[..., TestApp]:
    """The whole application with the test settings and these (``public_url=...``)."""

    def make(**values: str) -> TestApp:
        given = dataclasses.replace(settings, **values)
        given.validate()
        return TestApp(make_app(given, database))

    return make


def rendered_urls(
    app: TestApp,
    *,
    host: str | None = None,
    peer: str = "127.0.0.1",
    forwarded: dict[str, str] | None = None,
) -> list[str]:
    """Every absolute URL an OCCI and a CIMI exchange answer with, as alice."""
    headers = {**basic("alice", "alice-password"), **(forwarded or {})}
    if host is not None:
        headers["Host"] = host
    environ = {"REMOTE_ADDR": peer}

    def send(method: str, path: str, body: str = "", **more: str) -> Any:
        return app.request(
            path, method=method, body=body.encode(), headers={**headers, **more},
            environ=environ, expect_errors=True,
        )  # fmt: skip

    found: list[str] = []
    # OCCI: a 201's Location, and a listing's absolute locations.
    created = send("POST", "/network/", NETWORK_KIND, **{"Content-Type": "text/plain"})
    assert created.status_int == 201, created.text
    found.append(created.headers["Location"])
    found += send("GET", "/network/", Accept="text/uri-list").text.split()
    # CIMI: the Cloud Entry Point's baseURI, id and hrefs; a 201's Location and ids.
    cep = send("GET", "/cimi/cloudEntryPoint", Accept="application/json").json
    found += [cep["baseURI"], cep["id"], cep["machines"]["href"], cep["networks"]["href"]]
    body = json.dumps({"name": "a", "ip": "10.1.0.9"})
    created = send(
        "POST", "/cimi/addressTemplates", body,
        **{"Content-Type": "application/json", "Accept": "application/json"},
    )  # fmt: skip
    assert created.status_int == 201, created.text
    found.append(created.headers["Location"])
    listing = send("GET", "/cimi/addressTemplates", Accept="application/json").json
    found += [listing["id"], *(t["id"] for t in listing["addressTemplates"])]
    return found


def assert_under(urls: list[str], base: str) -> None:
    assert urls, "no URL was rendered"
    strays = [url for url in urls if not url.startswith(base + "/")]
    assert not strays, f"not under {base}: {strays}"


def test_without_settings_urls_follow_the_request(
    app_with: Callable[..., TestApp], cloud: Cloud
) -> None:
    # Today's behaviour, kept for a workstation (and documented as a risk): the
    # request's own Host. X-Forwarded-* headers are believed from nobody.
    app = app_with()
    assert_under(rendered_urls(app), LOCAL)
    assert_under(rendered_urls(app, host=HOSTILE), f"http://{HOSTILE}")
    assert_under(rendered_urls(app, peer="10.1.2.3", forwarded=FORWARDED), LOCAL)


@pytest.mark.parametrize(
    ("host", "peer", "forwarded"),
    [
        (HOSTILE, "203.0.113.7", None),  # a hostile Host header
        (HOSTILE, "203.0.113.7", FORWARDED),  # forwarded headers from an untrusted peer
        (HOSTILE, "10.1.2.3", FORWARDED),  # ... and from a trusted proxy
        (None, "10.1.2.3", {"X-Forwarded-Host": HOSTILE}),
    ],
)
def test_the_public_url_is_the_only_base(
    app_with: Callable[..., TestApp],
    cloud: Cloud,
    host: str | None,
    peer: str,
    forwarded: dict[str, str],
) -> None:
    app = app_with(public_url=PUBLIC + "/", trusted_proxies=TRUSTED)
    assert_under(rendered_urls(app, host=host, peer=peer, forwarded=forwarded), PUBLIC)


def test_trusted_proxies_alone_forward_scheme_and_host(
    app_with: Callable[..., TestApp], cloud: Cloud
) -> None:
    app = app_with(trusted_proxies=TRUSTED)
    # A trusted proxy says which scheme and host the client used.
    proxied = "https://proxied.example:8443"
    assert_under(rendered_urls(app, peer="10.1.2.3", forwarded=FORWARDED), proxied)
    # A proxy that appends to what the client sent: its own value, the last, counts.
    appended = {"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": f"{HOSTILE}, b.example"}
    assert_under(rendered_urls(app, peer="192.0.2.1", forwarded=appended), "https://b.example")
    # An untrusted peer's X-Forwarded-* headers are ignored.
    assert_under(
        rendered_urls(app, peer="203.0.113.7", forwarded={"X-Forwarded-Host": HOSTILE}),
        LOCAL,
    )
    # A forwarded value that is not a host (or scheme) is ignored too.
    bad = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": f"{HOSTILE}/x?y"}
    assert_under(rendered_urls(app, peer="10.1.2.3", forwarded=bad), LOCAL)


def test_absolute_references_at_the_public_url_are_read_as_paths(
    app_with: Callable[..., TestApp], cloud: Cloud
) -> None:
    # The parsers strip the same base the renderers add: a client that echoes
    # back a location it was given reaches the same entity.
    app = app_with(public_url=PUBLIC)
    headers = {**basic("alice", "alice-password"), "Host": HOSTILE}
    created = app.post("/network/", NETWORK_KIND, headers={**headers, "Content-Type": "text/plain"})
    location = created.headers["Location"]
    assert location.startswith(PUBLIC + "/network/")
    app.post(
        "/-/",
        'Category: web; scheme="http://example.org/alice/tags#"; class="mixin"; location="/web/"\n',
        headers={**headers, "Content-Type": "text/plain"},
    )
    app.post(
        "/web/", f"X-OCCI-Location: {location}\n", headers={**headers, "Content-Type": "text/plain"}
    )
    members = app.get("/web/", headers={**headers, "Accept": "text/uri-list"}).text.split()
    assert members == [location]
