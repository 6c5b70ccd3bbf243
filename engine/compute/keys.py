"""SSH public keys an account keeps to inject into its guests (CIMI Credential).

A key belongs to one account; its users see and manage it, and so do the
administrators of its domain (and the root administrator). Its name is unique
in the account. The key text is one OpenSSH public key line; its SHA-256
fingerprint is computed here, in the ``SHA256:<base64>`` form ``ssh-keygen
-l`` prints. Keys are synchronous: no job, nothing on a hypervisor.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.compute.models import SSHKey
from engine.db import new_id
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.resources import checks
from engine.resources.checks import UNSET, Unset
from engine.scope import Scope
from engine.tenancy.models import Account, Domain


def fingerprint(public_key: str) -> str:
    """The ``SHA256:...`` fingerprint of an OpenSSH public key line.

    :raises InvalidInput: the key's second field is not Base64.
    """
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (IndexError, binascii.Error):
        raise InvalidInput("the public key is not valid Base64", field="public_key") from None
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


class KeyService:
    """SSH keys as their owners and administrators see them.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        scope: Scope,
        *,
        name: str,
        public_key: str,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> SSHKey:
        """Keep a new key for the caller's account.

        :raises InvalidInput: not an account's user, or a malformed value.
        :raises AlreadyExists: the account has a key of that name.
        """
        if scope.account_id is None:
            raise InvalidInput(
                "only an account can own a key; act as a user of one",
                subject="ssh_key",
                reason="owner",
            )
        checks.check_text("name", name, 255, required=True)
        checks.check_text("description", description, 1024)
        checks.check_properties(properties)
        public_key = self._checked_key(public_key)
        self._check_unique(scope.account_id, name)
        key = SSHKey(
            id=new_id(),
            account_id=scope.account_id,
            name=name,
            public_key=public_key,
            fingerprint=fingerprint(public_key),
            description=description,
            properties=dict(properties or {}),
        )
        self.session.add(key)
        self.session.flush()
        return key

    def get(self, scope: Scope, key_id: str) -> SSHKey:
        """A key visible to ``scope``.

        :raises NotFound: no such key, or another tenant's.
        """
        key = self.session.scalar(self._visible(scope).where(SSHKey.id == key_id))
        if key is None:
            raise NotFound(f"no SSH key {key_id!r}", subject="ssh_key", id=key_id)
        return key

    def list(self, scope: Scope, *, name: str | None = None) -> builtins.list[SSHKey]:
        """Keys visible to ``scope``, oldest first (only those called ``name`` if given)."""
        query = self._visible(scope)
        if name is not None:
            query = query.where(SSHKey.name == name)
        return builtins.list(self.session.scalars(query.order_by(SSHKey.created, SSHKey.id)))

    def update(
        self,
        scope: Scope,
        key_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        properties: Mapping[str, str] | Unset = UNSET,
    ) -> SSHKey:
        """Rename a key or change its description or properties (the key text is fixed).

        :raises NotFound: no such key visible to ``scope``.
        :raises AlreadyExists: the new name is taken in the key's account.
        """
        key = self.get(scope, key_id)
        changes: dict[str, Any] = {}
        if not isinstance(name, Unset):
            checks.check_text("name", name, 255, required=True)
            if name != key.name:
                self._check_unique(key.account_id, name)
            changes["name"] = name
        if not isinstance(description, Unset):
            checks.check_text("description", description, 1024)
            changes["description"] = description
        if not isinstance(properties, Unset):
            checks.check_properties(properties)
            changes["properties"] = dict(properties)
        for field, value in changes.items():
            if getattr(key, field) != value:
                setattr(key, field, value)
        self.session.flush()
        return key

    def delete(self, scope: Scope, key_id: str) -> None:
        """Forget a key. Guests it was injected into keep it.

        :raises NotFound: no such key visible to ``scope``.
        """
        key = self.get(scope, key_id)
        self.session.delete(key)
        self.session.flush()

    # -- internals -------------------------------------------------------------

    @staticmethod
    def _checked_key(public_key: object) -> str:
        if not isinstance(public_key, str) or not public_key.strip():
            raise InvalidInput("a key needs its public key text", field="public_key")
        try:
            checks.check_ssh_key(public_key)
        except InvalidInput:
            raise InvalidInput(
                "public_key must be one OpenSSH public key line", field="public_key"
            ) from None
        return public_key.strip()

    def _check_unique(self, account_id: str, name: str) -> None:
        query = sa.select(SSHKey.id).where(SSHKey.account_id == account_id, SSHKey.name == name)
        if self.session.scalar(query.limit(1)) is not None:
            raise AlreadyExists(
                f"a key called {name!r} exists already", field="name", subject="ssh_key"
            )

    def _visible(self, scope: Scope) -> sa.Select[SSHKey]:
        query = sa.select(SSHKey)
        if scope.is_root_admin:
            return query
        if scope.is_admin:
            subtree = (
                sa.select(Account.id)
                .join(Domain, Account.domain_id == Domain.id)
                .where(Domain.path.startswith(scope.domain_path))
            )
            return query.where(
                sa.or_(SSHKey.account_id == scope.account_id, SSHKey.account_id.in_(subtree))
            )
        return query.where(SSHKey.account_id == scope.account_id)


__all__ = ["KeyService", "fingerprint"]
