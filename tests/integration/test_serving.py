"""``concord serve`` (waitress) under connection abuse and oversized requests.

A real server process with small limits: connections that never finish their
headers are closed after ``channel_timeout`` (they used to hold the server
for two minutes each, and a hundred of them starved it); requests over
Concord's limits are refused by Concord in the client's media type, and only
requests far beyond them (twice the limit) by waitress itself, in plain text,
as docs/security.rst says.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
from integration.processes import ProcessGroup, basic_auth, http, wait_until

pytestmark = pytest.mark.integration

LIMITS = {
    "max_body_bytes": "1000",
    "max_header_bytes": "2048",
    "channel_timeout": "2",
    "connection_limit": "10",
}
AUTH = basic_auth("demo", "demo")["Authorization"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    directory = tmp_path_factory.mktemp("serving")
    group = ProcessGroup(directory, f"sqlite:///{directory / 'demo.sqlite'}")
    try:
        process = group.start_demo("demo", **LIMITS)
        with group.explain_failure():
            group.wait_healthy(process)
        yield "127.0.0.1", int(process.url.rsplit(":", 1)[1])
    finally:
        assert group.stop_all() == []


def exchange(address: tuple[str, int], data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; (status, headers, body).

    The server may answer and close before it has read everything (a body it
    refuses from its Content-Length): a reset while sending is not a failure.
    """
    with socket.create_connection(address, timeout=20) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def request(path: str, body: bytes = b"", **fields: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: {AUTH}",
        "Accept: application/json",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name.replace('_', '-')}: {value}" for name, value in fields.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_body_over_the_limit_is_refused_in_the_clients_media_type(server) -> None:
    status, headers, body = exchange(server, request("/cimi/machines", b"x" * 1500))
    assert status == 413
    assert headers["content-type"].startswith("application/json"), headers
    assert b"1000" in body


def test_a_body_far_over_the_limit_is_refused_by_waitress(server) -> None:
    # The backstop: twice the limit; waitress answers without reading it.
    status, headers, _ = exchange(server, request("/cimi/machines", b"x" * 2500))
    assert status == 413
    assert headers["content-type"].startswith("text/plain")


def test_headers_over_the_limit_are_refused_in_the_clients_media_type(server) -> None:
    status, headers, body = exchange(server, request("/cimi/machines", X_Padding="p" * 3000))
    assert status == 431
    assert headers["content-type"].startswith("application/json"), headers
    assert b"2048" in body


def test_a_bad_request_line_is_refused_by_waitress(server) -> None:
    status, headers, _ = exchange(server, b"NOT A REQUEST LINE AT ALL\r\n\r\n")
    assert status == 400
    assert headers["content-type"].startswith("text/plain")


def test_silent_connections_are_closed_and_do_not_starve_the_server(server) -> None:
    host, port = server
    # More half-sent requests than connection_limit (10): waitress stops
    # accepting at the limit, so a client would wait until some are closed.
    stalled = []
    for _ in range(15):
        sock = socket.create_connection(server, timeout=30)
        sock.sendall(b"GET /-/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        stalled.append(sock)
    try:
        # channel_timeout is 2 s: the server closes them and serves others.
        # (With waitress's default of 120 s this waits past the deadline.)
        served = http("GET", f"http://{host}:{port}/healthz", timeout=30)
        assert served.status == 200
        deadline = time.monotonic() + 30
        for sock in stalled:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            assert sock.recv(1024) == b"", "the server closed the silent connection"
    finally:
        for sock in stalled:
            sock.close()
    wait_until(
        lambda: http("GET", f"http://{host}:{port}/healthz").status == 200,
        10,
        "the server to answer",
    )
