"""Two transports: real HTTP(S) over :mod:`http.client`, and in-process WSGI.

The WSGI transport builds a PEP 3333 environ the way a WSGI server would
(repeated request headers joined with ", ", the path percent-decoded), so the
same cases run against ``concord serve`` and against the app inside pytest.
"""

from __future__ import annotations

import http.client
import io
import ssl
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from conformance.client import Request, RequestTimeout, Response, TransportError

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class HTTPTransport:
    """HTTP/1.1 over sockets, one kept-alive connection per origin.

    :param verify_tls: check server certificates (``--insecure`` turns it off).
    """

    def __init__(self, verify_tls: bool = True) -> None:
        self.verify_tls = verify_tls
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def _connect(self, scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        connection = self._connections.get(key)
        if connection is None:
            if scheme == "https":
                context = ssl.create_default_context()
                if not self.verify_tls:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                connection = http.client.HTTPSConnection(netloc, timeout=timeout, context=context)
            elif scheme == "http":
                connection = http.client.HTTPConnection(netloc, timeout=timeout)
            else:
                raise TransportError(f"unsupported URL scheme {scheme!r}")
            self._connections[key] = connection
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _drop(self, scheme: str, netloc: str) -> None:
        connection = self._connections.pop((scheme, netloc), None)
        if connection is not None:
            connection.close()

    def send(self, request: Request, timeout: float) -> Response:
        """Send ``request``; one retry on a kept-alive connection the server closed."""
        parts = urlsplit(request.url)
        netloc = parts.netloc.rpartition("@")[2]
        for attempt in (1, 2):
            connection = self._connect(parts.scheme, netloc, timeout)
            reused = connection.sock is not None
            try:
                connection.putrequest(
                    request.method, request.target, skip_host=True, skip_accept_encoding=True
                )
                for name, value in request.headers:
                    connection.putheader(name, value)
                if request.body or request.method in ("POST", "PUT", "PATCH"):
                    connection.putheader("Content-Length", str(len(request.body)))
                connection.endheaders(request.body or None)
                raw = connection.getresponse()
                body = raw.read()
                response = Response(raw.status, raw.reason, list(raw.getheaders()), body)
                if raw.will_close:
                    self._drop(parts.scheme, netloc)
                return response
            except TimeoutError as exc:
                self._drop(parts.scheme, netloc)
                raise RequestTimeout(f"no response within {timeout:g} s") from exc
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(parts.scheme, netloc)
                if attempt == 1 and reused:
                    continue
                raise TransportError(f"connection closed by the server: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(parts.scheme, netloc)
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        raise TransportError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close every kept-alive connection."""
        for key in list(self._connections):
            self._drop(*key)


class WSGITransport:
    """Calls a WSGI application in-process; nothing touches the network.

    The timeout cannot interrupt a Python call and is ignored: the in-process
    runs are the test suite's, where a hang is a test failure anyway.
    """

    def __init__(self, app: WSGIApp, remote_addr: str = "127.0.0.1") -> None:
        self.app = app
        self.remote_addr = remote_addr

    def environ(self, request: Request) -> dict[str, Any]:
        """The PEP 3333 environ a WSGI server would build for ``request``."""
        parts = urlsplit(request.url)
        host = request.header("Host") or parts.netloc
        name, _, port = host.partition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            # PEP 3333: PATH_INFO is the decoded path, as latin-1 code points.
            "PATH_INFO": unquote(parts.path or "/", encoding="latin-1"),
            "QUERY_STRING": parts.query,
            "SERVER_NAME": name or "localhost",
            "SERVER_PORT": port or ("443" if parts.scheme == "https" else "80"),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme or "http",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            environ["CONTENT_LENGTH"] = str(len(request.body))
        for key, value in request.headers:
            lowered = key.lower()
            if lowered == "content-type":
                environ["CONTENT_TYPE"] = value
            elif lowered == "content-length":
                continue
            else:
                wsgi_name = "HTTP_" + key.upper().replace("-", "_")
                previous = environ.get(wsgi_name)
                environ[wsgi_name] = value if previous is None else f"{previous}, {value}"
        return environ

    def send(self, request: Request, timeout: float) -> Response:
        """Run the app on ``request`` and collect its response."""
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            captured["status"] = status
            captured["headers"] = list(headers)
            return lambda data: None

        try:
            result = self.app(self.environ(request), start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            raise TransportError(f"the application raised {type(exc).__name__}: {exc}") from exc
        code, _, reason = captured["status"].partition(" ")
        return Response(int(code), reason, captured["headers"], body)
