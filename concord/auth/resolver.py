"""Resolve the ``Authorization`` header of a request to a scope."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pyramid.httpexceptions import HTTPTooManyRequests

import signing
from concord.auth.bearer import BEARER, authenticate_bearer
from concord.auth.throttle import SignInThrottle, retry_after, source_of
from engine.db import utcnow
from engine.errors import AuthenticationFailed
from engine.federation.tokens import TokenService
from engine.scope import Scope
from engine.tenancy.credentials import SIGN_IN_FAILED, CredentialService

if TYPE_CHECKING:
    from pyramid.request import Request

log = logging.getLogger("concord.auth")

BASIC = "Basic"
#: What WebOb leaves unencoded in ``request.path`` (RFC 3986 pchar and "/").
PATH_SAFE = "/~!$&'()*+,;=:@"


class VerifiedPasswordCache:
    """Remembers which (user, password) pairs passed the memory-hard check.

    The key is the user's id and *current* password hash, so a password
    change invalidates entries at once; the value is an HMAC of the password
    under a per-process random key, so the cache never holds passwords.

    :param ttl: seconds an entry stays valid.
    :param size: the most entries kept (least recently used go first).
    """

    def __init__(self, ttl: float, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[tuple[str, str], tuple[bytes, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._key, password.encode("utf-8"), hashlib.sha256).digest()

    def knows(self, user_id: str, password_hash: str, password: str) -> bool:
        """True when this exact password was verified for this hash within the TTL."""
        with self._lock:
            entry = self._entries.get((user_id, password_hash))
            if entry is None:
                return False
            digest, expires = entry
            if expires < time.monotonic():
                del self._entries[(user_id, password_hash)]
                return False
            self._entries.move_to_end((user_id, password_hash))
        return hmac.compare_digest(digest, self._digest(password))

    def remember(self, user_id: str, password_hash: str, password: str) -> None:
        """Record a successful verification."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[(user_id, password_hash)] = (
                self._digest(password),
                time.monotonic() + self.ttl,
            )
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def authenticate(request: Request) -> Scope:
    """Return the scope of the request's credentials.

    :raises AuthenticationFailed: no, malformed, wrong, expired or replayed credentials.
    """
    header = request.headers.get("Authorization")
    token = request.headers.get("X-Auth-Token")
    if "Signature-Input" in request.headers or "Signature" in request.headers:
        if header or token:
            # Two sets of credentials: which one the request means is ambiguous.
            raise AuthenticationFailed(SIGN_IN_FAILED)
        return _signed(request)
    scheme = header.split(" ", 1)[0] if header else ""
    if token:
        # A token of the Keystone subset (federation.keystone). Keystone clients
        # keep sending the identity provider's token they exchanged for it as
        # Bearer (IM's OCCI connector does, long after it has expired): the
        # X-Auth-Token is the credential, as for any OpenStack service. Beside
        # any other credentials, which one the request means is ambiguous.
        if header and scheme.lower() != BEARER.lower():
            raise AuthenticationFailed(SIGN_IN_FAILED)
        return TokenService(request.dbsession, request.registry.server_keys).resolve(token)[0]
    if not header:
        raise AuthenticationFailed("authentication required")
    if scheme.lower() == BASIC.lower():
        return _basic(request, header)
    if scheme.lower() == BEARER.lower():
        return authenticate_bearer(request, header)
    # The same answer as for a wrong password (see the package docstring).
    raise AuthenticationFailed(SIGN_IN_FAILED)


def _basic(request: Request, header: str) -> Scope:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True)
        username, sep, password = decoded.decode("utf-8").partition(":")
    except (IndexError, ValueError):
        # ValueError covers binascii.Error, UnicodeDecodeError and the non-ASCII
        # characters b64decode refuses outright (a latin-1 header value).
        raise AuthenticationFailed(SIGN_IN_FAILED) from None
    if not sep or not username:
        raise AuthenticationFailed(SIGN_IN_FAILED)
    # Throttled user names and sources are refused before any password is
    # hashed (concord.auth.throttle states the rules).
    throttle: SignInThrottle = request.registry.sign_in_throttle
    wait = throttle.user_wait(username)
    if wait > 0:
        raise _throttled(wait)
    credentials = CredentialService(request.dbsession, request.registry.password_hasher)
    cache: VerifiedPasswordCache = request.registry.password_cache
    record = credentials.sign_in_record(username)
    # The cache is keyed by the user and its current hash (a user without a
    # password signs in with API keys only, and falls through to the failure).
    key = (
        None
        if record is None or record.password_hash is None
        else (record.user_id, record.password_hash)
    )
    if record is not None and key is not None and cache.knows(*key, password):
        return record.usable_scope()
    source = source_of(request.remote_addr)
    wait = throttle.begin(source, username)
    if wait > 0:
        raise _throttled(wait)
    scope = credentials.check_password(record, password)  # a failure keeps its charge
    throttle.succeeded(source, username)
    if key is not None:
        cache.remember(*key, password)
    return scope


def _throttled(wait: float) -> HTTPTooManyRequests:
    # One message whatever was throttled (the source or the user name), so the
    # answer tells nothing about the user; rendered like any other error.
    seconds = retry_after(wait)
    return HTTPTooManyRequests(
        detail=f"too many failed sign-ins: retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def target_uri(request: Request) -> str:
    """The absolute URL of the request on its public base (``request.public_url``,
    never the Host header when ``public_url`` is set): what a signature covers.

    The path is the one received, as sent, where the WSGI server tells it
    (``REQUEST_URI``, as waitress and gunicorn do; less the ``SCRIPT_NAME``
    that the base already holds); otherwise the decoded path re-encoded the
    way WebOb encodes ``request.path``. The query string is the one received,
    in its order.
    """
    path = quote(request.path_info or "/", safe=PATH_SAFE)
    raw = request.environ.get("REQUEST_URI")
    if raw:
        raw = urlsplit(raw).path if "://" in raw else raw.split("?", 1)[0]
        script = quote(request.script_name, safe=PATH_SAFE)
        path = (raw[len(script) :] if script and raw.startswith(script) else raw) or "/"
    query = request.query_string
    return str(request.public_url) + path + (f"?{query}" if query else "")


@dataclass(frozen=True)
class _Signed:
    """The request as the signature library reads it (``signing.verify``)."""

    method: str
    url: str
    headers: Any


def _signed(request: Request) -> Scope:
    settings = request.registry.concord_settings
    now = utcnow()
    credentials = CredentialService(
        request.dbsession, request.registry.password_hasher, request.registry.server_keys
    )
    scopes: list[Scope] = []

    def secret_of(access_key: str) -> str:
        # Raises AuthenticationFailed for an unknown, revoked or expired key:
        # the library turns it into a refusal like any bad signature.
        secret, scope = credentials.key_for_signature(access_key, now)
        scopes.append(scope)
        return secret

    try:
        message = _Signed(request.method, target_uri(request), request.headers)
        verified = signing.verify(
            message,
            request.body,
            secret_of=secret_of,
            max_age=settings.signature_window,
            clock_skew=settings.signature_clock_skew,
        )
    except (signing.SignatureRefused, UnicodeError) as exc:
        log.info("signed request refused: %s", exc)
        raise AuthenticationFailed(SIGN_IN_FAILED) from None
    # The nonce is recorded in its own committed transaction: a request that
    # later fails (and rolls back) must still not be replayable. It is kept
    # until the signature could no longer pass the age check anyway.
    expires = verified.created + settings.signature_window + settings.signature_clock_skew
    with request.registry.database.transaction() as session:
        CredentialService(session).remember_nonce(
            verified.key_id, verified.nonce, dt.datetime.fromtimestamp(expires, dt.UTC)
        )
    return scopes[-1]
