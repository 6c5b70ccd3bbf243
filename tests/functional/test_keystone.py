"""The Keystone v3 subset: an identity provider's token becomes a project-scoped X-Auth-Token.

The flow is the one IM's OCCI connector and rOCCI-cli follow (federation/keystone.py).
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from functional.occi.occiclient import COMPUTE, OcciClient
from helpers import TEST_SERVER_KEYS
from oidc_issuer import LocalIssuer
from unit.engine.cloud import build_cloud
from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from engine.compute.models import Compute
from engine.db import Database
from engine.federation.identity import FederatedIdentityService
from engine.federation.tokens import TokenService
from engine.tenancy.credentials import CredentialService
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.server_keys import ServerKeys
from engine.tenancy.service import TenancyService

KEYSTONE = "/keystone/v3"
IDP = "egi.eu"
AUTH = f"{KEYSTONE}/OS-FEDERATION/identity_providers/{IDP}/protocols/oidc/auth"
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


@pytest.fixture
def research(database: Database, tenancy: Any, issuer: LocalIssuer) -> str:
    """Issuer egi.eu trusted, vo:<name> mapped to account dev and project <name>; 'research'."""
    with database.transaction() as session:
        service = FederatedIdentityService(session)
        service.add_issuer(tenancy.root, IDP, issuer.url, "site")
        service.set_mapping(
            tenancy.root,
            {
                "rules": [
                    {
                        "remote": [
                            {"claim": "sub"},
                            {"claim": "entitlement", "regex": "vo:(?P<vo>[a-z]+)"},
                        ],
                        "local": {"domain": "ROOT/acme", "account": "dev", "project": "{vo}"},
                    }
                ]
            },
        )
        alice = CredentialService(session).scope_for_user_id(tenancy.ids["alice"])
        return TenancyService(session).create_project(alice, "research").id


def _scoped_token(app: TestApp, issuer: LocalIssuer, project_id: str) -> str:
    bearer = {"Authorization": f"Bearer {issuer.token('s-1', entitlement=['vo:research'])}"}
    unscoped = app.get(AUTH, headers={**JSON, **bearer}, status=201)
    token = unscoped.headers["X-Subject-Token"]
    assert unscoped.json["token"]["user"]["name"] == "s-1@egi.eu"
    assert "project" not in unscoped.json["token"]
    projects = app.get(f"{KEYSTONE}/auth/projects", headers={**JSON, "X-Auth-Token": token})
    assert [(p["id"], p["name"]) for p in projects.json["projects"]] == [(project_id, "research")]
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token}},
            "scope": {"project": {"id": project_id}},
        }
    }
    scoped = app.post_json(
        f"{KEYSTONE}/auth/tokens", body, headers={"X-Auth-Token": token}, status=201
    )
    assert scoped.json["token"]["project"]["id"] == project_id
    return str(scoped.headers["X-Subject-Token"])


def test_versions_name_v3(app: TestApp) -> None:
    versions = app.get("/keystone", headers=JSON, status=200).json["versions"]["values"]
    assert [v["id"][:2] for v in versions] == ["v3"]
    assert app.get(KEYSTONE, headers=JSON).json["version"]["status"] == "stable"


def test_the_federated_flow_ends_in_a_project_scoped_occi_request(
    app: TestApp,
    database: Database,
    tenancy: Any,
    hasher: PasswordHasher,
    tmp_path: Path,
    issuer: LocalIssuer,
    research: str,
) -> None:
    for cloud in build_cloud(database, tenancy, hasher, tmp_path):
        token = _scoped_token(app, issuer, research)
        app.get("/-/", headers={"X-Auth-Token": token}, status=200)
        federated = OcciClient(app, credentials={"X-Auth-Token": token})
        path = federated.create(COMPUTE, {"occi.core.title": "scoped"})
        cloud.run_jobs()
        compute_id = path.rstrip("/").rsplit("/", 1)[-1]
        client = OcciClient(app)
        with database.transaction() as session:
            compute = session.get(Compute, compute_id)
            assert compute is not None and compute.project_id == research
        # Alice is in the project too: she sees it; carol does not.
        assert any(compute_id in path for path in client.listing("/compute/"))
        assert not any(compute_id in path for path in client.as_user("carol").listing("/compute/"))


def test_a_token_for_another_identity_provider_or_protocol_is_refused(
    app: TestApp, issuer: LocalIssuer, research: str
) -> None:
    bearer = {"Authorization": f"Bearer {issuer.token('s-1', entitlement=['vo:research'])}"}
    other = AUTH.replace(IDP, "other.idp")
    error = app.get(other, headers={**JSON, **bearer}, status=401).json["error"]
    assert (error["code"], error["title"]) == (401, "Unauthorized")
    app.get(AUTH.replace("/oidc/", "/mapped/"), headers={**JSON, **bearer}, status=401)
    app.get(AUTH, headers=JSON, status=401)  # no bearer token at all


def test_altered_foreign_and_expired_tokens_are_refused(
    app: TestApp, database: Database, tenancy: Any, issuer: LocalIssuer, research: str
) -> None:
    token = _scoped_token(app, issuer, research)
    altered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    foreign = TokenService(None, ServerKeys([ServerKeys.generate()]))  # type: ignore[arg-type]
    with database.transaction() as session:
        scope = CredentialService(session).scope_for_user_id(tenancy.ids["alice"])
        expired = TokenService(session, TEST_SERVER_KEYS).issue(scope, dt.timedelta(seconds=-1))
    for bad in (altered, foreign.issue(scope, dt.timedelta(hours=1)).value, expired.value, "x"):
        app.get("/-/", headers={"X-Auth-Token": bad}, status=401)
        app.get(f"{KEYSTONE}/auth/projects", headers={**JSON, "X-Auth-Token": bad}, status=401)


def test_scoping_needs_membership_and_the_token_itself(
    app: TestApp, database: Database, tenancy: Any, issuer: LocalIssuer, research: str
) -> None:
    bearer = {"Authorization": f"Bearer {issuer.token('s-1', entitlement=['vo:research'])}"}
    token = app.get(AUTH, headers={**JSON, **bearer}, status=201).headers["X-Subject-Token"]
    with database.transaction() as session:
        carol = CredentialService(session).scope_for_user_id(tenancy.ids["carol"])
        carols = TenancyService(session).create_project(carol, "sales").id

    def scope_to(project: dict[str, str], body_token: str = token) -> dict[str, object]:
        return {
            "auth": {
                "identity": {"methods": ["token"], "token": {"id": body_token}},
                "scope": {"project": project},
            }
        }

    url = f"{KEYSTONE}/auth/tokens"
    headers = {"X-Auth-Token": token}
    app.post_json(url, scope_to({"id": carols}), headers=headers, status=401)
    app.post_json(url, scope_to({"name": "sales"}), headers=headers, status=401)
    app.post_json(url, scope_to({"id": research}, body_token="other"), headers=headers, status=401)
    bad = app.post(url, "{not json", headers={**headers, **JSON}, status=400).json["error"]
    assert bad["code"] == 400 and "scope" in bad["message"]
    by_name = app.post_json(url, scope_to({"name": "research"}), headers=headers, status=201)
    assert by_name.json["token"]["project"]["id"] == research
    # A member removed from the project loses its scoped tokens at once.
    scoped = by_name.headers["X-Subject-Token"]
    app.get("/-/", headers={"X-Auth-Token": scoped}, status=200)
    with database.transaction() as session:
        federated = FederatedIdentityService(session)
        user_id = session.scalar(
            sa.text("SELECT user_id FROM federated_identities WHERE subject = 's-1'")
        )
        TenancyService(session).remove_member(tenancy.root, research, str(user_id))
        assert federated.issuer_at(issuer.url) is not None
    app.get("/-/", headers={"X-Auth-Token": scoped}, status=401)


def test_the_keystone_challenge_is_sent_only_when_asked_and_only_to_bare_requests(
    database: Database, tenancy: Any, settings: Settings
) -> None:
    plain = TestApp(make_app(settings, database))
    assert plain.get("/-/", status=401).headers["WWW-Authenticate"].startswith("Basic ")
    challenging = Settings.from_mapping(
        {**settings.as_pyramid(), "concord.keystone_challenge": "true"}, environ={}
    )
    app = TestApp(make_app(challenging, database))
    assert app.get("/-/", status=401).headers["WWW-Authenticate"] == (
        "Keystone uri='http://localhost/keystone/v3'"
    )
    assert app.head("/-/", status=401).headers["WWW-Authenticate"].startswith("Keystone uri=")
    wrong = {"Authorization": "Basic " + "YWxpY2U6d3Jvbmc="}  # alice:wrong
    assert (
        app.get("/-/", headers=wrong, status=401).headers["WWW-Authenticate"].startswith("Basic ")
    )


def test_the_x_auth_token_is_the_credential_beside_the_bearer_it_came_from(
    app: TestApp, issuer: LocalIssuer, research: str
) -> None:
    # IM's connector keeps sending its identity provider's token as Bearer with
    # every request, expired or not, beside the scoped token: that decides.
    scoped = _scoped_token(app, issuer, research)
    expired = issuer.token("s-1", lifetime=-3600, entitlement=["vo:research"])
    app.get("/-/", headers={"Authorization": f"Bearer {expired}"}, status=401)
    both = {"Authorization": f"Bearer {expired}", "X-Auth-Token": scoped, "Accept": "text/plain"}
    app.get("/compute/", headers=both, status=200)
    # Beside a bad token, a good Bearer does not help; beside other credentials
    # (whose user could be another) the request is ambiguous and refused.
    fresh = issuer.token("s-1", entitlement=["vo:research"])
    app.get("/-/", headers={"Authorization": f"Bearer {fresh}", "X-Auth-Token": "x"}, status=401)
    basic = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-password").decode()}
    app.get("/-/", headers=basic, status=200)
    app.get("/-/", headers={**basic, "X-Auth-Token": scoped}, status=401)
