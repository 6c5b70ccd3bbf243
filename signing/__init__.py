"""Concord's API-key request signatures: one profile of RFC 9421 with RFC 9530.

An API-key request carries an HTTP Message Signature (RFC 9421) computed with
HMAC-SHA256 under the key's secret, and, when it has a body, a
``Content-Digest`` (RFC 9530) of that body. Both sides go through the
maintained ``http-message-signatures`` library; this module only fixes the
*profile*, what a Concord signature must cover, so that the server (which
verifies), the conformance harness and ``concord apikey sign`` (which sign)
share one code path. It imports neither the server nor the harness, which
may each import it (the import rule of DESIGN.md).

The profile (docs/authentication.rst, "The signing recipe"):

* covered components, in this order: ``"@method"``, ``"@target-uri"`` (the
  whole URL, query in the order sent), then each of ``content-type``,
  ``content-digest``, ``category``, ``link``, ``x-occi-attribute`` and
  ``x-occi-location`` that the request has (OCCI's header rendering carries
  a request's meaning in the last four); the verifier requires every one of
  them that is present, so none can be added, removed or altered in transit;
* parameters ``created`` (unix seconds), ``keyid`` (the access key),
  ``nonce`` (1 to 128 printable characters) and ``alg="hmac-sha256"``;
* the signature's label is free (one signature per request); ``concord``
  when Concord's own tools sign.

The server decides the target URI from its public base URL, not from the
``Host`` header, and bounds ``created`` by a clock skew and a maximum age;
the nonce is spent once within that window (``concord.auth.resolver``).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

#: The signature algorithm (RFC 9421 §3.3.3).
ALGORITHM = algorithms.HMAC_SHA256
#: The label Concord's own tools give their signature.
LABEL = "concord"
#: The header fields covered whenever the request has them, in the covered order.
SIGNED_FIELDS = (
    "content-type",
    "content-digest",
    "category",
    "link",
    "x-occi-attribute",
    "x-occi-location",
)
#: The derived components every signature covers.
ALWAYS = ("@method", "@target-uri")
#: The longest nonce accepted (the replay table's column).
MAX_NONCE = 128


class SignatureRefused(Exception):
    """A request's signature is missing, malformed, stale, or does not verify."""


@dataclass
class Message:
    """A request as the library reads it: method, absolute URL and header fields.

    :param headers: one entry per field name; repeated field lines are joined
        with ``", "`` in the order sent, as an HTTP server joins them.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def joined(lines: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header lines (repeats allowed) as one value per name, joined in order."""
    found: dict[str, tuple[str, str]] = {}
    for name, value in lines:
        key = name.lower()
        if key in found:
            found[key] = (found[key][0], f"{found[key][1]}, {value}")
        else:
            found[key] = (name, value)
    return dict(found.values())


def covered(names: Iterable[str]) -> tuple[str, ...]:
    """The components a request with these header field names must cover."""
    present = {name.lower() for name in names}
    return ALWAYS + tuple(name for name in SIGNED_FIELDS if name in present)


class _Secret(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, secret: bytes) -> None:
        self.key_id, self.secret = key_id, secret

    def resolve_private_key(self, key_id: str) -> bytes:
        return self.secret

    def resolve_public_key(self, key_id: str) -> bytes | None:  # pragma: no cover - signer only
        return self.secret if key_id == self.key_id else None


def sign(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    key_id: str,
    secret: str,
    created: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The fields to add to a request to sign it: ``Signature-Input``,
    ``Signature`` and, for a non-empty body, ``Content-Digest``.

    :param url: the absolute URL the request is sent to, percent-encoded as sent.
    :param headers: the request's other header lines (repeats allowed).
    :param created: unix seconds (now by default); :param nonce: random by default.
    :raises SignatureRefused: the request cannot be signed (a URL or a field
        value the profile cannot carry, such as a non-ASCII character).
    """
    fields = {
        name: value
        for name, value in joined(headers).items()
        if name.lower() not in ("signature", "signature-input", "content-digest")
    }
    message = Message(method.upper(), url, dict(fields))
    signer = HTTPMessageSigner(
        signature_algorithm=ALGORITHM, key_resolver=_Secret(key_id, secret.encode("utf-8"))
    )
    names = [*fields, *(("content-digest",) if body else ())]
    try:
        signer.sign(
            message,
            key_id=key_id,
            created=dt.datetime.fromtimestamp(
                int(time.time()) if created is None else created, dt.UTC
            ),
            nonce=secrets.token_urlsafe(16) if nonce is None else nonce,
            label=LABEL,
            covered_component_ids=covered(names),
            body=body or None,
        )
    except HTTPMessageSignaturesException as exc:
        raise SignatureRefused(str(exc)) from None
    return {name: value for name, value in message.headers.items() if name not in fields}


@dataclass(frozen=True)
class Verified:
    """A signature that verified: who signed it, when, and with which nonce."""

    key_id: str
    created: int
    nonce: str


class _Lookup(HTTPSignatureKeyResolver):
    def __init__(self, lookup: Callable[[str], str | None]) -> None:
        self.lookup = lookup

    def resolve_public_key(self, key_id: str) -> bytes | None:
        secret = self.lookup(key_id)
        return None if secret is None else secret.encode("utf-8")

    def resolve_private_key(self, key_id: str) -> bytes:  # pragma: no cover - verifier only
        raise KeyError(key_id)


def verify(
    message: Any,
    body: bytes,
    *,
    secret_of: Callable[[str], str | None],
    max_age: int,
    clock_skew: int,
) -> Verified:
    """Verify a request's signature under Concord's profile.

    :param message: the request, with ``method``, ``url`` (its absolute target
        URI as the server decides it) and ``headers`` (``items()`` of the
        fields received).
    :param secret_of: the secret of an access key, or None (unknown, revoked);
        it may raise to refuse. It is called only once the signature's form
        and ``created`` have passed, and before the HMAC is computed.
    :param max_age: seconds a signature stays valid after its ``created``.
    :param clock_skew: seconds ``created`` may lie ahead of this clock (and
        the age limit is extended by as much).
    :raises SignatureRefused: anything short of a valid signature covering
        the whole profile, with a reason for the log (not for the client).
    """
    verifier = HTTPMessageVerifier(signature_algorithm=ALGORITHM, key_resolver=_Lookup(secret_of))
    verifier.max_clock_skew = dt.timedelta(seconds=clock_skew)
    names = [name for name, _ in message.headers.items()]
    if body and "content-digest" not in {name.lower() for name in names}:
        raise SignatureRefused("a request with a body needs a signed Content-Digest")
    try:
        results = verifier.verify(
            message,
            max_age=dt.timedelta(seconds=max_age),
            require_components=covered(names),
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        raise SignatureRefused(str(exc)) from None
    if len(results) != 1:  # the library refuses several unless asked for a tag
        raise SignatureRefused("exactly one signature is expected")
    params = results[0].parameters
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or not 1 <= len(nonce) <= MAX_NONCE:
        raise SignatureRefused(f"a signature needs a nonce of 1 to {MAX_NONCE} characters")
    if params.get("alg", ALGORITHM.algorithm_id) != ALGORITHM.algorithm_id:
        raise SignatureRefused("the algorithm must be hmac-sha256")
    created, key_id = params["created"], params["keyid"]
    if not isinstance(created, int) or not isinstance(key_id, str):  # the library checked
        raise SignatureRefused("created must be an integer and keyid a string")
    return Verified(key_id, created, nonce)
