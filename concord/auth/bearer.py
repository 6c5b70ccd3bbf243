"""``Authorization: Bearer`` JSON Web Tokens from trusted OpenID Connect issuers.

A token is accepted when, and only when (RFC 7519 §7.2, OpenID Connect Core
§3.1.3.7):

* its ``iss`` is an issuer the operator trusts (``concord federation issuer
  add``), compared exactly;
* it is signed with an asymmetric algorithm by a key of that issuer's JWKS
  (never ``none`` nor an HMAC, whose "key" would be public);
* its ``aud`` names the audience recorded for that issuer;
* it has not expired, and is not used before ``nbf``/``iat`` (give or take
  the ``federation_token_leeway`` setting), and it has a ``sub``.

Then :class:`~engine.federation.identity.FederatedIdentityService` maps its
claims to a local user. Every refusal is the same 401 as a wrong password;
the log says why.

Each issuer's keys are fetched once and kept for
``federation_jwks_cache_seconds``; a token naming a key id the cache does not
know refreshes the set at most once per ``federation_jwks_refresh_cooldown``
seconds, so that made-up key ids cannot turn every request into a call to
the issuer. The
issuer's JWKS address comes from its OpenID Connect discovery document
(``/.well-known/openid-configuration``) unless the operator recorded one.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from typing import TYPE_CHECKING, Any

import jwt

from engine.errors import AuthenticationFailed
from engine.federation.identity import FederatedIdentityService
from engine.tenancy.credentials import SIGN_IN_FAILED

if TYPE_CHECKING:
    from pyramid.request import Request

    from engine.federation.models import TrustedIssuer
    from engine.scope import Scope

log = logging.getLogger(__name__)

BEARER = "Bearer"
#: Public-key signature algorithms only (RFC 7518 §3.1): an HMAC-signed token
#: would be verified with a "key" anyone can read from the JWKS.
ALGORITHMS = [
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]
#: The longest token looked at (the header limits bound it too; this keeps the
#: JSON decoding of a forged token cheap whatever those limits are).
MAX_TOKEN_BYTES = 16 * 1024
_DISCOVERY = "/.well-known/openid-configuration"


class IssuerKeys:
    """The signing keys of each trusted issuer, fetched on first use and cached.

    :param cache_seconds: how long a fetched key set is used before it is fetched again.
    :param timeout: seconds to wait for an issuer's discovery document or keys.
    :param cooldown: the fewest seconds between two fetches caused by unknown key ids.
    """

    def __init__(self, cache_seconds: float, timeout: float, cooldown: float) -> None:
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.cooldown = cooldown
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._jwks_uris: dict[str, str] = {}
        self._lock = threading.Lock()

    def signing_key(self, issuer: TrustedIssuer, token: str) -> Any:
        """The key of ``issuer`` that ``token``'s header names.

        :raises jwt.PyJWKClientError: the keys cannot be fetched, or none matches.
        """
        return self._client(issuer).get_signing_key_from_jwt(token).key

    def _client(self, issuer: TrustedIssuer) -> jwt.PyJWKClient:
        uri = issuer.jwks_uri or self._discovered_jwks_uri(issuer.url)
        with self._lock:
            client = self._clients.get(uri)
            if client is None:
                client = jwt.PyJWKClient(
                    uri,
                    cache_jwk_set=True,
                    lifespan=self.cache_seconds,
                    timeout=self.timeout,
                    cooldown_duration=self.cooldown,
                )
                self._clients[uri] = client
        return client

    def _discovered_jwks_uri(self, issuer_url: str) -> str:
        with self._lock:
            known = self._jwks_uris.get(issuer_url)
        if known is not None:
            return known
        url = issuer_url.rstrip("/") + _DISCOVERY
        try:
            # http(s) only: the issuer's URL was checked when it was added.
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                document = json.loads(response.read(1024 * 1024))
            uri = document["jwks_uri"]
            if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                raise ValueError(f"jwks_uri {uri!r} is not an http(s) URL")
            # OpenID Connect Discovery 1.0 §4.3: the document's issuer must be
            # the very URL it was fetched for.
            if document.get("issuer") != issuer_url:
                raise ValueError(f"the document names issuer {document.get('issuer')!r}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise jwt.PyJWKClientError(f"discovery at {url} failed: {exc}") from exc
        with self._lock:
            self._jwks_uris[issuer_url] = uri
        return uri


def _refused(reason: str, *args: object) -> AuthenticationFailed:
    log.info("bearer token refused: " + reason, *args)
    return AuthenticationFailed(SIGN_IN_FAILED)


def authenticate_bearer(request: Request, header: str) -> Scope:
    """The scope of the federated user whose token is in ``header`` (``Bearer <jwt>``).

    :raises AuthenticationFailed: anything about the token is not as the module
        docstring requires, or no mapping rule places its subject.
    """
    return federated_scope(request, header[len(BEARER) :].strip())


def federated_scope(request: Request, token: str, issuer_name: str | None = None) -> Scope:
    """The scope of the federated user ``token`` stands for.

    :param issuer_name: when given, the token must come from the trusted issuer
        of that name (the Keystone federation API names it in its path).
    :raises AuthenticationFailed: as :func:`authenticate_bearer`.
    """
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise _refused("empty or oversized token")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _refused("not a JWT (%s)", exc) from None
    issuer_url = unverified.get("iss")
    service = FederatedIdentityService(request.dbsession)
    issuer = service.issuer_at(issuer_url) if isinstance(issuer_url, str) else None
    if issuer is None:
        raise _refused("issuer %r is not trusted", issuer_url)
    if issuer_name is not None and issuer.name != issuer_name:
        raise _refused("the token is from issuer %s, not %s", issuer.name, issuer_name)
    settings = request.registry.concord_settings
    keys: IssuerKeys = request.registry.issuer_keys
    try:
        key = keys.signing_key(issuer, token)
    except jwt.PyJWKClientError as exc:
        log.warning("the keys of issuer %s cannot be used: %s", issuer.name, exc)
        raise AuthenticationFailed(SIGN_IN_FAILED) from None
    except jwt.PyJWTError as exc:
        raise _refused("issuer %s: %s", issuer.name, exc) from None
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=issuer.audience,
            issuer=issuer.url,
            leeway=settings.federation_token_leeway,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise _refused("issuer %s: %s", issuer.name, exc) from None
    return service.sign_in(issuer, claims)
