"""API-key secrets at rest: encrypted under the server key, rotation, the key file, and
migration 0004, which encrypts the secrets stored in clear before it."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from helpers import TEST_SERVER_KEYS, Signer
from sqlalchemy.orm import Session
from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from engine.db import Database, utcnow
from engine.errors import AuthenticationFailed, Conflict
from engine.schema import alembic_config, current_revision, head_revision, upgrade
from engine.tenancy.credentials import SIGN_IN_FAILED, CredentialService
from engine.tenancy.models import ApiKey
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.server_keys import ServerKeyError, ServerKeys

OLD = ServerKeys.generate()
NEW = ServerKeys.generate()


@pytest.fixture
def session(database: Database, tenancy: object) -> Iterator[Session]:
    with database.session() as session:
        yield session
        session.rollback()


def service(session: Session, hasher: PasswordHasher, *keys: str) -> CredentialService:
    return CredentialService(session, hasher, ServerKeys(list(keys)))


def raw_rows(session: Session) -> list[str]:
    """Every column of every API key row, as stored (no model, no decryption)."""
    table = sa.Table("api_keys", sa.MetaData(), autoload_with=session.connection())
    return [repr(tuple(row)) for row in session.execute(sa.select(table))]


def issue(credentials: CredentialService, user_id: str) -> tuple[str, str]:
    scope = credentials.scope_for_user_id(user_id)
    issued = credentials.create_api_key(scope, user_id, "laptop")
    return issued.access_key, issued.secret


def test_a_secret_is_not_in_the_database_in_clear(session, hasher, tenancy) -> None:
    credentials = service(session, hasher, OLD)
    access_key, secret = issue(credentials, tenancy.ids["alice"])
    session.flush()
    rows = raw_rows(session)
    assert len(rows) == 1 and access_key in rows[0]
    assert secret not in rows[0]
    assert credentials.key_for_signature(access_key, utcnow())[0] == secret
    # A dump without the server key yields nothing usable: another key cannot read it.
    with pytest.raises(AuthenticationFailed, match=SIGN_IN_FAILED):
        service(session, hasher, NEW).key_for_signature(access_key, utcnow())


def test_rotation_reads_under_the_old_key_and_reencrypts_under_the_new(
    session, hasher, tenancy
) -> None:
    before = service(session, hasher, OLD)
    alices = issue(before, tenancy.ids["alice"])
    bobs = issue(before, tenancy.ids["bob"])
    stored = raw_rows(session)

    # Step 1: the new key first, the old one after it: both kinds of secret are read.
    during = service(session, hasher, NEW, OLD)
    carols = issue(during, tenancy.ids["carol"])  # sealed under the new key
    for access_key, secret in (alices, bobs, carols):
        assert during.key_for_signature(access_key, utcnow())[0] == secret
    # The old key alone cannot read what the new one sealed.
    with pytest.raises(AuthenticationFailed):
        before.key_for_signature(carols[0], utcnow())

    # Step 2: re-encrypt everything under the new key.
    assert during.reseal_api_keys() == 3
    assert set(raw_rows(session)).isdisjoint(stored)

    # Step 3: the old key can go.
    after = service(session, hasher, NEW)
    for access_key, secret in (alices, bobs, carols):
        assert after.key_for_signature(access_key, utcnow())[0] == secret
    with pytest.raises(AuthenticationFailed):
        before.key_for_signature(alices[0], utcnow())


def test_a_rotation_missing_a_key_changes_nothing(session, hasher, tenancy) -> None:
    issue(service(session, hasher, OLD), tenancy.ids["alice"])
    issue(service(session, hasher, NEW), tenancy.ids["bob"])
    stored = raw_rows(session)
    with pytest.raises(Conflict, match="1 API key secret"):
        service(session, hasher, NEW).reseal_api_keys()
    assert raw_rows(session) == stored


def test_an_altered_sealed_secret_is_refused(session, hasher, tenancy) -> None:
    credentials = service(session, hasher, OLD)
    access_key, _secret = issue(credentials, tenancy.ids["alice"])
    key = session.scalar(sa.select(ApiKey).where(ApiKey.access_key == access_key))
    key.sealed_secret = key.sealed_secret[:-6] + (
        "AAAAAA" if key.sealed_secret[-6:] != "AAAAAA" else "BBBBBB"
    )
    session.flush()
    with pytest.raises(AuthenticationFailed, match=SIGN_IN_FAILED):
        credentials.key_for_signature(access_key, utcnow())


def test_issuing_a_key_needs_the_server_keys(session, hasher, tenancy) -> None:
    credentials = CredentialService(session, hasher)
    with pytest.raises(RuntimeError, match="server keys"):
        issue(credentials, tenancy.ids["alice"])


# -- the key file --------------------------------------------------------------------------


def test_a_missing_default_key_file_is_made_once_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "server.key"
    made: list[ServerKeys] = []
    barrier = threading.Barrier(8)

    def load() -> None:
        barrier.wait()
        made.append(ServerKeys.load(path, create=True))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Processes starting together agree on one key.
    assert len({keys.keys for keys in made}) == 1 and len(made[0].keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["server.key"]  # no temporary left behind
    token = made[0].seal("s3cret")
    assert ServerKeys.load(path).unseal(token) == "s3cret"


def test_the_default_key_file_is_under_var_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    keys = Settings.from_mapping({}, environ={}).server_keys()
    path = tmp_path / "var" / "server.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == keys.keys[0]
    assert Settings.from_mapping({}, environ={}).server_keys().keys == keys.keys


def test_a_configured_key_file_must_exist(tmp_path: Path) -> None:
    # Servers meant to share one key must never each make their own.
    settings = Settings.from_mapping(
        {"concord.server_key_file": str(tmp_path / "nowhere.key")}, environ={}
    )
    with pytest.raises(ServerKeyError, match="no server key file"):
        settings.server_keys()
    assert not (tmp_path / "nowhere.key").exists()


def test_key_file_format(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2026-12-01\n\n{NEW}\n  {OLD}  \n")
    assert ServerKeys.load(path).keys == (NEW, OLD)
    for text, why in (
        ("", "holds no key"),
        ("# only a comment\n", "holds no key"),
        ("short\n", "urlsafe base64"),
    ):
        path.write_text(text)
        with pytest.raises(ServerKeyError, match=why):
            ServerKeys.load(path)


def test_a_token_under_no_configured_key_cannot_be_read() -> None:
    token = ServerKeys([OLD]).seal("secret")
    with pytest.raises(ServerKeyError):
        ServerKeys([NEW]).unseal(token)
    with pytest.raises(ServerKeyError):
        ServerKeys([NEW]).unseal("not a token at all \u00e9")
    assert ServerKeys([NEW, OLD]).unseal(ServerKeys([NEW, OLD]).reseal(token)) == "secret"
    assert ServerKeys([NEW]).unseal(ServerKeys([NEW, OLD]).reseal(token)) == "secret"


# -- migration 0004 ------------------------------------------------------------------------


def _clear_key_before_sealing(database: Database, user_id: str) -> tuple[str, str]:
    """Go down to 0003 and store a key as 0003 did: its secret in clear."""
    command.downgrade(alembic_config(database, TEST_SERVER_KEYS), "0003")
    assert current_revision(database) == "0003"
    api_keys = sa.table(
        "api_keys",
        sa.column("id", sa.String),
        sa.column("access_key", sa.String),
        sa.column("secret", sa.String),
        sa.column("user_id", sa.String),
        sa.column("created", sa.DateTime),
    )
    access_key, secret = "CKLEGACY0000000000001", "legacy-secret-in-clear-0123456789abcdefghij"
    with database.transaction() as session:
        session.execute(
            sa.insert(api_keys).values(
                id="00000000-0000-0000-0000-000000000001",
                access_key=access_key,
                secret=secret,
                user_id=user_id,
                created=utcnow().replace(tzinfo=None),
            )
        )
    return access_key, secret


def _stored(database: Database) -> list[str]:
    with database.session() as session:
        return raw_rows(session)


@pytest.fixture
def at_head(database: Database) -> Iterator[Database]:
    """The database, put back at head (with the test keys) whatever the test did."""
    try:
        yield database
    finally:
        upgrade(database, server_keys=TEST_SERVER_KEYS)


def test_the_upgrade_encrypts_stored_secrets_and_keys_keep_working(
    at_head: Database, tenancy, hasher, settings: Settings
) -> None:
    database = at_head
    access_key, secret = _clear_key_before_sealing(database, tenancy.ids["alice"])
    assert any(secret in row for row in _stored(database))

    upgrade(database, server_keys=TEST_SERVER_KEYS)
    assert current_revision(database) == head_revision()
    stored = _stored(database)
    assert len(stored) == 1 and access_key in stored[0] and secret not in stored[0]
    with database.session() as session:
        credentials = CredentialService(session, hasher, TEST_SERVER_KEYS)
        assert credentials.key_for_signature(access_key, utcnow())[0] == secret
    # The client still signs with the secret it was given before the upgrade.
    app = TestApp(make_app(settings, database))
    app.get("/-/", headers=Signer(access_key, secret).headers("GET", "/-/"), status=200)

    # And down again: the secret is decrypted back into the old column.
    command.downgrade(alembic_config(database, TEST_SERVER_KEYS), "0003")
    assert any(secret in row for row in _stored(database))


def test_the_upgrade_refuses_to_run_without_the_server_keys(at_head: Database, tenancy) -> None:
    database = at_head
    _access_key, secret = _clear_key_before_sealing(database, tenancy.ids["alice"])
    with pytest.raises(RuntimeError, match="needs the server keys"):
        upgrade(database)
    # Nothing was changed: still 0003 (the revision before sealing), the secret where and as it was.
    assert current_revision(database) == "0003"
    assert any(secret in row for row in _stored(database))


def test_an_empty_database_upgrades_without_the_server_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    try:
        upgrade(database)
        assert current_revision(database) == head_revision()
    finally:
        database.dispose()
