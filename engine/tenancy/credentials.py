"""Credentials: password sign-in, API keys, replay protection, and scopes.

The HTTP edge parses headers and computes signatures; this module answers the
questions only the model can: does this password match, what is the secret of
this key, has this nonce been seen, and what scope does a user act in.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from engine.prepared import prepared
from engine.scope import Scope, role_for
from engine.tenancy.models import (
    Account,
    AccountType,
    ApiKey,
    Domain,
    ProjectMember,
    SeenNonce,
    TenantState,
    User,
)
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.server_keys import ServerKeyError, ServerKeys

log = logging.getLogger("engine.tenancy.credentials")

# One message for every sign-in failure so that the answer never tells a
# caller which part (user, password, state) was wrong.
SIGN_IN_FAILED = "invalid credentials"


@dataclass(frozen=True)
class IssuedKey:
    """A newly created API key; the secret is shown to its owner once."""

    access_key: str
    secret: str
    user_id: str
    expires: dt.datetime | None


@dataclass(frozen=True)
class SignInRecord:
    """A user as sign-in sees it: its password hash and the scope it would act in.

    :param user_id: the user's id.
    :param password_hash: its password hash (None: it has no password, keys only).
    :param scope: its scope, or None when the user, its account or its domain
        is not enabled.
    """

    user_id: str
    password_hash: str | None
    scope: Scope | None

    def usable_scope(self) -> Scope:
        """The scope, if the user may act.

        :raises AuthenticationFailed: the user, its account or its domain is not enabled.
        """
        if self.scope is None:
            raise AuthenticationFailed(SIGN_IN_FAILED)
        return self.scope


def _sign_in_statement(by_username: bool) -> sa.Select[*tuple[Any, ...]]:
    # One statement: the user, its account and domain, and one row per
    # project membership (an outer join, so a user without projects has one
    # row with a NULL project).
    which = User.username if by_username else User.id
    return (
        sa.select(
            User.id,
            User.username,
            User.password_hash,
            User.state,
            Account.id,
            Account.type,
            Account.state,
            Domain.id,
            Domain.path,
            Domain.state,
            ProjectMember.project_id,
        )
        .join(Account, User.account_id == Account.id)
        .join(Domain, Account.domain_id == Domain.id)
        .outerjoin(ProjectMember, ProjectMember.user_id == User.id)
        .where(which == sa.bindparam("user"))
    )


def _record(
    session: Session, *, username: str | None = None, user_id: str | None = None
) -> SignInRecord | None:
    by_username = username is not None
    statement = prepared(("sign-in", by_username), lambda: _sign_in_statement(by_username))
    rows = session.execute(statement, {"user": username if by_username else user_id}).all()
    if not rows:
        return None
    user_id, username, password_hash, user_state = rows[0][:4]
    account_id, account_type, account_state, domain_id, domain_path, domain_state = rows[0][4:10]
    enabled = TenantState.ENABLED
    scope = None
    if user_state is enabled and account_state is enabled and domain_state is enabled:
        scope = Scope(
            user_id=user_id,
            username=username,
            account_id=account_id,
            domain_id=domain_id,
            domain_path=domain_path,
            role=role_for(account_type.value),
            project_ids=frozenset(row[10] for row in rows if row[10] is not None),
        )
    return SignInRecord(user_id, password_hash, scope)


class CredentialService:
    """Authenticate callers and manage API keys.

    :param session: the unit of work.
    :param hasher: the password hasher (its costs are a deployment setting).
    :param server_keys: the keys API-key secrets are encrypted with; needed to
        issue keys and to check signatures (:meth:`create_api_key`,
        :meth:`key_for_signature`, :meth:`reseal_api_keys`).
    """

    def __init__(
        self,
        session: Session,
        hasher: PasswordHasher | None = None,
        server_keys: ServerKeys | None = None,
    ) -> None:
        self.session = session
        self.hasher = hasher or PasswordHasher()
        self._server_keys = server_keys

    @property
    def server_keys(self) -> ServerKeys:
        """The server keys this service was given.

        :raises RuntimeError: it was given none (a programming error, not a client's).
        """
        if self._server_keys is None:
            raise RuntimeError("API-key secrets need the server keys: pass server_keys")
        return self._server_keys

    # -- sign-in -----------------------------------------------------------------

    def authenticate_password(self, username: str, password: str) -> Scope:
        """Return the scope of ``username`` if ``password`` is right and it may act.

        :raises AuthenticationFailed: unknown user, wrong password, or the
            user, its account or its domain is not enabled.
        """
        return self.check_password(self.sign_in_record(username), password)

    def check_password(self, record: SignInRecord | None, password: str) -> Scope:
        """:meth:`authenticate_password` for a sign-in record already read.

        :param record: what :meth:`sign_in_record` returned (None: no such user).
        :raises AuthenticationFailed: as :meth:`authenticate_password`.
        """
        if record is None or record.password_hash is None:
            # Spend the same time as a real check so that timing does not
            # reveal which user names exist.
            self.hasher.verify_nobody(password)
            raise AuthenticationFailed(SIGN_IN_FAILED)
        if not self.hasher.verify(record.password_hash, password):
            raise AuthenticationFailed(SIGN_IN_FAILED)
        return record.usable_scope()

    def sign_in_record(self, username: str) -> SignInRecord | None:
        """Everything a sign-in by ``username`` needs, in one statement.

        This is the hot path of every Basic-authenticated request: with the
        edge's verified-password cache warm, it is the request's only
        authentication query. Nothing is cached across requests, so a disabled
        user, account or domain, a new password or a new project membership
        takes effect on the very next request, whichever process serves it.

        :returns: None when no user has this name.
        """
        return _record(self.session, username=username)

    def scope_for(self, user: User) -> Scope:
        """The scope a user acts in, after checking that it may act at all.

        :raises AuthenticationFailed: the user, its account or its domain is not enabled.
        """
        return self.scope_for_user_id(user.id)

    def scope_for_user_id(self, user_id: str) -> Scope:
        """The scope of the user with ``user_id`` (see :meth:`scope_for`)."""
        record = _record(self.session, user_id=user_id)
        if record is None:
            raise AuthenticationFailed(SIGN_IN_FAILED)
        return record.usable_scope()

    # -- API keys --------------------------------------------------------------

    def create_api_key(
        self,
        scope: Scope,
        user_id: str,
        description: str | None = None,
        expires: dt.datetime | None = None,
    ) -> IssuedKey:
        """Issue an API key for a user: the user itself or an administrator of its domain.

        :returns: the access key and the secret; the secret is not shown again.
        """
        user = self.session.get(User, user_id)
        if user is None or not (
            user.id == scope.user_id or scope.administers_domain(user.account.domain.path)
        ):
            raise NotFound(f"no user {user_id!r}", subject="user", id=user_id)
        self._require_root_for_admin_user(scope, user)
        if expires is not None and expires <= utcnow():
            raise InvalidInput("an API key cannot expire in the past", field="expires")
        secret = secrets.token_urlsafe(32)
        key = ApiKey(
            access_key="CK" + secrets.token_hex(10).upper(),
            sealed_secret=self.server_keys.seal(secret),
            user_id=user.id,
            description=description,
            expires=expires,
        )
        self.session.add(key)
        self.session.flush()
        return IssuedKey(key.access_key, secret, user.id, expires)

    def key_for_tool(self, scope: Scope, user_id: str, description: str) -> IssuedKey:
        """A usable key of a user kept for one tool, with its secret; issued on first use.

        ``concord apikey sign --user`` signs with it, so that an operator can
        make signed requests without handling a secret. The key is found by its
        ``description``; a revoked or expired one is replaced by a new one.

        :raises NotFound: as :meth:`create_api_key`.
        :raises Conflict: the key's secret decrypts with none of the server keys.
        """
        user = self.session.get(User, user_id)
        if user is None or not (
            user.id == scope.user_id or scope.administers_domain(user.account.domain.path)
        ):
            raise NotFound(f"no user {user_id!r}", subject="user", id=user_id)
        self._require_root_for_admin_user(scope, user)
        now = utcnow()
        key = self.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.user_id == user.id, ApiKey.description == description)
            .where(ApiKey.revoked.is_(None))
            .where(sa.or_(ApiKey.expires.is_(None), ApiKey.expires > now))
            .order_by(ApiKey.created.desc())
        ).first()
        if key is None:
            return self.create_api_key(scope, user.id, description)
        try:
            secret = self.server_keys.unseal(key.sealed_secret)
        except ServerKeyError:
            raise Conflict(
                f"the secret of API key {key.access_key} decrypts with none of the "
                "configured server keys",
                subject="api_key",
                reason="unusable",
            ) from None
        return IssuedKey(key.access_key, secret, user.id, key.expires)

    def list_api_keys(self, scope: Scope) -> list[ApiKey]:
        """The keys of the users the caller administers, or its own."""
        query = sa.select(ApiKey).join(User).join(Account).join(Domain).order_by(ApiKey.created)
        if not scope.is_root_admin:
            if scope.is_admin:
                query = query.where(Domain.path.startswith(scope.domain_path))
            else:
                query = query.where(ApiKey.user_id == scope.user_id)
        return list(self.session.scalars(query))

    def revoke_api_key(self, scope: Scope, access_key: str) -> None:
        """Revoke a key at once; requests signed with it fail from now on."""
        key = self.session.scalar(sa.select(ApiKey).where(ApiKey.access_key == access_key))
        if key is None or not (
            key.user_id == scope.user_id or scope.administers_domain(key.user.account.domain.path)
        ):
            raise NotFound(f"no API key {access_key!r}", subject="api_key", id=access_key)
        self._require_root_for_admin_user(scope, key.user)
        if key.revoked is None:
            key.revoked = utcnow()
        self.session.flush()

    @staticmethod
    def _require_root_for_admin_user(scope: Scope, user: User) -> None:
        # A domain administrator of ROOT administers the admin accounts'
        # domain, but managing a root administrator's keys would make it root
        # (issuing one) or let it lock root out (revoking them).
        if (
            user.id != scope.user_id
            and user.account.type is AccountType.ADMIN
            and not scope.is_root_admin
        ):
            raise PermissionDenied("only root administrators manage admin accounts")

    def key_for_signature(self, access_key: str, now: dt.datetime) -> tuple[str, Scope]:
        """The secret and scope of a usable API key.

        :raises AuthenticationFailed: unknown, revoked or expired key, or a
            user that may not act.
        """
        key = self.session.execute(
            sa.select(ApiKey.user_id, ApiKey.sealed_secret, ApiKey.revoked, ApiKey.expires).where(
                ApiKey.access_key == access_key
            )
        ).first()
        if key is None or key.revoked is not None:
            raise AuthenticationFailed(SIGN_IN_FAILED)
        if key.expires is not None and key.expires <= now:
            raise AuthenticationFailed(SIGN_IN_FAILED)
        try:
            secret = self.server_keys.unseal(key.sealed_secret)
        except ServerKeyError:
            # The operator's problem, not the client's: a key file that differs
            # between servers, or an old key removed before its secrets were
            # re-encrypted. The client sees the usual refusal.
            log.error(
                "the secret of API key %s cannot be decrypted with the configured server "
                "keys (is server_key_file the same on every server?)",
                access_key,
            )
            raise AuthenticationFailed(SIGN_IN_FAILED) from None
        return secret, self.scope_for_user_id(key.user_id)

    def reseal_api_keys(self) -> int:
        """Re-encrypt every API key's secret under the current server key (a rotation).

        Every secret is read with any configured key and written back under
        the first, so that older keys can then be removed. Revoked and expired
        keys are included: nothing sealed under an old key is left behind.

        :returns: how many secrets were re-encrypted.
        :raises Conflict: some secrets decrypt with none of the configured keys
            (nothing is changed).
        """
        rows = self.session.execute(sa.select(ApiKey.id, ApiKey.sealed_secret)).all()
        resealed: list[dict[str, str]] = []
        unreadable = 0
        for key_id, sealed in rows:
            try:
                resealed.append({"id": key_id, "sealed_secret": self.server_keys.reseal(sealed)})
            except ServerKeyError:
                unreadable += 1
        if unreadable:
            raise Conflict(
                f"{unreadable} API key secret(s) decrypt with none of the configured server "
                "keys: add the key they were encrypted with to the key file (after the "
                "current one) and run this again",
                unreadable=unreadable,
                subject="api_key",
                reason="unusable",
            )
        if resealed:
            self.session.execute(sa.update(ApiKey), resealed)  # by primary key
        return len(resealed)

    def remember_nonce(self, access_key: str, nonce: str, expires: dt.datetime) -> None:
        """Record a signed request's nonce; a second use within the window is a replay.

        Runs in its own SAVEPOINT so that a replay does not spoil the caller's
        transaction. Expired nonces are purged opportunistically.

        :raises AuthenticationFailed: the nonce was already used with this key.
        """
        if not nonce or len(nonce) > 128:
            raise AuthenticationFailed("a signed request needs a nonce of 1 to 128 characters")
        self.session.execute(sa.delete(SeenNonce).where(SeenNonce.expires < utcnow()))
        try:
            with self.session.begin_nested():
                self.session.add(SeenNonce(access_key=access_key, nonce=nonce, expires=expires))
        except IntegrityError:
            raise AuthenticationFailed("this signed request was already used (replay)") from None

    def require_admin(self, scope: Scope) -> None:
        """Raise PermissionDenied unless the caller is a root or domain administrator."""
        if not scope.is_admin:
            raise PermissionDenied("this operation is reserved to administrators")
