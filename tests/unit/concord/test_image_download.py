"""The verifying downloader against a real HTTP server on loopback.

The server (http.server in a thread) serves each path as a test tells it:
the right bytes, other bytes, more bytes than listed (announced or not), a
404, a connection closed midway, a stall, a redirect. Each refusal must
leave no file behind; the token goes to the list's origin only.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concord import image_fetch
from concord.image_fetch import download, same_origin
from engine.federation.image_fetch import ImageRefused

BODY = bytes(range(256)) * 40
SHA = hashlib.sha512(BODY).hexdigest()


@dataclass
class Route:
    """What the server does for one path."""

    body: bytes = BODY
    status: int = 200
    length: int | None = None  # the Content-Length sent (None: the body's; -1: none)
    headers: dict[str, str] = field(default_factory=dict)
    stall: threading.Event | None = None  # wait for it after the headers


@dataclass
class Server:
    base: str
    routes: dict[str, Route]
    seen: list[tuple[str, str | None]]  # (path, Authorization) of each request


@pytest.fixture
def server() -> Iterator[Server]:
    routes: dict[str, Route] = {}
    seen: list[tuple[str, str | None]] = []
    stalls: list[threading.Event] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Authorization")))
            route = routes.get(self.path, Route(b"no such image", 404))
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            length = len(route.body) if route.length is None else route.length
            if length >= 0:
                self.send_header("Content-Length", str(length))
            else:
                self.close_connection = True  # the body ends when the connection does
            self.end_headers()
            if route.stall is not None:
                stalls.append(route.stall)
                route.stall.wait()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Server(f"http://127.0.0.1:{httpd.server_port}", routes, seen)
    for stall in stalls:
        stall.set()
    httpd.shutdown()
    httpd.server_close()


def _get(server: Server, tmp_path: Path, route: Route, **options: Any) -> Path:
    server.routes["/image.img"] = route
    target = tmp_path / "images" / "image"
    download(
        f"{server.base}/image.img",
        target,
        options.pop("size", len(BODY)),
        options.pop("sha512", SHA),
        options.pop("timeout", 10.0),
        **options,
    )
    return target


def _nothing_left(tmp_path: Path) -> bool:
    images = tmp_path / "images"
    return not images.exists() or not any(images.iterdir())


def test_the_listed_bytes_are_stored(server: Server, tmp_path: Path) -> None:
    target = _get(server, tmp_path, Route())
    assert hashlib.sha512(target.read_bytes()).hexdigest() == SHA


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(body=BODY[:-1] + b"\x00"), "its sha512 is not the listed one"),
        (Route(body=BODY + b"more"), f"announced {len(BODY) + 4} bytes, more than the listed"),
        (Route(body=BODY + b"more", length=-1), f"more than the listed {len(BODY)} bytes"),
        (Route(body=BODY[:-10], length=-1), f"sent {len(BODY) - 10} bytes, not the listed"),
        (Route(status=404, body=b"gone"), "answered 404 Not Found"),
        (Route(body=BODY[:1000], length=len(BODY)), "closed after 1000 bytes, before"),
        (
            Route(status=302, body=b"", headers={"Location": "ftp://127.0.0.1/image.img"}),
            "not an http\\(s\\) URL",
        ),
    ],
    ids=["checksum", "announced-longer", "longer", "shorter", "404", "closed-early", "ftp"],
)
def test_other_bytes_and_failed_reads_are_refused_and_leave_nothing(
    server: Server, tmp_path: Path, route: Route, reason: str
) -> None:
    with pytest.raises(ImageRefused, match=reason):
        _get(server, tmp_path, route)
    assert _nothing_left(tmp_path)


def test_a_server_that_stops_sending_is_refused_after_the_timeout(
    server: Server, tmp_path: Path
) -> None:
    with pytest.raises(ImageRefused, match="timed out"):
        _get(server, tmp_path, Route(stall=threading.Event()), timeout=0.2)
    assert _nothing_left(tmp_path)


def test_a_file_fetched_before_stays_when_a_new_fetch_fails(server: Server, tmp_path: Path) -> None:
    target = _get(server, tmp_path, Route())
    with pytest.raises(ImageRefused):
        _get(server, tmp_path, Route(body=BODY[:100], length=len(BODY)))
    assert [p.name for p in target.parent.iterdir()] == ["image"]
    assert target.read_bytes() == BODY


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20
)
@given(chunk=st.integers(min_value=1, max_value=3 * len(BODY)))
def test_any_read_size_gives_the_same_verified_file(
    server: Server, tmp_path: Path, chunk: int, monkeypatch_chunk: Callable[[int], None]
) -> None:
    monkeypatch_chunk(chunk)
    target = _get(server, tmp_path, Route())
    assert target.read_bytes() == BODY


@pytest.fixture
def monkeypatch_chunk(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    return lambda size: monkeypatch.setattr(image_fetch, "CHUNK_BYTES", size)


def test_the_token_goes_to_the_lists_origin_only_and_never_across_a_redirect(
    server: Server, tmp_path: Path
) -> None:
    secret = "Basic " + base64.b64encode(b"t0k:x-oauth-basic").decode()
    _get(server, tmp_path, Route(), authorization=secret)
    server.routes["/moved.img"] = Route(status=301, body=b"", headers={"Location": "/image.img"})
    download(f"{server.base}/moved.img", tmp_path / "moved", len(BODY), SHA, 10.0, secret)
    assert server.seen == [("/image.img", secret), ("/moved.img", secret), ("/image.img", None)]


def test_origins_compare_scheme_host_and_port() -> None:
    assert same_origin("https://a.example.org/list", "https://a.example.org:443/images/x.img")
    assert same_origin("http://a.example.org/list", "http://a.example.org:80/x")
    assert not same_origin("https://a.example.org/list", "http://a.example.org/x")
    assert not same_origin("https://a.example.org/list", "https://b.example.org/x")
    assert not same_origin("https://a.example.org/list", "https://a.example.org:8443/x")
    assert not same_origin("https://a.example.org/list", "https://[bad/x")


def test_only_http_urls_are_read(tmp_path: Path) -> None:
    with pytest.raises(ImageRefused, match="not an http"):
        download("file:///etc/passwd", tmp_path / "x", 10, SHA, 1.0)
    assert not (tmp_path / "x").exists()
