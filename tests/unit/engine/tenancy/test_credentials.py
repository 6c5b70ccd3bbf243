"""Credentials: password sign-in, API keys, signature key lookup and replay protection."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEYS
from sqlalchemy.orm import Session

from engine.db import Database, utcnow
from engine.errors import AuthenticationFailed, InvalidInput, NotFound, PermissionDenied
from engine.scope import Role, Scope
from engine.tenancy.credentials import SIGN_IN_FAILED, CredentialService
from engine.tenancy.models import AccountType, ApiKey, Domain, SeenNonce, TenantState, User
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.service import TenancyService


@pytest.fixture
def session(database: Database, tenancy: object) -> Iterator[Session]:
    with database.session() as session:
        yield session
        session.rollback()


@pytest.fixture
def credentials(session: Session, hasher: PasswordHasher) -> CredentialService:
    return CredentialService(session, hasher, TEST_SERVER_KEYS)


def scope(credentials: CredentialService, username: str) -> Scope:
    return credentials.authenticate_password(username, f"{username}-password")


# -- passwords ---------------------------------------------------------------------


def test_authenticate_password_returns_the_users_scope(credentials, tenancy) -> None:
    alice = scope(credentials, "alice")
    assert alice.user_id == tenancy.ids["alice"]
    assert alice.username == "alice"
    assert alice.account_id == tenancy.ids["dev"]
    assert alice.domain_id == tenancy.ids["acme"]
    assert alice.domain_path.endswith(f"/{tenancy.ids['acme']}/")
    assert alice.role is Role.USER
    assert alice.project_ids == frozenset()
    assert scope(credentials, "acmeadmin").role is Role.DOMAIN_ADMIN
    assert scope(credentials, "admin").role is Role.ROOT_ADMIN


def _failure(call) -> str:
    with pytest.raises(AuthenticationFailed) as caught:
        call()
    return str(caught.value)


def test_every_sign_in_failure_says_the_same(
    credentials: CredentialService, session: Session, tenancy
) -> None:
    tenancy_service = TenancyService(session, credentials.hasher)
    passwordless = tenancy_service.create_user(tenancy.root, tenancy.ids["ops"], "robot")
    assert passwordless.password_hash is None
    messages = {
        "wrong password": _failure(
            lambda: credentials.authenticate_password("alice", "bob-password")
        ),
        "unknown user": _failure(
            lambda: credentials.authenticate_password("nobody", "alice-password")
        ),
        "empty password": _failure(lambda: credentials.authenticate_password("alice", "")),
        "no password set": _failure(lambda: credentials.authenticate_password("robot", "")),
        "password of another": _failure(
            lambda: credentials.authenticate_password("carol", "alice-password")
        ),
    }
    tenancy_service.set_account_state(tenancy.root, tenancy.ids["dev"], TenantState.DISABLED)
    messages["disabled account"] = _failure(lambda: scope(credentials, "alice"))
    session.get(User, tenancy.ids["bob"]).state = TenantState.LOCKED
    messages["locked user"] = _failure(lambda: scope(credentials, "bob"))
    session.get(Domain, tenancy.ids["globex"]).state = TenantState.DISABLED
    messages["disabled domain"] = _failure(lambda: scope(credentials, "carol"))
    assert set(messages.values()) == {SIGN_IN_FAILED}, messages
    # Unaffected users still sign in.
    assert scope(credentials, "acmeadmin").username == "acmeadmin"


def test_user_names_are_matched_exactly_on_every_backend(credentials, tenancy) -> None:
    # SQLite compares bytes; a case- or pad-insensitive collation on MariaDB would let
    # "ALICE" or "alice " sign in as alice there only.
    for variant in ("ALICE", "Alice", "alice "):
        with pytest.raises(AuthenticationFailed):
            credentials.authenticate_password(variant, "alice-password")


def test_scope_lists_project_memberships(credentials, session, tenancy) -> None:
    project = TenancyService(session, credentials.hasher).create_project(
        scope(credentials, "alice"), "apollo"
    )
    assert scope(credentials, "alice").project_ids == frozenset({project.id})
    assert scope(credentials, "bob").project_ids == frozenset()


def test_scope_for_unknown_user_id(credentials) -> None:
    with pytest.raises(AuthenticationFailed, match=SIGN_IN_FAILED):
        credentials.scope_for_user_id("no-such-user")


def test_sign_in_record_holds_the_hash_and_the_scope(credentials, tenancy) -> None:
    record = credentials.sign_in_record("alice")
    assert record.user_id == tenancy.ids["alice"]
    assert record.password_hash.startswith("$argon2id$")
    assert record.usable_scope() == scope(credentials, "alice")
    assert credentials.sign_in_record("nobody") is None


def test_sign_in_record_is_one_statement_with_every_membership(
    credentials, session, database, tenancy
) -> None:
    projects = TenancyService(session, credentials.hasher)
    for name in ("p1", "p2"):
        projects.create_project(scope(credentials, "alice"), name)
    session.flush()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        record = credentials.sign_in_record("alice")
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)
    # The hot path of every Basic request: one round trip, whatever the memberships.
    assert len(statements) == 1, statements
    assert len(record.usable_scope().project_ids) == 2


def test_sign_in_record_of_a_user_who_may_not_act_has_no_scope(
    credentials, session, tenancy
) -> None:
    session.get(User, tenancy.ids["bob"]).state = TenantState.LOCKED
    record = credentials.sign_in_record("bob")
    assert record is not None and record.scope is None
    with pytest.raises(AuthenticationFailed, match=SIGN_IN_FAILED):
        record.usable_scope()


# -- API keys ------------------------------------------------------------------------


def test_api_keys_are_created_listed_and_revoked(credentials, tenancy) -> None:
    alice = scope(credentials, "alice")
    issued = credentials.create_api_key(alice, tenancy.ids["alice"], "laptop")
    assert issued.access_key.startswith("CK") and len(issued.secret) >= 32
    assert issued.user_id == tenancy.ids["alice"]
    other = credentials.create_api_key(scope(credentials, "bob"), tenancy.ids["bob"])
    carols = credentials.create_api_key(scope(credentials, "carol"), tenancy.ids["carol"])
    assert len({issued.access_key, other.access_key, carols.access_key}) == 3

    def listed(who: Scope) -> set[str]:
        return {k.access_key for k in credentials.list_api_keys(who)}

    assert listed(alice) == {issued.access_key}
    assert listed(scope(credentials, "acmeadmin")) == {issued.access_key, other.access_key}
    assert listed(scope(credentials, "admin")) == {
        issued.access_key,
        other.access_key,
        carols.access_key,
    }

    with pytest.raises(NotFound):  # bob cannot even see alice's key
        credentials.revoke_api_key(scope(credentials, "bob"), issued.access_key)
    with pytest.raises(NotFound):
        credentials.revoke_api_key(scope(credentials, "acmeadmin"), carols.access_key)
    with pytest.raises(NotFound):
        credentials.revoke_api_key(alice, "CKNOSUCHKEY")
    credentials.revoke_api_key(alice, issued.access_key)
    revoked = credentials.session.scalar(
        sa.select(ApiKey.revoked).where(ApiKey.access_key == issued.access_key)
    )
    assert revoked is not None
    credentials.revoke_api_key(alice, issued.access_key)  # revoking twice is harmless
    assert (
        credentials.session.scalar(
            sa.select(ApiKey.revoked).where(ApiKey.access_key == issued.access_key)
        )
        == revoked
    )
    credentials.revoke_api_key(scope(credentials, "acmeadmin"), other.access_key)


def test_who_may_issue_keys(credentials, tenancy) -> None:
    assert credentials.create_api_key(scope(credentials, "acmeadmin"), tenancy.ids["alice"])
    with pytest.raises(NotFound):
        credentials.create_api_key(scope(credentials, "bob"), tenancy.ids["alice"])
    with pytest.raises(NotFound):
        credentials.create_api_key(scope(credentials, "acmeadmin"), tenancy.ids["carol"])
    with pytest.raises(NotFound):
        credentials.create_api_key(scope(credentials, "alice"), "no-such-user")
    with pytest.raises(InvalidInput):
        credentials.create_api_key(
            scope(credentials, "alice"),
            tenancy.ids["alice"],
            expires=utcnow() - dt.timedelta(seconds=1),
        )


def test_domain_admin_of_root_cannot_issue_root_keys(credentials, session, tenancy) -> None:
    """A key for a root administrator would make its issuer root."""
    tenancy_service = TenancyService(session, credentials.hasher)
    ops = tenancy_service.create_account(
        tenancy.root, "root-ops", tenancy.ids["ROOT"], AccountType.DOMAIN_ADMIN
    )
    tenancy_service.create_user(tenancy.root, ops.id, "rootops", "rootops-password")
    with pytest.raises((PermissionDenied, NotFound)):
        credentials.create_api_key(scope(credentials, "rootops"), tenancy.ids["admin"])


def test_key_for_signature(credentials, tenancy) -> None:
    now = utcnow()
    alice = scope(credentials, "alice")
    lasting = credentials.create_api_key(alice, tenancy.ids["alice"])
    expiring = credentials.create_api_key(
        alice, tenancy.ids["alice"], expires=now + dt.timedelta(hours=1)
    )
    secret, key_scope = credentials.key_for_signature(lasting.access_key, now)
    assert secret == lasting.secret
    assert key_scope.user_id == tenancy.ids["alice"] and key_scope.role is Role.USER
    assert credentials.key_for_signature(expiring.access_key, now)[0] == expiring.secret

    later = now + dt.timedelta(hours=1, seconds=1)
    refusals = []
    for access_key, when in (
        (expiring.access_key, later),  # expired
        (expiring.access_key, now + dt.timedelta(hours=1)),  # expires at that very instant
        ("CKNOSUCHKEY", now),
        ("", now),
    ):
        with pytest.raises(AuthenticationFailed) as caught:
            credentials.key_for_signature(access_key, when)
        refusals.append(str(caught.value))
    credentials.revoke_api_key(alice, lasting.access_key)
    with pytest.raises(AuthenticationFailed) as caught:
        credentials.key_for_signature(lasting.access_key, now)
    refusals.append(str(caught.value))
    assert set(refusals) == {SIGN_IN_FAILED}


def test_a_tool_key_is_issued_once_and_replaced_when_unusable(credentials, tenancy) -> None:
    alice = scope(credentials, "alice")
    tool = "concord apikey sign"
    credentials.create_api_key(alice, tenancy.ids["alice"], "another key")
    first = credentials.key_for_tool(tenancy.root, tenancy.ids["alice"], tool)
    again = credentials.key_for_tool(tenancy.root, tenancy.ids["alice"], tool)
    assert (again.access_key, again.secret) == (first.access_key, first.secret)
    assert credentials.key_for_signature(first.access_key, utcnow())[0] == first.secret
    credentials.revoke_api_key(alice, first.access_key)
    fresh = credentials.key_for_tool(tenancy.root, tenancy.ids["alice"], tool)
    assert fresh.access_key not in (first.access_key,)
    assert len(credentials.list_api_keys(alice)) == 3
    # Only for users the caller may issue keys for, like create_api_key.
    with pytest.raises(NotFound):
        credentials.key_for_tool(scope(credentials, "bob"), tenancy.ids["alice"], tool)


def test_keys_of_disabled_users_are_refused(credentials, session, tenancy) -> None:
    issued = credentials.create_api_key(scope(credentials, "bob"), tenancy.ids["bob"])
    TenancyService(session, credentials.hasher).set_account_state(
        tenancy.root, tenancy.ids["ops"], TenantState.DISABLED
    )
    with pytest.raises(AuthenticationFailed, match=SIGN_IN_FAILED):
        credentials.key_for_signature(issued.access_key, utcnow())


def test_require_admin(credentials) -> None:
    credentials.require_admin(scope(credentials, "admin"))
    credentials.require_admin(scope(credentials, "acmeadmin"))
    with pytest.raises(PermissionDenied):
        credentials.require_admin(scope(credentials, "alice"))


# -- nonces ---------------------------------------------------------------------------


def _nonces(database: Database) -> list[tuple[str, str]]:
    with database.session() as session:
        return [
            tuple(r)
            for r in session.execute(
                sa.select(SeenNonce.access_key, SeenNonce.nonce).order_by(SeenNonce.nonce)
            )
        ]


def test_a_replayed_nonce_is_refused_across_sessions(database: Database, tenancy) -> None:
    expires = utcnow() + dt.timedelta(minutes=5)
    with database.transaction() as session:
        CredentialService(session).remember_nonce("CKA", "n-1", expires)
    with database.transaction() as session, pytest.raises(AuthenticationFailed, match="replay"):
        CredentialService(session).remember_nonce("CKA", "n-1", expires)
    with database.transaction() as session:
        CredentialService(session).remember_nonce("CKB", "n-1", expires)  # another key: fine
        CredentialService(session).remember_nonce("CKA", "n-2", expires)
    assert _nonces(database) == [("CKA", "n-1"), ("CKB", "n-1"), ("CKA", "n-2")]


def test_a_replay_does_not_spoil_the_outer_transaction(database: Database, tenancy) -> None:
    expires = utcnow() + dt.timedelta(minutes=5)
    with database.transaction() as session:
        credentials = CredentialService(session)
        TenancyService(session).create_domain(tenancy.root, "before", tenancy.ids["ROOT"])
        credentials.remember_nonce("CKA", "n-1", expires)
        with pytest.raises(AuthenticationFailed, match="replay"):
            credentials.remember_nonce("CKA", "n-1", expires)
        TenancyService(session).create_domain(tenancy.root, "after", tenancy.ids["ROOT"])
    with database.session() as session:
        names = set(session.scalars(sa.select(Domain.name)))
    assert {"before", "after"} <= names
    assert _nonces(database) == [("CKA", "n-1")]


def test_a_replay_from_another_open_transaction_does_not_spoil_it(
    database: Database, tenancy
) -> None:
    expires = utcnow() + dt.timedelta(minutes=5)
    with database.transaction() as session:
        CredentialService(session).remember_nonce("CKA", "n-1", expires)
    with database.transaction() as session:
        TenancyService(session).create_domain(tenancy.root, "kept", tenancy.ids["ROOT"])
        with pytest.raises(AuthenticationFailed):
            CredentialService(session).remember_nonce("CKA", "n-1", expires)
    with database.session() as session:
        assert session.scalar(sa.select(Domain.id).where(Domain.name == "kept")) is not None


def test_expired_nonces_are_purged_and_may_be_reused(database: Database, tenancy) -> None:
    with database.transaction() as session:
        CredentialService(session).remember_nonce("CKA", "old", utcnow() - dt.timedelta(seconds=1))
    with database.transaction() as session:
        CredentialService(session).remember_nonce("CKA", "new", utcnow() + dt.timedelta(minutes=5))
    assert _nonces(database) == [("CKA", "new")]


@pytest.mark.parametrize("nonce", ["", "n" * 129])
def test_nonce_length(database: Database, tenancy, nonce: str) -> None:
    with database.transaction() as session, pytest.raises(AuthenticationFailed):
        CredentialService(session).remember_nonce("CKA", nonce, utcnow())
    assert _nonces(database) == []


def test_an_unknown_user_takes_as_long_to_refuse_as_a_known_one(session: Session, tenancy) -> None:
    """Refusal time must not tell which user names exist.

    The two refusals are timed alternately in the same test, so that a loaded
    machine slows both alike, and compared as a ratio of medians (never as an
    absolute time). Argon2 costs are cheap but large enough to dominate the
    database read; the code path is production's.
    """
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=8192, parallelism=1))
    TenancyService(session, hasher).create_user(
        tenancy.root, tenancy.ids["ops"], "timed", "timed-password"
    )
    credentials = CredentialService(session, hasher)

    def refusal(username: str) -> float:
        started = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            credentials.authenticate_password(username, "wrong-password")
        return time.perf_counter() - started

    refusal("timed"), refusal("nobody")  # warm both paths (statements, dummy hash)
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(25):
        known.append(refusal("timed"))
        unknown.append(refusal("nobody"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.67 < ratio < 1.5, f"unknown/known refusal time ratio {ratio:.2f}"
