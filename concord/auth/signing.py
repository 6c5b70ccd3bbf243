"""The canonical request and signature of API-key requests.

A client signs a request with its API secret and sends::

    Authorization: CONCORD-HMAC-SHA256 Credential=<access key>, Timestamp=<unix seconds>,
        Nonce=<1-128 printable characters>, Signature=<hex HMAC-SHA256>

The signature is ``HMAC-SHA256(secret, string_to_sign)`` where::

    string_to_sign  = "CONCORD-HMAC-SHA256" LF timestamp LF nonce LF hex(SHA256(canonical))
    canonical       = METHOD LF path LF query LF "host:" host LF
                      "content-type:" content-type LF hex(SHA256(body))

``path`` is the request path percent-decoded then re-encoded keeping only
RFC 3986 unreserved characters and ``/`` (so ``%7E`` and ``~`` agree); ``query`` is every query
parameter, percent-encoded (RFC 3986 unreserved characters kept), sorted by
name then value, joined with ``&``; ``host`` is the Host header in lower
case; ``content-type`` is the header's value or empty. Signing the method,
path, query, host, body and content type means a captured request cannot
be redirected or altered; the timestamp bounds when it can be used and the
nonce makes it usable once (docs/authentication.rst).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

SCHEME = "CONCORD-HMAC-SHA256"


@dataclass(frozen=True)
class SignedParts:
    """The fields of a ``CONCORD-HMAC-SHA256`` Authorization header."""

    access_key: str
    timestamp: int
    nonce: str
    signature: str


def canonical_query(query_string: str) -> str:
    """The canonical form of a raw query string (sorted, uniformly encoded)."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_path(path: str) -> str:
    """The canonical form of a request path (decoded, then uniformly encoded)."""
    return quote(unquote(path or "/"), safe="/-_.~")


def canonical_request(
    method: str, path: str, query_string: str, host: str, content_type: str, body: bytes
) -> str:
    """The canonical request text that is hashed into the string to sign."""
    return "\n".join(
        [
            method.upper(),
            canonical_path(path),
            canonical_query(query_string),
            f"host:{host.strip().lower()}",
            f"content-type:{content_type.strip()}",
            hashlib.sha256(body).hexdigest(),
        ]
    )


def string_to_sign(canonical: str, timestamp: int, nonce: str) -> str:
    """The exact text the HMAC is computed over."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join([SCHEME, str(timestamp), nonce, digest])


def signature(secret: str, canonical: str, timestamp: int, nonce: str) -> str:
    """The hex HMAC-SHA256 signature of a canonical request."""
    message = string_to_sign(canonical, timestamp, nonce).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def authorization_header(access_key: str, timestamp: int, nonce: str, sig: str) -> str:
    """The Authorization header value for a signed request."""
    return (
        f"{SCHEME} Credential={access_key}, Timestamp={timestamp}, Nonce={nonce}, Signature={sig}"
    )


def parse_authorization(value: str) -> SignedParts:
    """Parse the parameters of a ``CONCORD-HMAC-SHA256`` header.

    :raises ValueError: the header is not well formed.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.upper() != SCHEME:
        raise ValueError("not a CONCORD-HMAC-SHA256 header")
    params: dict[str, str] = {}
    for item in _split_params(rest):
        name, sep, val = item.partition("=")
        name = name.strip()
        if not sep or not name or name in params:
            raise ValueError("malformed or repeated parameter")
        params[name] = val.strip()
    missing = {"Credential", "Timestamp", "Nonce", "Signature"} - params.keys()
    if missing or len(params) != 4:
        raise ValueError("expected exactly Credential, Timestamp, Nonce and Signature")
    if not params["Timestamp"].isdigit() or len(params["Timestamp"]) > 12:
        raise ValueError("Timestamp must be unix seconds")
    sig = params["Signature"].lower()
    if len(sig) != 64 or any(c not in "0123456789abcdef" for c in sig):
        raise ValueError("Signature must be 64 hexadecimal digits")
    nonce = params["Nonce"]
    if not 1 <= len(nonce) <= 128 or not nonce.isprintable() or " " in nonce:
        raise ValueError("Nonce must be 1 to 128 printable characters without spaces")
    return SignedParts(params["Credential"], int(params["Timestamp"]), nonce, sig)


def _split_params(rest: str) -> Iterable[str]:
    return [part for part in (p.strip() for p in rest.split(",")) if part]


def verify(expected: str, given: str) -> bool:
    """Constant-time comparison of two hex signatures."""
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii", "replace"))
