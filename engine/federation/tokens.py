"""Keystone-style tokens: what a federated user holds after signing in once.

OCCI clients built for the EGI federation do not send the identity
provider's token with every request: they exchange it, Keystone v3 style,
for an *unscoped* token, list the projects it may use, exchange it again for
a token *scoped* to one project, and send that as ``X-Auth-Token``. These
tokens are stateless, like Keystone's Fernet tokens: the user, the project
and the expiry, encrypted and authenticated under the server keys
(:mod:`engine.tenancy.server_keys`), so every server process can check them
without a table and a token cannot be altered or forged without the keys.
They are short-lived, and each use checks again that the user may act and
is still a member of the project.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.errors import AuthenticationFailed
from engine.scope import Scope
from engine.tenancy.credentials import SIGN_IN_FAILED, CredentialService
from engine.tenancy.server_keys import ServerKeyError, ServerKeys

#: What the encrypted payload starts with, so that a sealed API-key secret
#: (the same keys seal those) is never mistaken for a token.
_PURPOSE = "concord-token-v1"
#: The longest token looked at (a Fernet token of this payload is ~250 bytes).
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class IssuedToken:
    """A token and what it stands for.

    :param value: the opaque token a client sends as ``X-Auth-Token``.
    :param user_id: the user it signs in.
    :param project_id: the project it is scoped to, or None (unscoped).
    :param expires: when it stops being accepted.
    """

    value: str
    user_id: str
    project_id: str | None
    expires: dt.datetime


class TokenService:
    """Issue and check unscoped and project-scoped tokens.

    :param session: a unit of work to read users and memberships with.
    :param server_keys: the keys tokens are sealed with.
    """

    def __init__(self, session: Session, server_keys: ServerKeys) -> None:
        self.session = session
        self.server_keys = server_keys

    def issue(
        self, scope: Scope, lifetime: dt.timedelta, project_id: str | None = None
    ) -> IssuedToken:
        """A token for the user of ``scope``, scoped to ``project_id`` when given.

        :raises AuthenticationFailed: the scope has no user, or the user is not
            a member of ``project_id``.
        """
        if scope.user_id is None:
            raise AuthenticationFailed(SIGN_IN_FAILED)
        if project_id is not None and project_id not in scope.project_ids:
            raise AuthenticationFailed("the token does not give access to that project")
        expires = utcnow() + lifetime
        payload = {
            "purpose": _PURPOSE,
            "user": scope.user_id,
            "project": project_id,
            "expires": int(expires.timestamp()),
        }
        value = self.server_keys.seal(json.dumps(payload, separators=(",", ":")))
        return IssuedToken(value, scope.user_id, project_id, expires.replace(microsecond=0))

    def resolve(self, value: str) -> tuple[Scope, IssuedToken]:
        """The scope a token signs in as (with its project, if scoped), and the token's facts.

        :raises AuthenticationFailed: the token is altered, foreign, expired, or
            its user may no longer act or is no longer in its project.
        """
        if not value or len(value) > MAX_TOKEN_LENGTH:
            raise AuthenticationFailed(SIGN_IN_FAILED)
        try:
            payload = json.loads(self.server_keys.unseal(value))
        except (ServerKeyError, ValueError):
            raise AuthenticationFailed(SIGN_IN_FAILED) from None
        if not isinstance(payload, dict) or payload.get("purpose") != _PURPOSE:
            raise AuthenticationFailed(SIGN_IN_FAILED)
        user_id, project_id = payload.get("user"), payload.get("project")
        expires = payload.get("expires")
        if (
            not isinstance(user_id, str)
            or not isinstance(expires, int)
            or expires <= utcnow().timestamp()
        ):
            raise AuthenticationFailed("the token has expired")
        scope = CredentialService(self.session).scope_for_user_id(user_id)
        if project_id is not None:
            if not isinstance(project_id, str) or project_id not in scope.project_ids:
                raise AuthenticationFailed(SIGN_IN_FAILED)
            scope = replace(scope, project_id=project_id)
        issued = IssuedToken(value, user_id, project_id, dt.datetime.fromtimestamp(expires, dt.UTC))
        return scope, issued
