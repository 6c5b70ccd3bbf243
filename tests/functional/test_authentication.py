"""Authentication over the whole WSGI app: HTTP Basic and HMAC-signed API-key requests.

Every failure is a 401 with a challenge for both schemes, and the answer never
tells a caller whether a user name exists.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time

import pytest
import sqlalchemy as sa
from helpers import WEBTEST_HOST, Signer, basic, issue_key
from pyramid.request import Request
from webtest import TestApp

from concord.app import make_app
from concord.auth.resolver import authenticate
from concord.settings import Settings
from engine.db import Database, utcnow
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import Account, ApiKey, Domain, SeenNonce, TenantState, User
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

QUERY = "/-/"
SIGN_IN_FAILED_BODY = "invalid credentials\n"


def _challenge_ok(response) -> None:
    challenge = response.headers["WWW-Authenticate"]
    assert "Basic" in challenge and "CONCORD-HMAC-SHA256" in challenge
    assert "Concord/" in response.headers["Server"]


def refused(app: TestApp, headers: dict[str, str] | None = None, **kwargs) -> str:
    """GET the query interface expecting 401; return the body."""
    response = app.get(QUERY, headers=headers or {}, status=401, **kwargs)
    _challenge_ok(response)
    return response.text


# -- HTTP Basic ----------------------------------------------------------------------


def test_good_basic_credentials(app: TestApp, tenancy) -> None:
    response = app.get(QUERY, headers=basic("alice", "alice-password"), status=200)
    assert "Category:" in response.text
    app.get(QUERY, headers=basic("admin", "admin-password"), status=200)
    # The scheme name is case-insensitive (RFC 7617).
    lower = {
        "Authorization": basic("bob", "bob-password")["Authorization"].replace("Basic", "basic")
    }
    app.get(QUERY, headers=lower, status=200)


def test_passwords_may_contain_colons_and_any_unicode(
    app: TestApp, database: Database, tenancy, hasher: PasswordHasher
) -> None:
    with database.transaction() as session:
        TenancyService(session, hasher).set_password(
            tenancy.root, tenancy.ids["bob"], "p\u00e4ss:w\u00f6rd:\u2603"
        )
    app.get(QUERY, headers=basic("bob", "p\u00e4ss:w\u00f6rd:\u2603"), status=200)
    refused(app, basic("bob", "p\u00e4ss"))


def test_no_credentials(app: TestApp, tenancy) -> None:
    body = refused(app)
    assert body.strip()


def test_failures_all_look_the_same(app: TestApp, tenancy) -> None:
    bodies = {
        "wrong password": refused(app, basic("alice", "bob-password")),
        "unknown user": refused(app, basic("mallory", "alice-password")),
        "empty password": refused(app, basic("alice", "")),
        "not base64": refused(app, {"Authorization": "Basic !!!not-base64!!!"}),
        "no colon": refused(app, {"Authorization": "Basic " + base64.b64encode(b"alice").decode()}),
        "empty user": refused(app, basic("", "alice-password")),
        "not UTF-8": refused(
            app, {"Authorization": "Basic " + base64.b64encode(b"alice:\xff\xfe").decode()}
        ),
        "no token": refused(app, {"Authorization": "Basic"}),
        "blank token": refused(app, {"Authorization": "Basic    "}),
        "non-ASCII token": refused(app, {"Authorization": "Basic \u00e9t\u00e9"}),
        "unsupported scheme": refused(app, {"Authorization": "Bearer abc.def.ghi"}),
        "digest": refused(app, {"Authorization": 'Digest username="alice"'}),
    }
    assert set(bodies.values()) == {SIGN_IN_FAILED_BODY}, bodies


def test_failures_in_json_differ_only_by_request_id(app: TestApp, tenancy) -> None:
    accept = {"Accept": "application/json"}
    wrong = app.get(QUERY, headers={**accept, **basic("alice", "x")}, status=401).json
    unknown = app.get(QUERY, headers={**accept, **basic("mallory", "x")}, status=401).json
    assert wrong["error"].pop("request_id") != unknown["error"].pop("request_id")
    assert wrong == unknown
    assert "alice" not in str(wrong) and "mallory" not in str(unknown)


@pytest.mark.parametrize(
    ("model", "name"),
    [(Account, "dev"), (User, "alice"), (Domain, "acme")],
    ids=["account disabled", "user disabled", "domain disabled"],
)
def test_disabled_accounts_are_refused(
    app: TestApp, database: Database, tenancy, model, name: str
) -> None:
    # A first success fills the verified-password cache; it must not outlive the change.
    app.get(QUERY, headers=basic("alice", "alice-password"), status=200)
    with database.transaction() as session:
        session.get(model, tenancy.ids[name]).state = TenantState.DISABLED
    assert refused(app, basic("alice", "alice-password")) == SIGN_IN_FAILED_BODY
    app.get(QUERY, headers=basic("carol", "carol-password"), status=200)  # others still may


def test_a_password_change_invalidates_the_cached_one(
    app: TestApp, database: Database, tenancy, hasher: PasswordHasher
) -> None:
    app.get(QUERY, headers=basic("alice", "alice-password"), status=200)
    with database.transaction() as session:
        TenancyService(session, hasher).set_password(
            tenancy.root, tenancy.ids["alice"], "brand-new-password"
        )
    refused(app, basic("alice", "alice-password"))
    app.get(QUERY, headers=basic("alice", "brand-new-password"), status=200)


def test_the_cache_does_not_accept_a_wrong_password(app: TestApp, tenancy) -> None:
    app.get(QUERY, headers=basic("alice", "alice-password"), status=200)
    refused(app, basic("alice", "alice-passwore"))
    refused(app, basic("alice", ""))


def test_a_sign_in_reads_the_user_once_whether_or_not_the_cache_knows_it(
    app: TestApp, database: Database, tenancy
) -> None:
    reads: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM users" in statement:
            reads.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        for _ in range(2):  # a cache miss (the password is checked), then a hit
            app.get(QUERY, headers=basic("alice", "alice-password"), status=200)
            assert len(reads) == 1
            reads.clear()
        refused(app, basic("alice", "wrong-password"))  # a miss that fails
        assert len(reads) == 1
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)


# -- signed requests -----------------------------------------------------------------


@pytest.fixture
def key(database: Database, hasher: PasswordHasher, tenancy):
    return issue_key(database, hasher, tenancy.ids["alice"])


@pytest.fixture
def signer(key) -> Signer:
    return Signer.of(key)


def seen_nonces(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(SeenNonce)))


def test_a_signed_request_is_accepted(app: TestApp, signer: Signer, database) -> None:
    app.get(QUERY, headers=signer.headers("GET", QUERY), status=200)
    app.get(
        QUERY + "?b=2&a=x+y",
        headers=signer.headers("GET", QUERY, "b=2&a=x+y"),
        status=200,
    )
    assert seen_nonces(database) == 2


def test_a_request_signed_by_hand_is_accepted(app: TestApp, key) -> None:
    """Signed from the documented format with hmac/hashlib only, not with the server's
    own module: the server implements the specification, not merely itself."""
    timestamp = int(time.time())
    nonce = "hand-made-nonce-1"
    body = b"hello"
    canonical = "\n".join(
        [
            "GET",
            "/-/",
            "a=~&b=x%20y&b=z",  # sorted by name then value, RFC 3986 encoding
            "host:" + WEBTEST_HOST,
            "content-type:text/plain",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "CONCORD-HMAC-SHA256",
            str(timestamp),
            nonce,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    sig = hmac.new(key.secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    header = (
        f"CONCORD-HMAC-SHA256 Credential={key.access_key}, Timestamp={timestamp}, "
        f"Nonce={nonce}, Signature={sig}"
    )
    app.request(
        "/-/?b=z&b=x+y&a=%7e",
        method="GET",
        body=body,
        headers={"Authorization": header, "Content-Type": "text/plain"},
        status=200,
    )


def test_path_encodings_sign_the_same(app: TestApp, signer: Signer) -> None:
    # The client signs "/%2D/", the server sees "/-/": the canonical forms agree.
    app.get("/%2D/", headers=signer.headers("GET", "/%2D/"), status=200)
    app.get("/-/", headers=signer.headers("GET", "/%2d/"), status=200)


TAMPERINGS = {
    "path": dict(path="/.well-known/org/ogf/occi/-/"),
    "query": dict(query="a=2"),
    "query-repeated": dict(query="a=1&a=1"),
    "body": dict(body=b"world"),
    "content-type": dict(content_type="application/json"),
    "host": dict(host="evil.example:80"),
    "method": dict(method="HEAD"),
}


def test_tampered_requests_are_refused(app: TestApp, signer: Signer, database: Database) -> None:
    signed = dict(
        path=QUERY,
        query="a=1",
        body=b"hello",
        content_type="text/plain",
        host=WEBTEST_HOST,
        method="GET",
    )
    for what, tamper in TAMPERINGS.items():
        headers = signer.headers("GET", QUERY, "a=1", b"hello", "text/plain")
        sent = {**signed, **tamper}
        headers["Content-Type"] = sent["content_type"]
        headers["Host"] = sent["host"]
        url = sent["path"] + ("?" + sent["query"] if sent["query"] else "")
        response = app.request(
            url, method=sent["method"], body=sent["body"], headers=headers, expect_errors=True
        )
        assert response.status_int == 401, what
        _challenge_ok(response)
    assert seen_nonces(database) == 0  # a refused request leaves no trace to replay


def test_the_untampered_control_request_passes(app: TestApp, signer: Signer) -> None:
    # The same construction as above, unchanged: proves the refusals are the tampering.
    headers = signer.headers("GET", QUERY, "a=1", b"hello", "text/plain")
    headers["Host"] = WEBTEST_HOST
    app.request(QUERY + "?a=1", method="GET", body=b"hello", headers=headers, status=200)


def test_a_tampered_signature_is_refused(app: TestApp, signer: Signer) -> None:
    headers = signer.headers("GET", QUERY)
    value = headers["Authorization"]
    last = value[-1]
    headers["Authorization"] = value[:-1] + ("0" if last != "0" else "1")
    assert refused(app, headers) == SIGN_IN_FAILED_BODY


def test_a_secret_of_another_key_is_refused(
    app: TestApp, signer: Signer, database, hasher, tenancy
) -> None:
    bobs = issue_key(database, hasher, tenancy.ids["bob"])
    # bob's secret with alice's access key, and alice's with bob's.
    assert refused(app, Signer(signer.access_key, bobs.secret).headers("GET", QUERY)) == (
        SIGN_IN_FAILED_BODY
    )
    assert refused(app, Signer(bobs.access_key, signer.secret).headers("GET", QUERY)) == (
        SIGN_IN_FAILED_BODY
    )


def test_an_unknown_key_looks_like_a_bad_signature(app: TestApp, signer: Signer) -> None:
    unknown = refused(app, Signer("CKNOSUCHKEY0000000000", signer.secret).headers("GET", QUERY))
    bad = refused(app, Signer(signer.access_key, "wrong-secret").headers("GET", QUERY))
    assert unknown == bad == SIGN_IN_FAILED_BODY


def test_timestamps_outside_the_window_are_refused(app: TestApp, signer: Signer, database) -> None:
    for skew in (-3600, -400, 400, 3600, -int(time.time())):
        headers = signer.headers("GET", QUERY, timestamp=int(time.time()) + skew)
        refused(app, headers)
    assert seen_nonces(database) == 0


def test_timestamps_inside_the_window_are_accepted(app: TestApp, signer: Signer) -> None:
    for skew in (-200, 200):
        headers = signer.headers("GET", QUERY, timestamp=int(time.time()) + skew)
        app.get(QUERY, headers=headers, status=200)


def test_a_replay_is_refused(app: TestApp, signer: Signer) -> None:
    headers = signer.headers("GET", QUERY)
    app.get(QUERY, headers=headers, status=200)
    refused(app, headers)
    # The same nonce with a fresh, correct signature is a replay too.
    nonce = headers["Authorization"].split("Nonce=")[1].split(",")[0]
    refused(app, signer.headers("GET", QUERY, timestamp=int(time.time()) + 1, nonce=nonce))


def test_a_replay_to_another_server_process_is_refused(
    app: TestApp, signer: Signer, database: Database, settings: Settings
) -> None:
    other_database = Database(database.url)
    try:
        other = TestApp(make_app(settings, other_database))
        headers = signer.headers("GET", QUERY)
        app.get(QUERY, headers=headers, status=200)
        refused(other, headers)
        fresh = signer.headers("GET", QUERY)
        other.get(QUERY, headers=fresh, status=200)
        refused(app, fresh)
    finally:
        other_database.dispose()


def test_a_nonce_is_spent_even_when_the_request_then_fails(app: TestApp, signer: Signer) -> None:
    # 406 after authentication: the request failed, yet it cannot be replayed.
    headers = {**signer.headers("GET", QUERY), "Accept": "image/png"}
    app.get(QUERY, headers=headers, status=406)
    refused(app, headers)


def test_a_revoked_key_is_refused(
    app: TestApp, signer: Signer, key, database, hasher, tenancy
) -> None:
    app.get(QUERY, headers=signer.headers("GET", QUERY), status=200)
    with database.transaction() as session:
        credentials = CredentialService(session, hasher)
        credentials.revoke_api_key(
            credentials.scope_for_user_id(tenancy.ids["alice"]), key.access_key
        )
    assert refused(app, signer.headers("GET", QUERY)) == SIGN_IN_FAILED_BODY


def test_an_expired_key_is_refused(app: TestApp, signer: Signer, key, database) -> None:
    app.get(QUERY, headers=signer.headers("GET", QUERY), status=200)
    with database.transaction() as session:
        row = session.scalar(sa.select(ApiKey).where(ApiKey.access_key == key.access_key))
        row.expires = utcnow() - dt.timedelta(seconds=1)
    assert refused(app, signer.headers("GET", QUERY)) == SIGN_IN_FAILED_BODY


def test_the_key_of_a_disabled_account_is_refused(
    app: TestApp, signer: Signer, database, tenancy
) -> None:
    with database.transaction() as session:
        TenancyService(session).set_account_state(
            tenancy.root, tenancy.ids["dev"], TenantState.DISABLED
        )
    assert refused(app, signer.headers("GET", QUERY)) == SIGN_IN_FAILED_BODY


@pytest.fixture
def good_header(signer: Signer) -> dict[str, str]:
    return signer.headers("GET", QUERY)


def _fields(header: str) -> dict[str, str]:
    params = header.split(" ", 1)[1]
    return dict(p.strip().split("=", 1) for p in params.split(","))


MANGLINGS = [
    lambda f: f"CONCORD-HMAC-SHA256 Credential={f['Credential']}",
    lambda f: "CONCORD-HMAC-SHA256",
    lambda f: "CONCORD-HMAC-SHA256 ",
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, Timestamp=soon, "
        f"Nonce={f['Nonce']}, Signature={f['Signature']}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp={f['Timestamp']}, Nonce={f['Nonce']}, "
        f"Signature={f['Signature'][:-2]}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp={f['Timestamp']}, Nonce={f['Nonce']}, "
        f"Signature={f['Signature']}, Signature={f['Signature']}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp={f['Timestamp']}, Nonce={'n' * 129}, "
        f"Signature={f['Signature']}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp={f['Timestamp']}, Nonce=, Signature={f['Signature']}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp={f['Timestamp']}, Nonce={f['Nonce']}, "
        f"Signature={'z' * 64}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp={f['Timestamp']}, Nonce={f['Nonce']}, "
        f"Signature={f['Signature']}, Extra=1"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential=, Timestamp={f['Timestamp']}, "
        f"Nonce={f['Nonce']}, Signature={f['Signature']}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}\u00e9, "
        f"Timestamp={f['Timestamp']}, Nonce={f['Nonce']}, "
        f"Signature={f['Signature']}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp={f['Timestamp']}, Nonce=\u00e9\u00e9, "
        f"Signature={f['Signature']}"
    ),
    lambda f: (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, "
        f"Timestamp=99999999999999999999, Nonce={f['Nonce']}, "
        f"Signature={f['Signature']}"
    ),
]


def test_malformed_signed_headers_are_refused(
    app: TestApp, good_header: dict[str, str], database
) -> None:
    fields = _fields(good_header["Authorization"])
    for number, mangle in enumerate(MANGLINGS):
        header = mangle(fields)
        assert refused(app, {"Authorization": header}), number
    assert seen_nonces(database) == 0


def test_the_parsed_header_fields_really_were_good(app: TestApp, good_header) -> None:
    # The control for the test above: rebuilt from its parsed fields, the header passes.
    f = _fields(good_header["Authorization"])
    header = (
        f"CONCORD-HMAC-SHA256 Credential={f['Credential']}, Timestamp={f['Timestamp']}, "
        f"Nonce={f['Nonce']}, Signature={f['Signature']}"
    )
    app.get(QUERY, headers={"Authorization": header}, status=200)


def test_refusals_never_name_the_user(app: TestApp, signer: Signer, tenancy) -> None:
    for headers in (
        basic("alice", "wrong"),
        basic("nobody-at-all", "wrong"),
        Signer(signer.access_key, "wrong").headers("GET", QUERY),
    ):
        response = app.get(QUERY, headers={**headers, "Accept": "application/json"}, status=401)
        for word in ("alice", "nobody", "exist", "unknown", signer.access_key):
            assert word not in response.text


def test_paths_with_encoded_characters_verify(
    app: TestApp, signer: Signer, database: Database
) -> None:
    """No route of the app has such a path yet, so the resolver is called directly on a
    request for it, as a view would: a literal '%' (sent as %25) must not be decoded twice."""
    for path in ("/files/100%25", "/files/a%2541", "/caf%C3%A9/%7Euser", "/a%2Fb"):
        request = Request.blank(path, headers=signer.headers("GET", path))
        request.registry = app.app.registry
        with database.session() as session:
            request.dbsession = session
            assert authenticate(request).username == "alice", path
