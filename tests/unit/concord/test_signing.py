"""The canonical request and HMAC signature of API-key requests (concord.auth.signing).

The expected values are written out by hand from the module's documented
format and computed here with :mod:`hmac` and :mod:`hashlib`, so that a change
of the wire format is caught even if signer and verifier change together.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from concord.auth import signing

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HEXDIGITS = "0123456789abcdef"


# -- canonical query ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=1&a=2"),  # same name: sorted by value
        ("a=1&B=2&A=3", "A=3&B=2&a=1"),  # byte order, upper case first
        ("x=a+b", "x=a%20b"),  # form encoding of a space
        ("x=a%20b", "x=a%20b"),
        ("k=%7e&l=~", "k=~&l=~"),  # unreserved characters are never encoded
        ("k=%2d%2E%5f", "k=-._"),
        ("p=/&q=%2F", "p=%2F&q=%2F"),  # reserved characters always are
        ("flag", "flag="),  # a blank value is kept
        ("n=%c3%a9", "n=%C3%A9"),  # hex digits in upper case
        ("n=\u00e9", "n=%C3%A9"),
        ("a=1&&b=2", "a=1&b=2"),
    ],
)
def test_canonical_query(raw: str, canonical: str) -> None:
    assert signing.canonical_query(raw) == canonical


def test_canonical_query_sorts_by_encoded_name_then_value() -> None:
    assert signing.canonical_query("b=1&a=2&a=10&a%20b=0") == "a=10&a=2&a%20b=0&b=1"


# -- canonical path ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/-/", "/-/"),
        ("", "/"),
        ("/a%7Eb", "/a~b"),
        ("/a%7eb", "/a~b"),
        ("/a~b", "/a~b"),
        ("/%2D/", "/-/"),
        ("/a b", "/a%20b"),
        ("/a%20b", "/a%20b"),
        ("/caf\u00e9", "/caf%C3%A9"),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/x%3Ay", "/x%3Ay"),  # ':' is reserved: encoded
        ("/x:y", "/x%3Ay"),
        ("/compute/", "/compute/"),
    ],
)
def test_canonical_path(raw: str, canonical: str) -> None:
    assert signing.canonical_path(raw) == canonical


_PATH_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~/")


@given(_PATH_TEXT)
@example("/~user/a b/%")
def test_canonical_path_does_not_depend_on_how_the_client_encoded_it(decoded: str) -> None:
    path = "/" + decoded
    minimal = quote(path, safe="/~")  # what most clients send
    maximal = quote(path, safe="/")  # '~' as %7E, as older clients do
    canonical = signing.canonical_path(minimal)
    assert signing.canonical_path(maximal) == canonical
    assert signing.canonical_path(canonical) == canonical  # idempotent
    # Only unreserved characters, '/' and upper-case percent escapes remain.
    rest = canonical
    while "%" in rest:
        before, _, after = rest.partition("%")
        assert set(before) <= _UNRESERVED
        assert len(after) >= 2 and after[:2] == after[:2].upper()
        assert all(c in "0123456789ABCDEF" for c in after[:2])
        rest = after[2:]
    assert set(rest) <= _UNRESERVED


# -- canonical request and signature: known answers ----------------------------------


def test_canonical_request_known_answer() -> None:
    body = b'{"a": 1}'
    canonical = signing.canonical_request(
        "post", "/compute/", "b=2&a=x+y", " LocalHost:8787 ", " application/json ", body
    )
    assert canonical == (
        "POST\n"
        "/compute/\n"
        "a=x%20y&b=2\n"
        "host:localhost:8787\n"
        "content-type:application/json\n" + hashlib.sha256(body).hexdigest()
    )


def test_canonical_request_of_an_empty_get() -> None:
    assert signing.canonical_request("GET", "/-/", "", "h", "", b"") == (
        f"GET\n/-/\n\nhost:h\ncontent-type:\n{EMPTY_SHA256}"
    )


def test_string_to_sign_known_answer() -> None:
    canonical = "GET\n/-/\n\nhost:h\ncontent-type:\n" + EMPTY_SHA256
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    assert signing.string_to_sign(canonical, 1700000000, "n-1") == (
        f"CONCORD-HMAC-SHA256\n1700000000\nn-1\n{digest}"
    )


def test_signature_known_answer() -> None:
    secret = "s3cr3t-\u00e9"
    timestamp = 1700000000
    nonce = "abc123"
    canonical = "GET\n/-/\na=1&b=2\nhost:localhost:80\ncontent-type:\n" + EMPTY_SHA256
    to_sign = (
        "CONCORD-HMAC-SHA256\n1700000000\nabc123\n"
        + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    )
    expected = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), "sha256").hexdigest()

    built = signing.canonical_request("GET", "/-/", "b=2&a=1", "localhost:80", "", b"")
    assert built == canonical
    assert signing.signature(secret, built, timestamp, nonce) == expected
    # Any change of secret, timestamp or nonce changes the signature.
    assert signing.signature(secret + "x", built, timestamp, nonce) != expected
    assert signing.signature(secret, built, timestamp + 1, nonce) != expected
    assert signing.signature(secret, built, timestamp, nonce + "x") != expected


def test_verify_compares_signatures() -> None:
    sig = "a" * 64
    assert signing.verify(sig, sig)
    assert not signing.verify(sig, "b" * 64)
    assert not signing.verify(sig, sig[:-1])
    assert not signing.verify(sig, "\u00e9" * 64)  # non-ASCII never matches, never raises


# -- the Authorization header ---------------------------------------------------------

GOOD_SIG = "0123456789abcdef" * 4


def test_authorization_header_round_trips() -> None:
    header = signing.authorization_header("CKABC", 1700000000, "n0nce", GOOD_SIG)
    assert header == (
        f"CONCORD-HMAC-SHA256 Credential=CKABC, Timestamp=1700000000, Nonce=n0nce, "
        f"Signature={GOOD_SIG}"
    )
    assert signing.parse_authorization(header) == signing.SignedParts(
        "CKABC", 1700000000, "n0nce", GOOD_SIG
    )


def test_parse_accepts_any_parameter_order_and_upper_case_hex() -> None:
    parts = signing.parse_authorization(
        f"concord-hmac-sha256 Signature={GOOD_SIG.upper()},Nonce=n,Timestamp=5 ,Credential=K"
    )
    assert parts == signing.SignedParts("K", 5, "n", GOOD_SIG)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "CONCORD-HMAC-SHA256",
        "Basic Zm9vOmJhcg==",
        f"HMAC Credential=K, Timestamp=1, Nonce=n, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Timestamp=1, Nonce=n, Signature={GOOD_SIG}",
        "CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=n",
        f"CONCORD-HMAC-SHA256 Credential=K, Credential=L, Timestamp=1, Nonce=n, "
        f"Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=n, Signature={GOOD_SIG}, X=1",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=-1, Nonce=n, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1.5, Nonce=n, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=, Nonce=n, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1234567890123, Nonce=n, Signature={GOOD_SIG}",
        "CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=n, Signature=abc",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=n, Signature={'g' * 64}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=n, Signature={GOOD_SIG}0",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=a b, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce=a\tb, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp=1, Nonce={'n' * 129}, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 Credential=K, Timestamp, Nonce=n, Signature={GOOD_SIG}",
        f"CONCORD-HMAC-SHA256 =K, Timestamp=1, Nonce=n, Signature={GOOD_SIG}",
    ],
)
def test_parse_rejects_malformed_headers(header: str) -> None:
    with pytest.raises(ValueError):
        signing.parse_authorization(header)


def test_parse_keeps_nonce_boundaries() -> None:
    longest = "n" * 128
    parts = signing.parse_authorization(signing.authorization_header("K", 1, longest, GOOD_SIG))
    assert parts.nonce == longest


_PARAM_NAMES = st.sampled_from(["Credential", "Timestamp", "Nonce", "Signature", "X", ""])
_PARAM = st.tuples(_PARAM_NAMES, st.sampled_from(["=", "", "=="]), st.text(max_size=70)).map(
    "".join
)
_NEAR_HEADERS = st.builds(
    lambda scheme, params, sep: f"{scheme} {sep.join(params)}",
    st.sampled_from(["CONCORD-HMAC-SHA256", "concord-hmac-sha256", "Basic", ""]),
    st.lists(_PARAM, max_size=6),
    st.sampled_from([", ", ",", " ,", ";"]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), _NEAR_HEADERS))
def test_parse_raises_only_value_error(header: str) -> None:
    try:
        parts = signing.parse_authorization(header)
    except ValueError:
        return
    # Whatever is accepted is well formed.
    assert parts.timestamp >= 0
    assert len(parts.signature) == 64 and set(parts.signature) <= set(HEXDIGITS)
    assert 1 <= len(parts.nonce) <= 128 and " " not in parts.nonce


@given(
    access_key=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=32),
    timestamp=st.integers(min_value=0, max_value=10**12 - 1),
    nonce=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=","),
        min_size=1,
        max_size=128,
    ),
    sig=st.text(alphabet=HEXDIGITS, min_size=64, max_size=64),
)
def test_authorization_header_parses_back(
    access_key: str, timestamp: int, nonce: str, sig: str
) -> None:
    header = signing.authorization_header(access_key, timestamp, nonce, sig)
    assert signing.parse_authorization(header) == signing.SignedParts(
        access_key, timestamp, nonce, sig
    )
