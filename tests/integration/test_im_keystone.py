"""IM's OCCI connector signs in on a Concord site through the Keystone token flow.

A site with ``keystone_challenge`` on trusts a local OpenID Connect issuer
(tests/oidc_issuer.py, tokens signed with joserfc) under the name IM's
connector hard-codes for its identity provider, ``egi.eu``, and maps members
of virtual organisation ``demo`` into account ``demo`` and its project
``demo``. IM 1.19.1's connector (installed unmodified, run as
:mod:`integration.im_client` says) is given nothing but an access token of
that issuer. It finds the site's Keystone in
the ``WWW-Authenticate`` challenge of an unauthenticated ``HEAD /-/``, reads
the API versions, exchanges the token for an unscoped Keystone token
(``OS-FEDERATION/identity_providers/egi.eu/protocols/oidc/auth``), lists its
projects and gets a token scoped to the one it has, and then sends that
``X-Auth-Token`` with every OCCI request (with the access token still beside
it, as ``Authorization: Bearer``). The access token expires before IM creates
anything, as access tokens do long before the work they started is over:
the scoped token alone must carry IM through creating a compute with a
storage link, polling it until it runs, suspending and starting it, reading
it, and deleting it all. A token of an issuer the site does not trust gets
IM no token (the federation sign-in answers 401) and creates nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from IM.auth import Authentication
from IM.CloudInfo import CloudInfo
from IM.VirtualMachine import VirtualMachine
from integration.im_client import (
    InfrastructureInfo,
    compute_request,
    occi_get,
    patch_im,
    wait_state,
)
from integration.processes import ManagedProcess, ProcessGroup, http, run_cli, wait_until
from oidc_issuer import ENTITLEMENT, LocalIssuer, vo_mapping

pytestmark = pytest.mark.integration

#: The identity provider IM's connector names in the federation path, whatever the site.
IDP = "egi.eu"
#: Seconds the access token IM is given stays valid: long enough to sign in once.
ACCESS_TOKEN_LIFETIME = 15
COLLECTIONS = ("compute", "storage", "storagelink", "networkinterface")


@dataclass
class Site:
    server: ManagedProcess
    database: Path

    def count(self, table: str) -> int:
        with sqlite3.connect(self.database) as connection:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    def federated_users(self) -> list[tuple[str, str]]:
        """(user name, account name) of every federated identity."""
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute(
                "SELECT users.username, accounts.name FROM federated_identities"
                " JOIN users ON users.id = federated_identities.user_id"
                " JOIN accounts ON accounts.id = users.account_id ORDER BY users.username"
            ).fetchall()
        return [(str(user), str(account)) for user, account in rows]


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    issuer = LocalIssuer(audience="concord-keystone").start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, issuer: LocalIssuer) -> Iterator[Site]:
    """A demo site that answers bare requests with the Keystone challenge and trusts ``issuer``."""
    directory: Path = tmp_path_factory.mktemp("im-keystone")
    database = directory / "site.sqlite"
    # No leeway: the access token must really be expired when the test says it is.
    settings = {"keystone_challenge": "true", "federation_token_leeway": "0"}
    group = ProcessGroup(directory, f"sqlite:///{database}", settings=settings)
    mapping = directory / "mapping.json"
    mapping.write_text(json.dumps(vo_mapping(IDP, project=True)), encoding="utf-8")
    try:
        with group.explain_failure():
            server = group.start_demo()
            group.wait_healthy(server, timeout=120)
            run_cli(group.env(), "federation", "issuer", "add", IDP, issuer.url,
                    "--audience", issuer.audience)  # fmt: skip
            # The virtual organisation's project, which IM's Keystone token is scoped to.
            run_cli(group.env(), "project", "create", "demo", "--owner", "demo")
            run_cli(group.env(), "federation", "mapping", "set", str(mapping))
            yield Site(server, database)
    finally:
        assert group.stop_all() == []


@pytest.fixture
def im_patched(monkeypatch: pytest.MonkeyPatch) -> None:
    """IM's patches (integration.im_client), undone after the test."""
    patch_im(monkeypatch)


def _occi_auth(site: Site, token: str) -> Authentication:
    """IM's credentials for the site: the access token, nothing else."""
    credentials = {"id": "concord", "type": "OCCI", "host": site.server.url, "token": token}
    return Authentication([credentials])


def _connector(site: Site, auth: Authentication) -> tuple[object, object, object]:
    """IM's connector for the site, with the RADL of one VM with a second disk, made concrete."""
    (cloud,) = CloudInfo.get_cloud_list(auth)
    radl, image = compute_request(site.server)
    infrastructure = InfrastructureInfo(radl, auth)
    connector = cloud.getCloudConnector(infrastructure)
    concrete = connector.concrete_system(radl.systems[0], image, auth)
    assert concrete is not None, "IM finds the image not to be this cloud's"
    radl.systems[0] = concrete
    return connector, infrastructure, radl


def test_the_site_sends_a_bare_request_to_its_keystone(site: Site) -> None:
    reply = http("HEAD", f"{site.server.url}/-/", headers={"Accept": "text/plain"})
    assert reply.status == 401
    assert reply.headers["www-authenticate"] == f"Keystone uri='{site.server.url}/keystone/v3'"


def test_im_runs_a_compute_with_a_storage_link_on_a_scoped_keystone_token(
    site: Site, issuer: LocalIssuer, im_patched: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="CloudConnector")
    access_token = issuer.token(
        "ada-sub",
        lifetime=ACCESS_TOKEN_LIFETIME,
        eduperson_entitlement=[ENTITLEMENT.format(vo="demo")],
    )
    expires = time.time() + ACCESS_TOKEN_LIFETIME
    auth = _occi_auth(site, access_token)
    connector, infrastructure, radl = _connector(site, auth)

    # IM's sign-in: challenge, versions, federation auth, projects, scoped token.
    header = connector.get_auth_header(auth)
    assert header is not None and set(header) == {"X-Auth-Token"}, header
    assert site.federated_users() == [("ada-sub@egi.eu", "demo")]
    said = [r.getMessage().rsplit(": ", 1)[-1] for r in caplog.records]
    assert said == ["Getting Keystone v3 token", "demo"], said  # "Using project: demo"

    # From now on the access token IM keeps sending beside X-Auth-Token is expired.
    def expired() -> bool:
        if time.time() <= expires:
            return False
        bearer = {"Authorization": f"Bearer {access_token}", "Accept": "text/plain"}
        return http("GET", f"{site.server.url}/compute/", headers=bearer).status == 401

    wait_until(expired, ACCESS_TOKEN_LIFETIME + 30, "the access token to expire")

    ((launched, vm),) = connector.launch(infrastructure, radl, radl.clone(), 1, auth)
    assert launched, vm
    wait_state(vm, auth, VirtualMachine.RUNNING, site.server.tail)
    for operation, state in (
        (connector.stop, VirtualMachine.STOPPED),
        (connector.start, VirtualMachine.RUNNING),
    ):
        done, detail = operation(vm, auth)
        assert done, detail
        wait_state(vm, auth, state, site.server.tail)
    assert vm.getPrivateIP() and vm.getPrivateIP().startswith("10.1.0."), vm.getPrivateIP()

    # The compute is in the mapped tenant: the demo account's own user sees it, linked to the disk.
    compute = occi_get(site.server, f"/compute/{vm.id}")
    ((link, volume, device),) = connector.get_attached_volumes_from_info(compute)
    assert device == "/dev/vdb"
    assert volume.rsplit("/", 1)[1] == vm.info.systems[0].getValue("disk.1.provider_id")
    assert link.startswith(f"{site.server.url}/storagelink/")

    done, detail = connector.finalize(vm, True, auth)
    assert done, detail
    for collection in COLLECTIONS:
        assert occi_get(site.server, f"/{collection}/") == "", f"IM left a {collection} behind"
    assert connector.error_messages == ""
    complaints = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert complaints == []


def test_a_token_of_an_untrusted_issuer_gets_im_no_token_and_creates_nothing(
    site: Site, issuer: LocalIssuer, im_patched: None
) -> None:
    stranger = LocalIssuer(audience=issuer.audience).start()
    try:
        token = stranger.token("eve-sub", eduperson_entitlement=[ENTITLEMENT.format(vo="demo")])
        before = {table: site.count(table) for table in ("users", "computes", "volumes")}
        auth = _occi_auth(site, token)
        connector, infrastructure, radl = _connector(site, auth)
        with pytest.raises(Exception, match=r"Error obtaining Keystone v3 Token: 401 Client Error"):
            connector.launch(infrastructure, radl, radl.clone(), 1, auth)
        assert connector.keystone_token is None
        assert {table: site.count(table) for table in before} == before
        assert ("eve-sub@egi.eu", "demo") not in site.federated_users()
        for collection in COLLECTIONS:
            assert occi_get(site.server, f"/{collection}/") == "", collection
    finally:
        stranger.stop()
