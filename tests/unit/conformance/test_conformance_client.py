"""The harness's HTTP layer: transports, timeouts, Basic and HMAC authentication."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webtest.http import StopableWSGIServer

import signing
from conformance.client import BasicAuth, Client, HmacAuth, Recorder, Request, RequestTimeout
from conformance.transports import HTTPTransport, TransportError, WSGITransport


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with what it received, and a repeated header."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    lines = [
        f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}?{environ['QUERY_STRING']}",
        f"host={environ.get('HTTP_HOST')}",
        f"x={environ.get('HTTP_X_THING')}",
        f"auth={environ.get('HTTP_AUTHORIZATION')}",
        f"body={body.decode()}",
    ]
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("X-OCCI-Location", "/a"),
            ("X-OCCI-Location", "/b"),
        ],
    )
    return ["\n".join(lines).encode()]


@pytest.fixture
def http_server() -> Iterator[str]:
    server = StopableWSGIServer.create(echo)
    try:
        yield server.application_url
    finally:
        server.shutdown()


@pytest.mark.parametrize("transport", ["wsgi", "http"])
def test_both_transports_carry_the_same_request(transport: str, http_server: str) -> None:
    url = "http://example.test/" if transport == "wsgi" else http_server
    sender = WSGITransport(echo) if transport == "wsgi" else HTTPTransport()
    client = Client(url, sender, auth=BasicAuth("u", "p"))
    exchange = client.request(
        "POST", "x/y%20z?a=1&b=2", body="hello", headers=[("X-Thing", "1"), ("X-Thing", "2")]
    )
    text = exchange.response.text
    assert "POST /x/y z?a=1&b=2" in text and "body=hello" in text
    assert "x=1, 2" in text and "auth=Basic dTpw" in text
    assert exchange.response.header_values("X-OCCI-Location") == ["/a", "/b"]
    assert exchange.response.media_type == "text/plain"
    assert (exchange.request.header("User-Agent") or "").endswith("OCCI/1.2")
    if isinstance(sender, HTTPTransport):
        again = client.request("GET", "again")  # over the kept-alive connection
        assert again.status == 200
        sender.close()


def test_a_server_that_never_answers_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        client = Client(f"http://127.0.0.1:{port}/", HTTPTransport(), timeout=0.3)
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match="no response within"):
            client.request("GET", "-/")
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_a_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError):
        Client(f"http://127.0.0.1:{port}/", HTTPTransport(), timeout=2).request("GET", "-/")


def test_an_application_that_raises_is_a_transport_error() -> None:
    def boom(environ: Any, start_response: Any) -> Any:
        raise RuntimeError("kaput")

    with pytest.raises(TransportError, match="kaput"):
        Client("http://x/", WSGITransport(boom)).request("GET", "")


def test_the_recorder_keeps_the_run_and_the_case() -> None:
    recorder = Recorder()
    client = Client("http://x/", WSGITransport(echo), recorder=recorder)
    recorder.start_case("occi")
    client.request("GET", "a")
    recorder.start_case("cimi")
    client.request("GET", "b")
    assert [e.request.url for e in recorder.current] == ["http://x/b"]
    assert [e.request.url for e in recorder.of("occi")] == ["http://x/a"]


def test_api_key_requests_carry_an_rfc_9421_signature() -> None:
    auth = HmacAuth("AK", "secret", clock=lambda: 1700000000, nonce=lambda: "n0")
    request = auth.apply(
        Request(
            "PUT",
            "http://Host:8787/a~b/?z=1&a=2&a=1",
            [("Host", "Host:8787"), ("Content-Type", "text/plain"), ("Category", "c")],
            b"x",
        )
    )
    assert request.header("Authorization") is None
    assert request.header("Signature-Input") == (
        'concord=("@method" "@target-uri" "content-type" "content-digest" "category")'
        ';created=1700000000;keyid="AK";alg="hmac-sha256";nonce="n0"'
    )
    assert request.header("Content-Digest") == (
        "sha-256=:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=:"
    )


paths = st.text(alphabet="abc/~-_.", max_size=12).map(lambda p: "/" + p)
queries = st.lists(
    st.tuples(
        st.text(alphabet="ab$=+", max_size=4),
        st.lists(st.sampled_from(["x", "y", "$", "+", "%20"]), max_size=3).map("".join),
    ),
    max_size=3,
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["GET", "POST"]), paths, queries, st.binary(max_size=20))
def test_the_client_signs_what_the_verifier_accepts(
    method: str, path: str, query: str, body: bytes
) -> None:
    url = "http://Host:1" + path + (f"?{query}" if query else "")
    request = HmacAuth("k", "s").apply(
        Request(method, url, [("Content-Type", "application/json")], body)
    )
    message = signing.Message(method, url, signing.joined(request.headers))
    verified = signing.verify(message, body, secret_of=lambda key: "s", max_age=60, clock_skew=5)
    assert verified.key_id == "k"
