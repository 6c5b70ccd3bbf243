"""Signed image lists between sites: Concord publishes, Concord and atrope subscribe.

Site A is a whole Concord application served on loopback with a signing
certificate (``image_list_certificate``); site B subscribes with its CLI
(``concord federation image-list subscribe|sync``) and then offers A's
template as an OCCI os_tpl and a CIMI MachineImage carrying A's global id.
atrope 2.0.0 (EGI's image-list subscriber, installed unmodified from PyPI)
fetches the same list, verifies it with ``openssl smime -verify`` against the
CA directory it is given, and accepts it; a tampered copy it refuses, as B does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEYS, CliRun, basic, serving_bytes
from pki import certificate_authority, endorser, hashed_ca_directory
from webtest import TestApp

from concord.app import make_app
from concord.background import run_federation_turns
from concord.settings import Settings
from engine.catalog.models import Image
from engine.catalog.service import CatalogService
from engine.db import Database, utcnow
from engine.federation import hepix, smime
from engine.federation.image_lists import ImageListService
from engine.lifecycle import State
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

ENDORSER_DN = "/C=EU/O=Concord tests/CN=site-a"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


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


@pytest.fixture
def serve_bytes() -> Iterator[Callable[[bytes], str]]:
    """Serve fixed bytes (a tampered copy of a list) at ``/image.list``."""
    with contextlib.ExitStack() as servers:

        def start(body: bytes) -> str:
            base, _seen = servers.enter_context(serving_bytes({"/image.list": body}))
            return f"{base}/image.list"

        yield start


def _seed(database: Database, hasher: PasswordHasher, image: str | None) -> None:
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        admins = tenancy.create_account(system, "admins", root.id, AccountType.ADMIN)
        tenancy.create_user(system, admins.id, "admin", "admin-password")
        users = tenancy.create_account(system, "users", root.id, AccountType.USER)
        tenancy.create_user(system, users.id, "ana", "ana-password")
        if image:
            CatalogService(session).create_image(
                system,
                image,
                public=True,
                description="Debian 12, firmware only",
                properties={"os_name": "Debian", "os_version": "12"},
            )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("pki")
    ca = certificate_authority("Federation CA")
    site_a = endorser(ca, "site-a")
    cert, key = site_a.write(directory, "site-a")
    ca_file, _ = ca.write(directory, "ca")
    return {"ca": ca, "site_a": site_a, "cert": cert, "key": key, "ca_file": ca_file}


@pytest.fixture
def site_a(
    tmp_path: Path,
    sqlite_template: Path,
    settings: Settings,
    hasher: PasswordHasher,
    pki: dict[str, Any],
    serve: Callable[[Any], str],
) -> str:
    """Site A on loopback, publishing a list of one public template; returns its list URL."""
    path = tmp_path / "site-a.sqlite"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    _seed(database, hasher, "debian-12")
    site_settings = Settings.from_mapping(
        {
            **settings.as_pyramid(),
            "concord.site_name": "site-a",
            "concord.image_list_certificate": str(pki["cert"]),
            "concord.image_list_key": str(pki["key"]),
        },
        environ={},
    )
    return serve(make_app(site_settings, database)) + "/federation/image-list"


@pytest.fixture
def site_b(
    tmp_path: Path,
    sqlite_template: Path,
    hasher: PasswordHasher,
    concord_cli: Callable[[str], CliRun],
) -> tuple[Database, Callable[..., tuple[int, str]]]:
    """Site B's database, and its CLI."""
    path = tmp_path / "site-b.sqlite"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    _seed(database, hasher, None)
    run = concord_cli(f"sqlite:///{path}")
    return database, run


def test_a_site_subscribes_to_another_sites_list_and_offers_its_images(
    site_a: str,
    site_b: tuple[Database, Callable[..., tuple[int, str]]],
    pki: dict[str, Any],
    settings: Settings,
    serve_bytes: Callable[[bytes], str],
) -> None:
    database, run = site_b
    signed = _download(site_a)
    assert b"multipart/signed" in signed and b'"dc:title": "debian-12"' in signed

    # A tampered copy is refused and registers nothing.
    tampered = serve_bytes(signed.replace(b"Debian 12, firmware only", b"Debian 12, backdoored"))
    args = ["--endorser-dn", ENDORSER_DN, "--ca", str(pki["ca_file"])]
    assert run("federation", "image-list", "subscribe", "evil", tampered, *args)[0] == 0
    status, out = run("federation", "image-list", "sync", "evil")
    assert status == 1 and out.startswith("evil: refused: the signature does not verify")
    # Signed by the right CA but not by the endorser the subscription names: refused too.
    other = ["--endorser-dn", "/C=EU/O=Concord tests/CN=site-z", "--ca", str(pki["ca_file"])]
    assert run("federation", "image-list", "subscribe", "wrong", site_a, *other)[0] == 0
    status, out = run("federation", "image-list", "sync", "wrong")
    assert status == 1 and "not by /C=EU/O=Concord tests/CN=site-z" in out

    assert run("federation", "image-list", "subscribe", "site-a", site_a, *args)[0] == 0
    status, out = run("federation", "image-list", "sync", "site-a")
    assert (status, out) == (0, "site-a: accepted: 1 added, 0 updated, 0 retired\n")
    listed = run("federation", "image-list", "list")[1]
    assert "site-a.debian-12" not in listed and "never" in listed  # evil and wrong never synced

    app = TestApp(make_app(settings, database))
    ana = basic("ana", "ana-password")
    images = app.get("/cimi/machineImages", headers={**ana, "Accept": "application/json"}).json
    (image,) = [i for i in images.get("machineImages", []) if i["name"] == "site-a.debian-12"]
    assert image["properties"]["mpuri"].startswith(site_a + "#")
    assert image["description"] == "Debian 12, firmware only"
    query = app.get("/-/", headers={**ana, "Accept": "text/plain"}).text
    os_templates = [line for line in query.splitlines() if "os_tpl" in line]
    assert any("site-a.debian-12" in line for line in os_templates)


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        return response.read()  # type: ignore[no-any-return]


@pytest.fixture
def atrope_conf(tmp_path: Path, pki: dict[str, Any]) -> Iterator[Any]:
    """atrope's configuration in this process: the CA directory and a state directory."""
    import atrope.image_list.hepix  # noqa: F401  (registers its options)
    from oslo_config import cfg

    ca_path = hashed_ca_directory(tmp_path / "certificates", pki["ca"])
    cfg.CONF.set_override("ca_path", str(ca_path))
    cfg.CONF.set_override("state_path", str(tmp_path))
    yield cfg.CONF
    cfg.CONF.clear_override("ca_path")
    cfg.CONF.clear_override("state_path")


def test_atrope_accepts_a_sites_signed_list_and_refuses_a_tampered_copy(
    site_a: str, atrope_conf: Any, serve_bytes: Callable[[bytes], str]
) -> None:
    from atrope.image_list.hepix import HepixImageListSource

    endorser_config = {"dn": ENDORSER_DN, "ca": "/C=EU/O=Concord tests/CN=Federation CA"}
    source = HepixImageListSource("site-a", url=site_a, enabled=True, endorser=endorser_config)
    source.fetch()
    assert (source.verified, source.trusted, source.expired, source.error) == (
        True,
        True,
        False,
        None,
    )
    (image,) = source.get_subscribed_images()
    assert image.title == "debian-12" and image.mpuri.startswith(site_a + "#")
    assert (image.osname, image.osversion) == ("Debian", "12")

    signed = _download(site_a)
    tampered = serve_bytes(signed.replace(b"firmware only", b"firmware-only"))
    refused = HepixImageListSource("site-a", url=tampered, enabled=True, endorser=endorser_config)
    # atrope's verdict on a bad signature: openssl's exit status 4, raised as it comes.
    with pytest.raises(subprocess.CalledProcessError) as caught:
        refused.fetch()
    assert refused.verified is False and refused.image_list is None
    assert caught.value is refused.error


def test_the_list_is_served_only_when_configured_and_to_the_holders_of_its_token(
    tmp_path: Path, sqlite_template: Path, settings: Settings, pki: dict[str, Any]
) -> None:
    path = tmp_path / "site.sqlite"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    TestApp(make_app(settings, database)).get("/federation/image-list", status=404)
    configured = {
        **settings.as_pyramid(),
        "concord.image_list_certificate": str(pki["cert"]),
        "concord.image_list_key": str(pki["key"]),
    }
    guarded = TestApp(
        make_app(
            Settings.from_mapping({**configured, "concord.image_list_token": "t0k"}, environ={}),
            database,
        )
    )
    guarded.get("/federation/image-list", status=401)
    guarded.get("/federation/image-list", headers=basic("wrong", "x-oauth-basic"), status=401)
    assert (
        b"multipart/signed"
        in guarded.get("/federation/image-list", headers=basic("t0k", "x-oauth-basic")).body
    )
    guarded.get("/federation/image-list", headers={"Authorization": "Bearer t0k"}, status=200)
    # A key that is not the certificate's stops the start, with the reason.
    with pytest.raises(ValueError, match="does not belong to its certificate"):
        make_app(
            Settings.from_mapping(
                {
                    **configured,
                    "concord.image_list_key": str(pki["ca_file"]).replace(".pem", ".key"),
                },
                environ={},
            ),
            database,
        )


@pytest.fixture
def serve_routes() -> Iterator[tuple[str, dict[str, bytes], list[tuple[str, str | None]]]]:
    """Serve the bytes of each path; record each request's path and Authorization."""
    routes: dict[str, bytes] = {}
    with serving_bytes(routes) as (base, seen):
        yield base, routes, seen


def _signed_list(pki: dict[str, Any], base: str, images: dict[str, bytes]) -> bytes:
    now = utcnow()
    who = smime.endorser_of(pki["site_a"].certificate)
    listed = tuple(
        hepix.ListedImage(
            identifier=name, mpuri=f"{base}/image.list#{name}", title=name, description="",
            version="1", uri=f"{base}/{name}.img", disk_format="raw", size=len(body),
            sha512=hashlib.sha512(body).hexdigest(), arch="x86_64", os="linux",
            os_name="Debian", os_version="12",
        )
        for name, body in images.items()
    )  # fmt: skip
    drawn = hepix.ImageList(
        "11111111-2222-3333-4444-555555555555", "site-a", "images with bytes", "1",
        f"{base}/image.list", now, now + dt.timedelta(days=1), who.dn, who.ca, "site-a", "",
        listed,
    )  # fmt: skip
    identity = smime.SigningIdentity(pki["site_a"].certificate, (), pki["site_a"].key)
    return smime.sign(hepix.render(drawn), identity)


def _images(database: Database) -> dict[str, tuple[str, str | None, str | None]]:
    with database.transaction() as session:
        return {
            i.name: (i.state, i.location, i.state_message)
            for i in session.scalars(sa.select(Image).order_by(Image.name))
        }


def test_a_subscribed_lists_images_are_fetched_verified_and_refused_when_tampered(
    site_b: tuple[Database, Callable[..., tuple[int, str]]],
    pki: dict[str, Any],
    serve_routes: tuple[str, dict[str, bytes], list[tuple[str, str | None]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database, run = site_b
    base, routes, seen = serve_routes
    image_dir = tmp_path / "images"
    monkeypatch.setenv("CONCORD_FEDERATION_IMAGE_DIR", str(image_dir))
    debian, alma = b"debian disk\n" * 1000, b"alma disk\n" * 1000
    routes["/image.list"] = _signed_list(pki, base, {"debian": debian, "alma": alma})
    routes["/debian.img"] = debian
    routes["/alma.img"] = alma.replace(b"alma", b"evil")  # tampered on the server
    args = ["--endorser-dn", ENDORSER_DN, "--ca", str(pki["ca_file"]), "--token", "t0k"]
    assert (
        run("federation", "image-list", "subscribe", "site-a", f"{base}/image.list", *args)[0] == 0
    )

    status, out = run("federation", "image-list", "sync")
    assert status == 1
    assert out == (
        "site-a: accepted: 2 added, 0 updated, 0 retired\n"
        "  site-a.alma: not fetched: its sha512 is not the listed one\n"
        "  site-a.debian: fetched and verified\n"
    )
    images = _images(database)
    state, location, message = images.pop("site-a.debian")
    assert state == State.AVAILABLE and message is None and location is not None
    assert Path(location).parent == image_dir and Path(location).stat().st_mode & 0o777 == 0o644
    assert (
        hashlib.sha512(Path(location).read_bytes()).hexdigest()
        == hashlib.sha512(debian).hexdigest()
    )
    assert images == {
        "site-a.alma": (
            State.ERROR,
            None,
            f"its bytes were not fetched from {base}/alma.img: its sha512 is not the listed one",
        )
    }
    assert list(image_dir.iterdir()) == [Path(location)]
    # The token went with every request: the images are at the list's origin.
    secret = "Basic " + base64.b64encode(b"t0k:x-oauth-basic").decode()
    assert {auth for _path, auth in seen} == {secret}

    # The next sync fetches the available image no more and retries the refused one.
    routes["/alma.img"] = alma
    seen.clear()
    status, out = run("federation", "image-list", "sync", "site-a")
    assert (status, out) == (
        0,
        "site-a: accepted: 0 added, 1 updated, 0 retired\n  site-a.alma: fetched and verified\n",
    )
    assert [path for path, _auth in seen] == ["/image.list", "/alma.img"]
    assert {name: state for name, (state, _l, _m) in _images(database).items()} == {
        "site-a.alma": State.AVAILABLE,
        "site-a.debian": State.AVAILABLE,
    }


def test_the_workers_schedule_fetches_a_lists_images_too(
    site_b: tuple[Database, Callable[..., tuple[int, str]]],
    pki: dict[str, Any],
    serve_routes: tuple[str, dict[str, bytes], list[tuple[str, str | None]]],
    tmp_path: Path,
) -> None:
    database, _run = site_b
    base, routes, _seen = serve_routes
    body = b"fetched on the schedule\n" * 500
    routes["/image.list"] = _signed_list(pki, base, {"centos": body})
    routes["/centos.img"] = body
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).root())
        ImageListService(session, TEST_SERVER_KEYS).subscribe(
            system, "site-a", f"{base}/image.list", ENDORSER_DN, pki["ca"].pem
        )
    settings = Settings.from_mapping(
        {
            "concord.image_list_sync_interval": "3600",
            "concord.federation_image_dir": str(tmp_path / "images"),
        },
        environ={},
    )
    done = run_federation_turns(database, settings, TEST_SERVER_KEYS)
    assert done == ["image list site-a: accepted", "image site-a.centos: fetched"]
    state, location, _message = _images(database)["site-a.centos"]
    assert state == State.AVAILABLE and location is not None
    assert Path(location).read_bytes() == body
