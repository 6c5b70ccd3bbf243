"""Bearer tokens of a trusted OpenID Connect issuer sign federated users in, in both renderings.

The issuer is a real one on loopback (tests/oidc_issuer.py): Concord reads its
discovery document and keys over HTTP, as it would a production provider's.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, hmac, serialization
from functional.occi.occiclient import COMPUTE, OcciClient
from oidc_issuer import LocalIssuer
from unit.engine.cloud import build_cloud
from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from engine.db import Database
from engine.federation.identity import FederatedIdentityService
from engine.federation.models import FederatedIdentity
from engine.tenancy.models import User
from engine.tenancy.passwords import PasswordHasher

RULES = {
    "rules": [
        {
            "remote": [{"claim": "sub"}, {"claim": "entitlement", "regex": "vo:(?P<vo>[a-z-]+)"}],
            "local": {"domain": "ROOT/acme", "account": "{vo}"},
        }
    ]
}


@pytest.fixture
def trusted(database: Database, tenancy: Any, issuer: LocalIssuer) -> LocalIssuer:
    with database.transaction() as session:
        service = FederatedIdentityService(session)
        service.add_issuer(tenancy.root, "aai", issuer.url, "site")
        service.set_mapping(tenancy.root, RULES)
    return issuer


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _federated_users(database: Database) -> list[tuple[str, str]]:
    with database.transaction() as session:
        rows = session.execute(
            sa.select(User.username, User.account_id).join(
                FederatedIdentity, FederatedIdentity.user_id == User.id
            )
        )
        return sorted((name, account) for name, account in rows)


def test_a_token_signs_in_through_occi_and_cimi_as_the_mapped_user(
    app: TestApp, database: Database, tenancy: Any, trusted: LocalIssuer
) -> None:
    headers = _bearer(trusted.token("s-1", entitlement=["vo:dev"]))
    app.get("/-/", headers=headers, status=200)
    app.get("/compute/", headers={**headers, "Accept": "text/uri-list"}, status=[200, 204])
    listing = app.get("/cimi/machines", headers={**headers, "Accept": "application/json"})
    assert listing.status_int == 200
    assert _federated_users(database) == [("s-1@aai", tenancy.ids["dev"])]


def test_a_compute_created_with_a_token_belongs_to_the_mapped_account(
    app: TestApp,
    database: Database,
    tenancy: Any,
    hasher: PasswordHasher,
    tmp_path: Path,
    trusted: LocalIssuer,
) -> None:
    for cloud in build_cloud(database, tenancy, hasher, tmp_path):
        token = trusted.token("s-2", entitlement=["vo:dev"])
        federated = OcciClient(app, credentials=_bearer(token))
        path = federated.create(COMPUTE, {"occi.core.title": "from-the-federation"})
        cloud.run_jobs()
        # The compute is the dev account's: alice (same account) sees it, carol
        # (another domain) and bob (another account) do not.
        alice = OcciClient(app, "alice")
        assert path in alice.listing("/compute/")
        assert alice.attribute(path, "occi.core.title") == "from-the-federation"
        assert path not in alice.as_user("carol").listing("/compute/")
        assert path not in alice.as_user("bob").listing("/compute/")
        assert path in federated.listing("/compute/")


def _token_with(issuer: LocalIssuer, **changes: Any) -> str:
    return issuer.token("s-9", entitlement=["vo:dev"], **changes)


@pytest.mark.parametrize(
    "case",
    ["untrusted issuer", "wrong audience", "expired", "no rule", "not yet valid", "no sub"],
)
def test_refused_tokens_are_401_and_create_nothing(
    app: TestApp, database: Database, trusted: LocalIssuer, case: str
) -> None:
    other = LocalIssuer(audience="site").start()
    try:
        token = {
            "untrusted issuer": lambda: other.token("s-9", entitlement=["vo:dev"]),
            "wrong audience": lambda: _token_with(trusted, aud="another-site"),
            "expired": lambda: trusted.token("s-9", lifetime=-120, entitlement=["vo:dev"]),
            "no rule": lambda: trusted.token("s-9", entitlement=["vo:UNKNOWN!"]),
            "not yet valid": lambda: _token_with(trusted, nbf=2**31),
            "no sub": lambda: trusted.token(None, entitlement=["vo:dev"]),
        }[case]()
    finally:
        other.stop()
    response = app.get("/-/", headers=_bearer(token), status=401)
    assert "Basic" in response.headers["WWW-Authenticate"]
    app.get("/cimi/machines", headers={**_bearer(token), "Accept": "application/json"}, status=401)
    assert _federated_users(database) == []


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_token(issuer: LocalIssuer, alg: str, key: bytes | None = None) -> str:
    header = _b64(json.dumps({"alg": alg, "kid": issuer.keys[-1].kid, "typ": "JWT"}).encode())
    claims = json.loads(base64.urlsafe_b64decode(issuer.token("s-8").split(".")[1] + "==="))
    claims["entitlement"] = ["vo:dev"]
    payload = _b64(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    if key is None:
        return f"{header}.{payload}."
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(signing_input)
    return f"{header}.{payload}.{_b64(mac.finalize())}"


def test_forged_tokens_are_401(app: TestApp, database: Database, trusted: LocalIssuer) -> None:
    public_pem = (
        trusted.keys[-1]
        .private_key.public_key()  # type: ignore[union-attr]
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    unpublished = LocalIssuer()  # same iss as claimed below, but a key nobody published
    forged = [
        _unsigned_token(trusted, "none"),
        # The classic confusion: an HMAC "signed" with the issuer's public key.
        _unsigned_token(trusted, "HS256", public_pem),
        trusted.token("s-8", key=unpublished.keys[-1], entitlement=["vo:dev"]),
        trusted.token("s-8", header={"kid": "key-1"}, entitlement=["vo:dev"])[:-4] + "AAAA",
        "not.a.jwt",
        "x" * 7_000,
    ]
    for token in forged:
        app.get("/-/", headers=_bearer(token), status=401)
    assert _federated_users(database) == []


def _app_with_cooldown(database: Database, settings: Settings, seconds: int) -> TestApp:
    cooling = Settings.from_mapping(
        {**settings.as_pyramid(), "concord.federation_jwks_refresh_cooldown": str(seconds)},
        environ={},
    )
    return TestApp(make_app(cooling, database))


def test_keys_are_fetched_once_and_a_rotated_key_is_picked_up(
    database: Database, tenancy: Any, settings: Settings, trusted: LocalIssuer
) -> None:
    app = _app_with_cooldown(database, settings, 0)
    for _ in range(5):
        app.get("/-/", headers=_bearer(trusted.token("s-7", entitlement=["vo:dev"])), status=200)
    assert trusted.jwks_fetches == 1
    trusted.rotate()
    trusted.retire_old_keys()
    rotated = _bearer(trusted.token("s-7", entitlement=["vo:dev"]))
    app.get("/-/", headers=rotated, status=200)
    app.get("/-/", headers=rotated, status=200)
    assert trusted.jwks_fetches == 2


def test_unknown_key_ids_do_not_reach_the_issuer_within_the_cooldown(
    database: Database, tenancy: Any, settings: Settings, trusted: LocalIssuer
) -> None:
    app = _app_with_cooldown(database, settings, 3600)
    app.get("/-/", headers=_bearer(trusted.token("s-7", entitlement=["vo:dev"])), status=200)
    assert trusted.jwks_fetches == 1
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        forged = trusted.token("s-7", header={"kid": kid}, entitlement=["vo:dev"])
        app.get("/-/", headers=_bearer(forged), status=401)
    assert trusted.jwks_fetches == 1
