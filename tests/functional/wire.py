"""The application behind a real waitress server, read byte for byte from a socket.

WebTest hands headers over as Python objects; what a client reads is the
server's bytes. :func:`served` runs the app the way ``concord serve`` does
(``concord.cli.serve._bind``) on a free port and :func:`raw` sends one
request and returns the raw header block.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from webtest import TestApp

from concord.cli.serve import _bind


@contextmanager
def served(app: TestApp) -> Iterator[int]:
    """The WSGI app of ``app`` served by waitress as ``concord serve`` binds it; its port."""
    router = app.app
    server = _bind(router, "127.0.0.1", 0, 2, router.registry.concord_settings)
    stop = threading.Event()

    def loop() -> None:
        # server.run() loops until its sockets are closed under it; polling
        # with a short timeout lets the thread end before they are.
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        stop.set()
        thread.join(timeout=10)
        server.close()


def raw(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> str:
    """Send one request; return the response's status line and header block as text."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def names(block: str) -> list[str]:
    """The header names of a raw header block, as spelled on the wire."""
    return [line.split(":", 1)[0] for line in block.split("\r\n")[1:] if ":" in line]
