"""Resolve the ``Authorization`` header of a request to a scope."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from pyramid.httpexceptions import HTTPTooManyRequests

from concord.auth import signing
from concord.auth.throttle import SignInThrottle, retry_after, source_of
from engine.db import utcnow
from engine.errors import AuthenticationFailed
from engine.scope import Scope
from engine.tenancy.credentials import SIGN_IN_FAILED, CredentialService

if TYPE_CHECKING:
    from pyramid.request import Request

BASIC = "Basic"


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
    if not header:
        raise AuthenticationFailed("authentication required")
    scheme = header.split(" ", 1)[0]
    if scheme.lower() == BASIC.lower():
        return _basic(request, header)
    if scheme.upper() == signing.SCHEME:
        return _signed(request, header)
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


def _signed(request: Request, header: str) -> Scope:
    try:
        parts = signing.parse_authorization(header)
    except ValueError as exc:
        raise AuthenticationFailed(f"malformed signed request: {exc}") from None
    window = request.registry.concord_settings.signature_window
    now = utcnow()
    if abs(now.timestamp() - parts.timestamp) > window:
        raise AuthenticationFailed("the signed request has expired (check the client's clock)")
    credentials = CredentialService(
        request.dbsession, request.registry.password_hasher, request.registry.server_keys
    )
    secret, scope = credentials.key_for_signature(parts.access_key, now)
    canonical = signing.canonical_request(
        request.method,
        # request.path is the path re-encoded; script_name + path_info would be
        # decoded already, and canonical_path would decode a literal '%' twice.
        request.path,
        request.query_string,
        request.host,
        request.headers.get("Content-Type", ""),
        request.body,
    )
    expected = signing.signature(secret, canonical, parts.timestamp, parts.nonce)
    if not signing.verify(expected, parts.signature):
        raise AuthenticationFailed(SIGN_IN_FAILED)
    # The nonce is recorded in its own committed transaction: a request that
    # later fails (and rolls back) must still not be replayable.
    with request.registry.database.transaction() as session:
        CredentialService(session).remember_nonce(
            parts.access_key,
            parts.nonce,
            dt.datetime.fromtimestamp(parts.timestamp + window, dt.UTC),
        )
    return scope
