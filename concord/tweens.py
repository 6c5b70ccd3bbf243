"""The edge tween: request ids, size limits, the transaction, metrics, access log.

It wraps Pyramid's exception-view tween, so it sees every response,
including rendered errors, and decides the fate of the request's
transaction from the final status: commit on success, roll back on any
error, so that a refused request changes nothing. It also sets the
``Server`` header: Concord's product, then the product of the rendering
whose paths the request is for (``config.add_server_product``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyramid.interfaces import IRoutesMapper
from pyramid.response import Response
from pyramid.tweens import EXCVIEW

from concord import __version__
from concord.errors import ErrorReport, render, safe_path, undecodable_url
from concord.logs import current_request_id
from concord.prefixes import PrefixTable
from engine.jobs.worker import notify

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

    from concord.settings import Settings

log = logging.getLogger("concord.access")

#: The ``Server`` header's first product; a rendering adds its own for its paths.
SERVER_PRODUCT = f"Concord/{__version__}"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

Handler = Callable[["Request"], Response]


def _request_id(request: Request) -> str:
    given = request.headers.get("X-Request-Id", "")
    # A client-chosen id is kept for tracing across services only when it
    # cannot inject anything into logs.
    # fullmatch: '$' alone would also accept a trailing newline.
    return given if _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _too_large(request: Request, settings: Settings) -> ErrorReport | None:
    """A 431 or 413 report when the request's headers or body exceed the settings' limits.

    Header fields are counted and measured as the WSGI server hands them
    over: a repeated field is one field, its values joined by commas.
    """
    headers = [
        (key.removeprefix("HTTP_"), value)
        for key, value in request.environ.items()
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
    ]
    too_large = "Request Header Fields Too Large"
    if len(headers) > settings.max_header_count:
        message = f"more than {settings.max_header_count} request header fields"
        return ErrorReport(431, too_large, message)
    for key, value in headers:
        if len(key) + len(value) > settings.max_header_line_bytes:
            name = key.replace("_", "-").title()
            message = f"request header {name} exceeds {settings.max_header_line_bytes} bytes"
            return ErrorReport(431, too_large, message)
    max_headers = settings.max_header_bytes
    header_bytes = sum(len(k) + len(v) for k, v in headers)
    if header_bytes > max_headers:
        return ErrorReport(431, too_large, f"request headers exceed {max_headers} bytes")
    max_body = settings.max_body_bytes
    length = request.content_length
    if length is None and request.is_body_readable:
        # No Content-Length (a chunked upload): read one byte more than allowed, at most.
        data = request.body_file_raw.read(max_body + 1)
        length = len(data)
        if length <= max_body:
            request.body = data  # what views read from now on (Content-Length set)
    if length is not None and length > max_body:
        return ErrorReport(413, "Payload Too Large", f"request body exceeds {max_body} bytes")
    return None


def server_header(products: PrefixTable[str], path: str) -> str:
    """The ``Server`` header for a path: Concord's product, then its rendering's if any."""
    found = products.match(path)
    return f"{SERVER_PRODUCT} {found[1]}" if found and found[1] else SERVER_PRODUCT


def add_server_product(config: Configurator, prefix: str, product: str) -> None:
    """Directive: name ``product`` in the ``Server`` header under ``prefix`` (longest wins).

    OCCI must announce ``OCCI/1.2`` (GFD.223 §3.2); an empty product says
    that paths under ``prefix`` announce none.
    """
    products: PrefixTable[str] = config.registry.server_products
    products.add(prefix, product)


def edge_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Build the edge tween (see the module docstring)."""
    settings = registry.concord_settings
    metrics = registry.metrics
    # Every route is added by now (tweens are built at commit): they are the known labels.
    metrics.routes = frozenset(
        route.name for route in registry.getUtility(IRoutesMapper).get_routes()
    )
    products = registry.server_products

    def edge_tween(request: Request) -> Response:
        started = time.perf_counter()
        request.request_id = _request_id(request)
        token = current_request_id.set(request.request_id)
        try:
            problem = _too_large(request, settings) or undecodable_url(request)
            response = render(request, problem) if problem else handler(request)
            _finish_transaction(request, response)
            response.headers["X-Request-Id"] = request.request_id
            response.headers["Server"] = server_header(products, safe_path(request))
            elapsed = time.perf_counter() - started
            route = request.matched_route.name if request.matched_route else "-"
            kind, operation = metrics.classify(request, route)
            metrics.observe(request.method, route, response.status_int, elapsed, kind, operation)
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": safe_path(request),
                    "route": route,
                    "status": response.status_int,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user": _user(request),
                },
            )
            return response
        finally:
            current_request_id.reset(token)

    return edge_tween


def _user(request: Request) -> str | None:
    scope = request.__dict__.get("scope")
    return getattr(scope, "username", None)


def _finish_transaction(request: Request, response: Response) -> None:
    session = request.environ.pop("concord.dbsession", None)
    if session is None:
        return
    try:
        if response.status_int < 400:
            session.commit()
            if request.method not in ("GET", "HEAD"):
                # A mutating request may have queued jobs: wake the
                # in-process workers now that the jobs are visible.
                notify()
        else:
            session.rollback()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def includeme(config: Configurator) -> None:
    """Add the edge tween over Pyramid's exception views, and ``add_server_product``.

    Over EXCVIEW: the edge tween sees the rendered error responses and rolls
    the transaction back for them.
    """
    config.registry.server_products = PrefixTable()
    config.add_directive("add_server_product", add_server_product)
    config.add_tween("concord.tweens.edge_tween_factory", over=EXCVIEW)
