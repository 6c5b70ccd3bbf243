"""Throttling of failed sign-ins over the whole app: per source, per user name, 429 in the
client's rendering with Retry-After, and never a password hashed for a throttled request.

Sources are set with REMOTE_ADDR, as the WSGI server does.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator

import argon2
import pytest
from helpers import Signer, basic, issue_key
from lxml import etree
from webtest import TestApp

from concord.app import make_app
from concord.auth.throttle import SignInThrottle
from concord.settings import Settings
from engine.db import Database

QUERY = "/-/"
MACHINES = "/cimi/machines"
ATTACKER = "203.0.113.7"
SOMEONE_ELSE = "198.51.100.20"
PER_SOURCE = 4
PER_USER = 6


@pytest.fixture
def throttled(database: Database, settings: Settings) -> TestApp:
    """The app with small limits: 4 failures per source, 6 per user name, per minute."""
    settings = dataclasses.replace(
        settings,
        failed_sign_ins_per_source=PER_SOURCE,
        failed_sign_ins_per_user=PER_USER,
        failed_sign_in_window=60,
    )
    return TestApp(make_app(settings, database))


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts every Argon2 verification in the process (the expensive work)."""
    calls: list[int] = []
    verify = argon2.PasswordHasher.verify

    def counted(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(1)
        return verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    yield calls


def get(app: TestApp, source: str, headers: dict[str, str], status: int, path: str = QUERY):
    return app.get(path, headers=headers, extra_environ={"REMOTE_ADDR": source}, status=status)


def random_user() -> dict[str, str]:
    return basic(f"nobody-{secrets.token_hex(6)}", "guess")


def exhaust_source(app: TestApp, source: str = ATTACKER) -> None:
    """Fail ``PER_SOURCE`` sign-ins from ``source`` with random user names."""
    for _ in range(PER_SOURCE):
        get(app, source, random_user(), 401)


def assert_throttled(response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert "WWW-Authenticate" not in response.headers
    return seconds


def test_a_source_failing_sign_ins_is_refused_before_any_hashing(
    throttled: TestApp, tenancy, hashes: list[int]
) -> None:
    exhaust_source(throttled)
    assert len(hashes) == PER_SOURCE
    for _ in range(20):
        assert_throttled(get(throttled, ATTACKER, random_user(), 429))
    # Even the right password of a user who has not signed in yet: the source must wait.
    assert_throttled(get(throttled, ATTACKER, basic("bob", "bob-password"), 429))
    assert len(hashes) == PER_SOURCE, "a throttled sign-in hashed a password"
    # Other clients are not affected.
    get(throttled, SOMEONE_ELSE, basic("alice", "alice-password"), 200)


def test_forwarded_for_headers_do_not_change_the_source(throttled: TestApp, tenancy) -> None:
    # Without a trusted proxy configured in the WSGI server, X-Forwarded-For is
    # whatever the client wrote: the source is the address the connection came from.
    for n in range(PER_SOURCE):
        get(throttled, ATTACKER, {**random_user(), "X-Forwarded-For": f"10.0.0.{n}"}, 401)
    get(throttled, ATTACKER, {**random_user(), "X-Forwarded-For": "10.9.9.9"}, 429)


def test_an_ipv6_source_is_its_64_network(throttled: TestApp, tenancy) -> None:
    for n in range(PER_SOURCE):
        get(throttled, f"2001:db8:1:2::{n + 1:x}", random_user(), 401)
    get(throttled, "2001:db8:1:2:ffff::9", random_user(), 429)
    get(throttled, "2001:db8:1:3::1", random_user(), 401)  # another /64


def test_429_is_in_the_clients_rendering(throttled: TestApp, tenancy) -> None:
    exhaust_source(throttled)
    bad = random_user()
    for accept, media in (
        (None, "text/plain"),
        ("text/occi", "text/occi"),
        ("application/occi+json", "application/occi+json"),
    ):
        headers = {**bad, **({"Accept": accept} if accept else {})}
        response = get(throttled, ATTACKER, headers, 429)
        assert_throttled(response)
        assert response.content_type == media
        assert "OCCI/1.2" in response.headers["Server"]
        if media.endswith("json"):
            assert response.json["error"]["code"] == 429
            assert "retry" in response.json["error"]["message"]
        else:
            assert "too many failed sign-ins" in response.text

    response = get(throttled, ATTACKER, {**bad, "Accept": "application/json"}, 429, MACHINES)
    assert_throttled(response)
    assert response.content_type == "application/json"
    assert response.json["code"] == 429 and response.json["status"] == "Too Many Requests"
    response = get(throttled, ATTACKER, {**bad, "Accept": "application/xml"}, 429, MACHINES)
    assert_throttled(response)
    assert response.content_type == "application/xml"
    code = etree.fromstring(response.body).find("{http://schemas.dmtf.org/cimi/1}code")
    assert code is not None and code.text == "429"


def test_requests_without_credentials_are_not_failed_sign_ins(
    throttled: TestApp, tenancy, hashes: list[int], database: Database, hasher
) -> None:
    # An OCCI client probing the query interface before it sends credentials,
    # malformed headers and bad signatures cost no hashing and count for nothing.
    key = issue_key(database, hasher, tenancy.ids["alice"])
    for _ in range(3 * PER_SOURCE):
        throttled.head(QUERY, extra_environ={"REMOTE_ADDR": ATTACKER}, status=401)
        response = get(throttled, ATTACKER, {}, 401)
        assert "Basic" in response.headers["WWW-Authenticate"]
        get(throttled, ATTACKER, {"Authorization": "Basic !!!"}, 401)
        get(throttled, ATTACKER, {"Authorization": "Bearer abc"}, 401)
        get(throttled, ATTACKER, Signer(key.access_key, "wrong").headers("GET", QUERY), 401)
    assert hashes == []
    get(throttled, ATTACKER, basic("alice", "alice-password"), 200)
    get(throttled, ATTACKER, Signer.of(key).headers("GET", QUERY), 200)
    exhaust_source(throttled)  # the whole budget is still there
    get(throttled, ATTACKER, random_user(), 429)


def test_a_user_name_guessed_from_many_sources_is_throttled(
    throttled: TestApp, tenancy, hashes: list[int]
) -> None:
    # alice signed in a moment ago: her password is in the verified-password cache.
    get(throttled, SOMEONE_ELSE, basic("alice", "alice-password"), 200)
    for n in range(PER_USER):
        get(throttled, f"192.0.2.{n}", basic("alice", f"guess-{n}"), 401)
    spent = len(hashes)
    # Now every password is refused for her, even the right one from the cache
    # (letting it through would tell a guesser which guess is right), from anywhere.
    get(throttled, "192.0.2.200", basic("alice", "alice-password"), 429)
    get(throttled, SOMEONE_ELSE, basic("alice", "alice-password"), 429)
    get(throttled, "192.0.2.201", basic("alice", "another-guess"), 429)
    assert len(hashes) == spent
    # Other users, including from the sources used, still sign in.
    get(throttled, "192.0.2.0", basic("bob", "bob-password"), 200)


def test_a_signed_in_user_behind_a_throttled_source_keeps_working(
    throttled: TestApp, tenancy, hashes: list[int]
) -> None:
    # alice shares an address (a NAT) with an attacker; her password is cached.
    get(throttled, ATTACKER, basic("alice", "alice-password"), 200)
    exhaust_source(throttled)
    spent = len(hashes)
    for _ in range(2 * PER_USER):
        get(throttled, ATTACKER, basic("alice", "alice-password"), 200)
    assert len(hashes) == spent  # answered from the cache, no hashing
    # Guesses at her password from the throttled source still spend her budget:
    # the cache cannot be used as a free oracle.
    for n in range(PER_USER):
        get(throttled, ATTACKER, basic("alice", f"guess-{n}"), 429)
    assert len(hashes) == spent
    get(throttled, SOMEONE_ELSE, basic("alice", "alice-password"), 429)


def test_successful_sign_ins_give_their_charge_back(
    database: Database, settings: Settings, tenancy, hashes: list[int]
) -> None:
    # Without the cache every success hashes; it is charged first, then given back.
    settings = dataclasses.replace(
        settings,
        failed_sign_ins_per_source=2,
        failed_sign_ins_per_user=2,
        credential_cache_seconds=0,
    )
    app = TestApp(make_app(settings, database))
    get(app, ATTACKER, basic("alice", "typo"), 401)
    for _ in range(5):
        get(app, ATTACKER, basic("alice", "alice-password"), 200)
    assert len(hashes) == 6
    get(app, ATTACKER, basic("alice", "typo"), 401)
    get(app, ATTACKER, basic("alice", "alice-password"), 429)


def test_throttling_can_be_turned_off(database: Database, settings: Settings, tenancy) -> None:
    settings = dataclasses.replace(
        settings, failed_sign_ins_per_source=0, failed_sign_ins_per_user=0
    )
    app = TestApp(make_app(settings, database))
    for _ in range(40):
        get(app, ATTACKER, basic("alice", "wrong"), 401)
    get(app, ATTACKER, basic("alice", "alice-password"), 200)


def test_the_default_limits_throttle(database: Database, settings: Settings, tenancy) -> None:
    """The shipped limits throttle a source that fails them all at once.

    The clock stands still: at the default 30 failures a minute, one drains every
    two seconds, and 30 sign-ins can take longer than that on a loaded machine.
    """
    app = make_app(settings, database)
    wired = app.registry.sign_in_throttle
    assert (wired.sources.limit, wired.users.limit, wired.sources.window) == (
        Settings().failed_sign_ins_per_source,
        Settings().failed_sign_ins_per_user,
        Settings().failed_sign_in_window,
    )
    app.registry.sign_in_throttle = SignInThrottle(
        wired.sources.limit, wired.users.limit, wired.sources.window, clock=lambda: 1000.0
    )
    client = TestApp(app)
    for _ in range(settings.failed_sign_ins_per_source):
        get(client, ATTACKER, random_user(), 401)
    assert_throttled(get(client, ATTACKER, random_user(), 429))
