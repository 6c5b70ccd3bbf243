"""Authentication over the whole WSGI app: HTTP Basic and API-key requests signed
with HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530).

Every failure is a 401 with a challenge, and the answer never tells a caller
whether a user name or a key exists.
"""

from __future__ import annotations

import base64
import dataclasses
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
from concord.urls import public_url
from engine.db import Database, utcnow
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import Account, ApiKey, Domain, SeenNonce, TenantState, User
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

QUERY = "/-/"
SIGN_IN_FAILED_BODY = "invalid credentials\n"


def _challenge_ok(response) -> None:
    challenge = response.headers["WWW-Authenticate"]
    assert challenge == 'Basic realm="Concord"'
    assert '"@target-uri"' in response.headers["Accept-Signature"]
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


# -- signed requests (RFC 9421) ------------------------------------------------------


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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_a_request_signed_by_hand_is_accepted(app: TestApp, key) -> None:
    """The signature base written out from RFC 9421 §2.5 and RFC 9530 §2 with the standard
    library only, not through the library the server uses: the server implements the
    standards, not merely itself."""
    created = int(time.time())
    body = b"hello"
    digest = f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"
    params = (
        '("@method" "@target-uri" "content-type" "content-digest")'
        f';created={created};keyid="{key.access_key}";nonce="hand-made-1";alg="hmac-sha256"'
    )
    base = "\n".join(
        [
            '"@method": GET',
            '"@target-uri": http://localhost/-/?b=z&b=x+y&a=~',
            '"content-type": text/plain',
            f'"content-digest": {digest}',
            f'"@signature-params": {params}',
        ]
    )
    mac = hmac.new(key.secret.encode(), base.encode(), hashlib.sha256).digest()
    app.request(
        "/-/?b=z&b=x+y&a=~",
        method="GET",
        body=body,
        headers={
            "Content-Type": "text/plain",
            "Content-Digest": digest,
            "Signature-Input": f"sig1={params}",
            "Signature": f"sig1=:{_b64(mac)}:",
        },
        status=200,
    )


def test_path_encodings_sign_the_same(app: TestApp, signer: Signer) -> None:
    # Without the raw request target (WebTest gives none; waitress does), the
    # server re-encodes the decoded path the one way WebOb does: "/%2D/" sent
    # is "/-/" signed (RFC 3986 §6.2.2.2). With it, the path is the one sent.
    app.get("/%2D/", headers=signer.headers("GET", "/-/"), status=200)


OCCI = {
    "Category": 'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"',
    "X-OCCI-Attribute": 'occi.compute.cores=2, occi.core.title="a"',
    "Link": '</network/n1>; rel="http://schemas.ogf.org/occi/infrastructure#network"',
    "X-OCCI-Location": "http://localhost/compute/c1",
}

#: What is signed, and what is then sent instead.
SIGNED = dict(
    path=QUERY,
    query="a=1&a=2",
    body=b"hello",
    content_type="text/plain",
    host=WEBTEST_HOST,
    method="GET",
    fields=OCCI,
)
TAMPERINGS = {
    "path": dict(path="/.well-known/org/ogf/occi/-/"),
    "query": dict(query="a=1&a=3"),
    "query-reordered": dict(query="a=2&a=1"),
    "query-dropped": dict(query="a=1"),
    "body": dict(body=b"world"),
    "body-removed": dict(body=b""),
    "content-type": dict(content_type="application/json"),
    "host": dict(host="evil.example:80"),
    "method": dict(method="HEAD"),
    **{
        f"{name}-altered": dict(fields={**OCCI, name: OCCI[name] + ", x"})
        for name in ("Category", "X-OCCI-Attribute", "Link", "X-OCCI-Location")
    },
    **{
        f"{name}-removed": dict(fields={k: v for k, v in OCCI.items() if k != name})
        for name in ("Category", "X-OCCI-Attribute", "Link", "X-OCCI-Location")
    },
    "attribute-repeated": dict(
        fields={**OCCI, "X-OCCI-Attribute": OCCI["X-OCCI-Attribute"] + ", occi.compute.cores=8"}
    ),
}


def _send(app: TestApp, headers: dict[str, str], sent: dict, **kwargs):
    headers = {k: v for k, v in headers.items() if k.lower() not in {n.lower() for n in OCCI}}
    headers.update(sent["fields"])
    headers["Content-Type"] = sent["content_type"]
    headers["Host"] = sent["host"]
    url = sent["path"] + ("?" + sent["query"] if sent["query"] else "")
    return app.request(url, method=sent["method"], body=sent["body"], headers=headers, **kwargs)


def _signed_headers(signer: Signer) -> dict[str, str]:
    return signer.headers(
        "GET", QUERY, SIGNED["query"], SIGNED["body"], SIGNED["content_type"], fields=OCCI
    )


def test_tampered_requests_are_refused(app: TestApp, signer: Signer, database: Database) -> None:
    for what, tamper in TAMPERINGS.items():
        response = _send(app, _signed_headers(signer), {**SIGNED, **tamper}, expect_errors=True)
        assert response.status_int == 401, what
        _challenge_ok(response)
    assert seen_nonces(database) == 0  # a refused request leaves no trace to replay


def test_the_untampered_control_request_passes(app: TestApp, signer: Signer) -> None:
    # The same construction as above, unchanged: proves the refusals are the tampering.
    _send(app, _signed_headers(signer), SIGNED, status=200)


def test_a_body_added_to_a_request_signed_without_one_is_refused(
    app: TestApp, signer: Signer
) -> None:
    headers = signer.headers("GET", QUERY, content_type="text/plain")
    app.request(QUERY, method="GET", body=b"added", headers=headers, status=401)
    app.request(QUERY, method="GET", headers=headers, status=200)


def test_the_target_uri_is_the_public_url_not_the_host_header(
    signer: Signer, settings: Settings, database: Database
) -> None:
    public = TestApp(
        make_app(dataclasses.replace(settings, public_url="https://cloud.example.org"), database)
    )
    on_public = dataclasses.replace(signer, base="https://cloud.example.org")
    for host in ("localhost:80", "evil.example"):
        public.get(QUERY, headers={**on_public.headers("GET", QUERY), "Host": host}, status=200)
    # Signed for the Host header the request carries: not the URL the server answers at.
    public.get(QUERY, headers=signer.headers("GET", QUERY), status=401)


def test_a_tampered_signature_is_refused(app: TestApp, signer: Signer) -> None:
    headers = signer.headers("GET", QUERY)
    label, encoded, _ = headers["Signature"].split(":")
    # Flip a bit of the decoded MAC: editing a base64 character could touch only the
    # pad bits, which RFC 8941 section 4.2.7 lets a parser ignore.
    mac = bytearray(base64.b64decode(encoded))
    mac[0] ^= 0x01
    headers["Signature"] = f"{label}:{base64.b64encode(bytes(mac)).decode()}:"
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


def test_created_outside_the_window_is_refused(app: TestApp, signer: Signer, database) -> None:
    # signature_window 300 s of age, signature_clock_skew 30 s ahead (the defaults).
    for skew in (-3600, -340, 40, 3600, -int(time.time())):
        headers = signer.headers("GET", QUERY, timestamp=int(time.time()) + skew)
        refused(app, headers)
    assert seen_nonces(database) == 0


def test_created_inside_the_window_is_accepted(app: TestApp, signer: Signer) -> None:
    for skew in (-280, 20):
        headers = signer.headers("GET", QUERY, timestamp=int(time.time()) + skew)
        app.get(QUERY, headers=headers, status=200)


def test_a_replay_is_refused(app: TestApp, signer: Signer) -> None:
    headers = signer.headers("GET", QUERY, nonce="once-only")
    app.get(QUERY, headers=headers, status=200)
    refused(app, headers)
    # The same nonce with a fresh, correct signature is a replay too.
    refused(app, signer.headers("GET", QUERY, timestamp=int(time.time()) + 1, nonce="once-only"))


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
    return signer.headers("GET", QUERY, nonce="n-good")


def _sign_params(signer: Signer, params: str) -> dict[str, str]:
    """A signature over ``params`` (the inner list and its parameters), by hand."""
    base = f'"@method": GET\n"@target-uri": http://localhost{QUERY}\n"@signature-params": {params}'
    mac = hmac.new(signer.secret.encode(), base.encode(), hashlib.sha256).digest()
    return {"Signature-Input": f"s={params}", "Signature": f"s=:{_b64(mac)}:"}


def test_malformed_or_incomplete_signatures_are_refused(
    app: TestApp, signer: Signer, good_header: dict[str, str], database
) -> None:
    now = int(time.time())
    k = signer.access_key
    both = '("@method" "@target-uri")'
    manglings = [
        {"Signature-Input": good_header["Signature-Input"]},
        {"Signature": good_header["Signature"]},
        {**good_header, "Signature": "concord=:not base64:"},
        {**good_header, "Signature-Input": "concord=garbage("},
        {**good_header, "Signature": good_header["Signature"].replace("concord=", "other=")},
        {**good_header, "Authorization": basic("alice", "secret")["Authorization"]},
        # Every one of these is a correct HMAC of what it states: the profile refuses them.
        _sign_params(signer, f'("@method");created={now};keyid="{k}";nonce="n1"'),
        _sign_params(signer, f'("@target-uri");created={now};keyid="{k}";nonce="n2"'),
        _sign_params(signer, f'{both};keyid="{k}";nonce="n3"'),
        _sign_params(signer, f'{both};created={now};keyid="{k}"'),
        _sign_params(signer, f'{both};created={now};nonce="n4"'),
        _sign_params(signer, f'{both};created={now};keyid="{k}";nonce="{"n" * 129}"'),
        _sign_params(signer, f'{both};created={now};keyid="{k}";nonce="n5";alg="ed25519"'),
        _sign_params(signer, f'{both};created={now};keyid="{k}";nonce="n6";expires={now - 60}'),
        _sign_params(signer, f'{both};created={now};keyid="{k}";nonce="n7";bogus=1'),
    ]
    for number, headers in enumerate(manglings):
        assert refused(app, headers), number
    assert seen_nonces(database) == 0
    # The control: the same hand-made construction, complete, passes.
    app.get(
        QUERY,
        headers=_sign_params(signer, f'{both};created={now};keyid="{k}";nonce="n8"'),
        status=200,
    )


def test_two_signatures_are_refused(app: TestApp, signer: Signer) -> None:
    one, two = signer.headers("GET", QUERY), signer.headers("GET", QUERY)
    headers = {
        "Signature-Input": one["Signature-Input"]
        + ", "
        + two["Signature-Input"].replace("concord=", "again="),
        "Signature": one["Signature"] + ", " + two["Signature"].replace("concord=", "again="),
    }
    refused(app, headers)


def test_the_old_home_made_scheme_is_gone(app: TestApp, signer: Signer) -> None:
    header = (
        f"CONCORD-HMAC-SHA256 Credential={signer.access_key}, Timestamp={int(time.time())}, "
        f"Nonce=n, Signature={'0' * 64}"
    )
    assert refused(app, {"Authorization": header}) == SIGN_IN_FAILED_BODY


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
    cases = [(path, {}) for path in ("/files/100%25", "/files/a%2541", "/caf%C3%A9/~user")]
    # With the raw request URI (as waitress gives it), the path is the one sent:
    # an encoded slash stays one.
    cases += [(path, {"REQUEST_URI": path + "?x=1"}) for path in ("/a%2Fb", "/%7Eu", "/-/")]
    for path, environ in cases:
        query = "x=1" if environ else ""
        request = Request.blank(
            path + (f"?{query}" if query else ""),
            environ=environ,
            headers=signer.headers("GET", path, query),
        )
        request.registry = app.app.registry
        request.public_url = public_url(request)  # as the app's request property does
        with database.session() as session:
            request.dbsession = session
            assert authenticate(request).username == "alice", path
