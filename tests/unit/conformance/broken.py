"""WSGI middlewares that break one thing each, around Concord or a reference server.

Each is a faithful copy of the wrapped app except for the one defect named by its
arguments; the tests assert the harness reports exactly the requirement broken.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Environ = dict[str, Any]
Headers = list[tuple[str, str]]


def _matches(environ: Environ, method: str | None, path: str | None, query: str | None) -> bool:
    return (
        (method is None or environ["REQUEST_METHOD"] == method)
        and (path is None or re.search(path, environ.get("PATH_INFO", "")) is not None)
        and (query is None or query in environ.get("QUERY_STRING", ""))
    )


class Break:
    """Rewrite the responses of matching requests (and optionally the requests themselves).

    :param method, path, query: which requests (path is a regular expression).
    :param status: replace the status code.
    :param drop: header names to remove; ``set_headers`` replaces or adds headers.
    :param body: a function of the body returning the new body.
    :param request: a function changing the environ before the app sees it.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        method: str | None = None,
        path: str | None = None,
        query: str | None = None,
        status: int | None = None,
        drop: Iterable[str] = (),
        set_headers: dict[str, str] | None = None,
        body: Callable[[bytes], bytes] | None = None,
        headers: Callable[[Headers], Headers] | None = None,
        request: Callable[[Environ], None] | None = None,
    ) -> None:
        self.app = app
        self.method, self.path, self.query = method, path, query
        self.status, self.drop = status, {d.lower() for d in drop}
        self.set_headers = set_headers or {}
        self.body, self.headers, self.request = body, headers, request

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not _matches(environ, self.method, self.path, self.query):
            return self.app(environ, start_response)
        if self.request is not None:
            self.request(environ)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable[..., None]:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.app(environ, capture)
        try:
            data = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        status = captured["status"]
        if self.status is not None:
            status = f"{self.status} Changed"
        headers = [
            (k, v)
            for k, v in captured["headers"]
            if k.lower() not in self.drop and k not in self.set_headers
        ]
        headers += list(self.set_headers.items())
        if self.headers is not None:
            headers = self.headers(headers)
        if self.body is not None:
            data = self.body(data)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(data))))
        start_response(status, headers)
        return [data]


def strip_user_agent_version(environ: Environ) -> None:
    """A server that ignores the client's OCCI version (never answers 501)."""
    environ["HTTP_USER_AGENT"] = re.sub(r"OCCI/\d+\.\d+", "", environ.get("HTTP_USER_AGENT", ""))


def accept_anything(environ: Environ) -> None:
    """A server that ignores Accept (never answers 406)."""
    environ.pop("HTTP_ACCEPT", None)


def unquote_schemes(body: bytes) -> bytes:
    """Category lines whose scheme is not quoted (GFD.229 §4.1)."""
    return re.sub(rb'scheme="([^"]*)"', rb"scheme=\1", body)


def bind_entity_kind(body: bytes) -> bytes:
    """The Entity Kind rendered with a location (GFD.223 §4 forbids it)."""
    return re.sub(
        rb'(Category: entity; [^\n]*class="kind"; title="[^"]*")', rb'\1; location="/entity/"', body
    )


def drop_action_links(headers: Headers) -> Headers:
    """Entity renderings without their ActionLinks (text/occi)."""
    return [
        (k, ", ".join(p for p in v.split(", ") if "?action=" not in p) if k == "Link" else v)
        for k, v in headers
    ]


def strip_namespace(body: bytes) -> bytes:
    """XML documents without the CIMI namespace."""
    return re.sub(rb' xmlns="[^"]*"', b"", body)


def strip_timezones(body: bytes) -> bytes:
    """dateTime values without a time zone (DSP0263 5.5.2)."""
    return re.sub(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z", rb"\1", body)


def wrong_count(body: bytes) -> bytes:
    """Collections whose count is off by one."""
    return re.sub(rb'"count": (\d+)', lambda m: b'"count": ' + str(int(m[1]) + 1).encode(), body)
