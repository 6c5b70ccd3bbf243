"""Requests, responses and the client the cases use: plain data over a pluggable transport.

A :class:`Client` resolves references against the endpoint's base URL, adds
authentication (:class:`BasicAuth` or :class:`HmacAuth`), sends through a
:class:`Transport` (real HTTP or in-process WSGI, :mod:`conformance.transports`)
with a timeout, and hands every :class:`Exchange` to a :class:`Recorder`, which
keeps the evidence a failed case reports.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import signing
from conformance import __version__

#: Sent on every request: GFD.223 §5.3 asks clients to announce ``OCCI/X.Y``.
USER_AGENT = f"concord-conformance/{__version__} OCCI/1.2"

Headers = list[tuple[str, str]]


class TransportError(Exception):
    """No HTTP response: connection refused or reset, TLS failure, an app that raised."""


class RequestTimeout(TransportError):
    """The server did not answer within the timeout."""


@dataclass(frozen=True)
class Request:
    """An HTTP request as sent: absolute URL, ordered headers (repeats kept), body bytes."""

    method: str
    url: str
    headers: Headers = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The values of header ``name`` joined with ", " (None when absent)."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    @property
    def target(self) -> str:
        """Path and query of the URL (what goes on the request line)."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Response:
    """An HTTP response: status, reason, ordered headers (repeats kept), body bytes."""

    status: int
    reason: str = ""
    headers: Headers = field(default_factory=list)
    body: bytes = b""

    def header_values(self, name: str) -> list[str]:
        """Every occurrence of header ``name``, in order (case-insensitive name)."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        """The values of header ``name`` joined with ", " as RFC 7230 allows (None if absent)."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    @property
    def content_type(self) -> str | None:
        """The raw Content-Type header, or None."""
        return self.header("Content-Type")

    def shown(self, name: str) -> str:
        """A header as a message shows it: its value quoted, or ``missing`` when absent."""
        value = self.header(name)
        return "missing" if value is None else repr(value)

    @property
    def media_type(self) -> str | None:
        """The media type of Content-Type, lower case, without parameters."""
        raw = self.content_type
        if raw is None:
            return None
        return raw.split(";", 1)[0].strip().lower() or None

    @property
    def charset(self) -> str:
        """The charset parameter of Content-Type (utf-8 when absent)."""
        for param in (self.content_type or "").split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with its charset (undecodable bytes replaced)."""
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON.

        :raises ValueError: the body is not JSON.
        """
        return json.loads(self.text)


@dataclass(frozen=True)
class Exchange:
    """One request and the response it got: the unit of evidence."""

    request: Request
    response: Response
    elapsed: float = 0.0
    #: Who sent it ("primary", "other", "anonymous"): tenancy cases need to tell.
    identity: str = "primary"

    @property
    def status(self) -> int:
        """Shortcut for ``response.status``."""
        return self.response.status

    def summary(self) -> str:
        """``METHOD target -> status`` for messages."""
        return f"{self.request.method} {self.request.target} -> {self.response.status}"


class Transport(Protocol):
    """Sends one request and returns the response, or raises :class:`TransportError`."""

    def send(self, request: Request, timeout: float) -> Response:
        """Send ``request``; give up after ``timeout`` seconds."""
        ...  # pragma: no cover


class Auth(Protocol):
    """Adds credentials to a request about to be sent."""

    def apply(self, request: Request) -> Request:
        """Return ``request`` with its Authorization header."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class BasicAuth:
    """HTTP Basic (RFC 7617), the default OCCI authentication (GFD.223 §12)."""

    username: str
    password: str

    def apply(self, request: Request) -> Request:
        """Add ``Authorization: Basic ...``."""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return _with_header(request, "Authorization", f"Basic {token}")


@dataclass(frozen=True)
class HmacAuth:
    """API-key requests signed with an HTTP Message Signature (RFC 9421, HMAC-SHA256)
    and a Content-Digest (RFC 9530), under the profile of the :mod:`signing` package,
    the code Concord verifies with (and a standard any server may implement)."""

    access_key: str
    secret: str
    #: Injectable for tests: the clock and the nonce source.
    clock: Callable[[], float] = time.time
    nonce: Callable[[], str] = lambda: secrets.token_hex(12)

    def apply(self, request: Request) -> Request:
        """Sign the method, the whole URL, and the content headers and body."""
        kept = [
            (k, v)
            for k, v in request.headers
            if k.lower() not in ("signature", "signature-input", "content-digest")
        ]
        added = signing.sign(
            request.method,
            request.url,
            kept,
            request.body,
            key_id=self.access_key,
            secret=self.secret,
            created=int(self.clock()),
            nonce=self.nonce(),
        )
        return replace(request, headers=[*kept, *added.items()])


def _with_header(request: Request, name: str, value: str) -> Request:
    kept = [(k, v) for k, v in request.headers if k.lower() != name.lower()]
    return replace(request, headers=[*kept, (name, value)])


class Recorder:
    """Keeps every exchange of a run, and separately those of the case running now."""

    def __init__(self) -> None:
        self.all: list[tuple[str, Exchange]] = []
        self.current: list[Exchange] = []
        #: The protocol of the case running now ("occi" or "cimi"), tagging each exchange.
        self.protocol = ""

    def record(self, exchange: Exchange) -> None:
        """Remember ``exchange`` for the run and for the current case."""
        self.all.append((self.protocol, exchange))
        self.current.append(exchange)

    def start_case(self, protocol: str) -> None:
        """Forget the previous case's exchanges (the run keeps them)."""
        self.current = []
        self.protocol = protocol

    def of(self, protocol: str) -> list[Exchange]:
        """Every exchange made by cases of ``protocol``."""
        return [exchange for tag, exchange in self.all if tag == protocol]


class Client:
    """Sends requests to one endpoint as one identity."""

    def __init__(
        self,
        base_url: str,
        transport: Transport,
        *,
        auth: Auth | None = None,
        timeout: float = 30.0,
        recorder: Recorder | None = None,
        identity: str = "primary",
        default_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.transport = transport
        self.auth = auth
        self.timeout = timeout
        self.recorder = recorder or Recorder()
        self.identity = identity
        self.default_headers = list(default_headers)

    def url(self, reference: str) -> str:
        """``reference`` (absolute URL, absolute path or relative path) made absolute."""
        return urljoin(self.base_url, reference)

    def derive(self, *, auth: Auth | None, identity: str) -> Client:
        """Another identity on the same endpoint, transport and recorder."""
        return Client(
            self.base_url,
            self.transport,
            auth=auth,
            timeout=self.timeout,
            recorder=self.recorder,
            identity=identity,
            default_headers=self.default_headers,
        )

    def request(
        self,
        method: str,
        reference: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes | str = b"",
        authenticate: bool = True,
    ) -> Exchange:
        """Send one request and record the exchange.

        :raises TransportError: no response (see :class:`RequestTimeout`).
        """
        url = self.url(reference)
        data = body.encode("utf-8") if isinstance(body, str) else body
        given = list(headers)
        names = {k.lower() for k, _ in given}
        base: Headers = [("Host", urlsplit(url).netloc.rpartition("@")[2])]
        if "user-agent" not in names:
            base.append(("User-Agent", USER_AGENT))
        base += [(k, v) for k, v in self.default_headers if k.lower() not in names]
        request = Request(method.upper(), url, [*base, *given], data)
        if authenticate and self.auth is not None:
            request = self.auth.apply(request)
        started = time.perf_counter()
        response = self.transport.send(request, self.timeout)
        exchange = Exchange(request, response, time.perf_counter() - started, self.identity)
        self.recorder.record(exchange)
        return exchange

    def get(self, reference: str, accept: str | None = None, **kwargs: Any) -> Exchange:
        """GET with an optional Accept header."""
        headers = list(kwargs.pop("headers", ()))
        if accept is not None:
            headers.append(("Accept", accept))
        return self.request("GET", reference, headers=headers, **kwargs)
