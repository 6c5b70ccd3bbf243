"""The client side of Concord's API-key scheme, ``CONCORD-HMAC-SHA256``.

Written from the scheme's published description (the module docstring of the
server's ``concord/auth/signing.py``, repeated in ``docs/authentication.rst``),
not from its code, so that the harness and the server cannot share a bug::

    Authorization: CONCORD-HMAC-SHA256 Credential=<key>, Timestamp=<unix s>,
        Nonce=<token>, Signature=<hex HMAC-SHA256(secret, string_to_sign)>

    string_to_sign = "CONCORD-HMAC-SHA256" LF timestamp LF nonce LF hex(SHA256(canonical))
    canonical      = METHOD LF path LF query LF "host:" host LF
                     "content-type:" content-type LF hex(SHA256(body))

``path`` is percent-decoded then re-encoded keeping only RFC 3986 unreserved
characters and ``/``; ``query`` is every parameter percent-encoded the same way
(without ``/``), sorted by name then value and joined with ``&``; ``host`` is
the Host header in lower case.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, unquote, unquote_plus

SCHEME = "CONCORD-HMAC-SHA256"
_UNRESERVED = "-_.~"  # with ALPHA and DIGIT, which quote() never encodes


def _pairs(query: str) -> list[tuple[str, str]]:
    """Form-decode a raw query string into (name, value) pairs, blanks kept."""
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def canonical_query(query: str) -> str:
    """The query as signed: re-encoded pairs, sorted, joined with ``&``."""
    encoded = sorted(
        (quote(name, safe=_UNRESERVED), quote(value, safe=_UNRESERVED))
        for name, value in _pairs(query)
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_path(path: str) -> str:
    """The path as signed: decoded, then encoded keeping unreserved characters and ``/``."""
    return quote(unquote(path or "/"), safe="/" + _UNRESERVED)


def canonical(method: str, path: str, query: str, host: str, content_type: str, body: bytes) -> str:
    """The canonical request text."""
    return "\n".join(
        (
            method.upper(),
            canonical_path(path),
            canonical_query(query),
            "host:" + host.strip().lower(),
            "content-type:" + content_type.strip(),
            hashlib.sha256(body).hexdigest(),
        )
    )


def authorization(
    *,
    access_key: str,
    secret: str,
    method: str,
    path: str,
    query: str,
    host: str,
    content_type: str,
    body: bytes,
    timestamp: int,
    nonce: str,
) -> str:
    """The ``Authorization`` header value of one signed request."""
    text = canonical(method, path, query, host, content_type, body)
    to_sign = "\n".join(
        (SCHEME, str(timestamp), nonce, hashlib.sha256(text.encode("utf-8")).hexdigest())
    )
    digest = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256)
    return (
        f"{SCHEME} Credential={access_key}, Timestamp={timestamp}, "
        f"Nonce={nonce}, Signature={digest.hexdigest()}"
    )
