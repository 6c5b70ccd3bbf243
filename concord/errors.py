"""The HTTP edge of the engine's exception tree.

:data:`STATUS` maps each :class:`engine.errors.EngineError` class to an HTTP
status. How an error *looks* depends on the standard the client speaks:
each rendering registers an error renderer for its path prefix with
``config.add_error_renderer(prefix, renderer)``; requests outside any prefix
get :func:`render_generic` (JSON or plain text, by Accept).

Unexpected exceptions are logged with the request id and answered 500 with
no internals (DESIGN.md, "Behaviour every part owes").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPException
from pyramid.response import Response
from pyramid.view import exception_view_config

from concord.negotiation import choose
from concord.prefixes import PrefixTable
from engine import errors

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

log = logging.getLogger("concord.errors")

STATUS: dict[type[errors.EngineError], int] = {
    errors.InvalidInput: 400,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.QuotaExceeded: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    # The cloud as it stands has no room: a conflict with the target's current
    # state (RFC 9110 §15.5.10), not a server fault the client should retry
    # blindly; issue 11 asks both renderings for 409.
    errors.CapacityUnavailable: 409,
    errors.DriverError: 502,
    errors.DriverUnavailable: 503,
}

CHALLENGE = 'Basic realm="Concord"'
#: RFC 9421 §5.1: the signature an API-key client may send instead of Basic
#: (the profile of the ``signing`` package; content-type, content-digest and
#: the OCCI header fields are covered too when the request has them).
ACCEPT_SIGNATURE = 'concord=("@method" "@target-uri");created;nonce;alg="hmac-sha256"'


@dataclass(frozen=True)
class ErrorReport:
    """What any rendering needs to draw an error.

    :param status: the HTTP status code.
    :param title: the status phrase ("Not Found").
    :param message: a sentence for the client, free of internals.
    :param details: structured facts from the engine (field, limit...).
    :param headers: extra response headers (WWW-Authenticate, Allow, Retry-After).
    :param source: the engine error reported, if any: a rendering writes the
        message and details from its structured details in its own words
        (:func:`translated`); ``message`` and ``details`` are the fallback.
    """

    status: int
    title: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    source: errors.EngineError | None = field(default=None, compare=False)


ErrorRenderer = Callable[["Request", ErrorReport], Response]


def status_for(error: errors.EngineError) -> int:
    """The HTTP status of an engine error (its most specific class wins)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def report_for_engine_error(error: errors.EngineError) -> ErrorReport:
    """Turn an engine error into an :class:`ErrorReport`."""
    from webob.util import status_reasons

    status = status_for(error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = CHALLENGE
        headers["Accept-Signature"] = ACCEPT_SIGNATURE
    if status == 503:
        headers["Retry-After"] = "30"
    details = {
        k: v
        for k, v in error.details.items()
        if k in CLIENT_DETAILS and isinstance(v, (str, int, float, bool))
    }
    title = status_reasons.get(status, "Error")
    return ErrorReport(status, title, error.message, details, headers, source=error)


#: The detail keys a client may read as the engine gives them: what the
#: client sent or may see anyway (its resource's id and name, the value it
#: gave, a corrected spelling, a tag's namespace and location, how many
#: interfaces hold a network). Every other key stays out of the response:
#: engine vocabulary (kind, state, field, units in MiB and GiB...) is written
#: by each rendering from the structured details (:func:`translated`), and an
#: operator's fact (an image's location on the hosts, a count of unreadable
#: key secrets) belongs to the log and the CLI. An allow-list, so that a new
#: key is hidden until someone decides a client may read it.
CLIENT_DETAILS = frozenset({"id", "name", "value", "suggestion", "namespace", "path", "interfaces"})

Translator = Callable[[errors.EngineError], "tuple[str, dict[str, Any]] | None"]


def translated(
    report: ErrorReport, translate: Translator, own: frozenset[str] = frozenset()
) -> ErrorReport:
    """``report`` with the message and details a rendering's ``translate`` writes
    from its engine error's structured details (unchanged when there are none).

    :param own: the detail keys the rendering itself raises errors with, in
        its own words (OCCI's ``attribute``, CIMI's ``resourceState``): they
        are shown as they are. No engine raise site uses them
        (``tests/unit/test_error_vocabulary.py`` checks).
    """
    if report.source is None:
        return report
    kept = {
        k: v
        for k, v in report.source.details.items()
        if k in own and isinstance(v, (str, int, float, bool))
    }
    found = translate(report.source)
    if found is None:
        if not kept:
            return report
        return replace(report, details={**report.details, **kept})
    message, facts = found
    details = {**report.details, **kept, **facts}
    return ErrorReport(report.status, report.title, message, details, report.headers, report.source)


def report_for_http_exception(exc: HTTPException) -> ErrorReport:
    """Turn a Pyramid HTTP exception (404 route, 405...) into an :class:`ErrorReport`."""
    headers = {}
    for name in ("Allow", "WWW-Authenticate", "Retry-After", "Location"):
        if name in exc.headers:
            headers[name] = exc.headers[name]
    message = exc.detail or exc.explanation or exc.title
    return ErrorReport(exc.code or 500, exc.title, str(message), {}, headers)


def render_generic(request: Request, report: ErrorReport) -> Response:
    """Render an error as JSON or plain text, by the client's Accept header."""
    media = choose(request, ["application/json", "text/plain"], default="text/plain")
    if media == "application/json":
        body = json.dumps(
            {
                "error": {
                    "status": report.status,
                    "title": report.title,
                    "message": report.message,
                    "request_id": request_id(request),
                    **({"details": report.details} if report.details else {}),
                }
            }
        )
        response = Response(body, content_type="application/json", charset="utf-8")
    else:
        response = Response(f"{report.message}\n", content_type="text/plain", charset="utf-8")
    response.status_int = report.status
    response.headers.update(report.headers)
    return response


def request_id(request: Request) -> str:
    """The request's id (set by the edge tween), or '-' outside a request."""
    return str(getattr(request, "request_id", "-"))


def safe_path(request: Request) -> str:
    """The request's path, even when it is not valid UTF-8 (then undecoded, as latin-1)."""
    try:
        return str(request.path_info)
    except UnicodeDecodeError:
        return str(request.environ.get("PATH_INFO", ""))


def render(request: Request, report: ErrorReport) -> Response:
    """Render ``report`` with the renderer registered for the request's path.

    This never fails: a renderer that raises is logged and replaced by
    :func:`render_generic`, and that, should it raise too, by a fixed
    plain-text answer. An error view that failed would turn a client's 4xx
    into a 500 with a second traceback.
    """
    try:
        renderers: PrefixTable[ErrorRenderer] = request.registry.error_renderers
        found = renderers.match(safe_path(request))
        response = found[1](request, report) if found else render_generic(request, report)
    except Exception:
        log.exception("error renderer failed", extra={"request_id": request_id(request)})
        try:
            response = render_generic(request, report)
        except Exception:
            response = _last_resort(report)
    response.headers.setdefault("Vary", "Accept")
    return response


def _last_resort(report: ErrorReport) -> Response:
    """An error answer that depends on nothing of the request."""
    response = Response(f"{report.message}\n", content_type="text/plain", charset="utf-8")
    response.status_int = report.status
    return response


@exception_view_config(errors.EngineError)
def engine_error_view(exc: errors.EngineError, request: Request) -> Response:
    """Answer an engine error with its status in the client's rendering."""
    report = report_for_engine_error(exc)
    if report.status == 401:
        report = replace(
            report, headers={**report.headers, "WWW-Authenticate": _challenge(request)}
        )
    return render(request, report)


def _challenge(request: Request) -> str:
    """The challenge of a 401: Concord's own, or the one a plug-in sets for bare requests.

    A plug-in (the federation wing's Keystone subset, when the
    ``keystone_challenge`` setting is on) may set
    ``registry.unauthenticated_challenge`` to direct clients that sent no
    credentials at all elsewhere; a client that sent some keeps Concord's.
    """
    hook = getattr(request.registry, "unauthenticated_challenge", None)
    sent = request.headers.get("Authorization") or request.headers.get("X-Auth-Token")
    if hook is not None and not sent:
        return str(hook(request))
    return CHALLENGE


@exception_view_config(HTTPException)
def http_exception_view(exc: HTTPException, request: Request) -> Response:
    """Answer Pyramid's HTTP exceptions (unknown route, bad method) the same way."""
    if exc.code is not None and exc.code < 400:
        return exc  # redirects and the like pass through untouched
    return render(request, report_for_http_exception(exc))


def undecodable_url(request: Request) -> ErrorReport | None:
    """A 400 report when the request's path or query is not UTF-8 once percent-decoded.

    WSGI hands both over as latin-1 text holding the raw bytes (PEP 3333):
    the path percent-decoded already, the query not. The edge tween asks this
    of every request before any view, so that no view, renderer or parser
    meets an undecodable URL (WebOb raises UnicodeDecodeError from
    ``request.GET`` or ``request.path_info``).
    """
    environ = request.environ
    for part, raw in (
        ("path", environ.get("PATH_INFO", "")),
        ("query", _percent_decoded(environ.get("QUERY_STRING", ""))),
    ):
        try:
            data = raw if isinstance(raw, bytes) else raw.encode("latin-1")
            data.decode("utf-8")
        except UnicodeError as exc:
            at = (
                f" (byte 0x{exc.object[exc.start]:02X})"
                if isinstance(exc, UnicodeDecodeError)
                else ""
            )
            message = f"the request URL's {part} is not valid UTF-8 once percent-decoded{at}"
            return ErrorReport(400, "Bad Request", message)
    return None


def _percent_decoded(query: str) -> bytes | str:
    """A WSGI query string percent-decoded to bytes (the raw text when it is not latin-1)."""
    try:
        return unquote_to_bytes(query.encode("latin-1"))
    except UnicodeEncodeError:
        return query  # not what a WSGI server gives: the check above refuses it


@exception_view_config(URLDecodeError)
def url_decode_error_view(exc: URLDecodeError, request: Request) -> Response:
    """A path or query that is not valid UTF-8 is the client's error, not the server's."""
    report = undecodable_url(request) or ErrorReport(
        400, "Bad Request", "the request URL is not valid UTF-8"
    )
    return render(request, report)


@exception_view_config(Exception)
def unexpected_error_view(exc: Exception, request: Request) -> Response:
    """Log an unexpected failure with the request id; answer 500 without internals."""
    log.error(
        "unexpected error",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"request_id": request_id(request)},
    )
    report = ErrorReport(
        500,
        "Internal Server Error",
        f"the server failed to handle this request (request id {request_id(request)})",
    )
    return render(request, report)


def add_error_renderer(config: Configurator, prefix: str, renderer: ErrorRenderer) -> None:
    """Directive: render errors under ``prefix`` with ``renderer`` (longest prefix wins)."""
    renderers: PrefixTable[ErrorRenderer] = config.registry.error_renderers
    renderers.add(prefix, renderer)


def includeme(config: Configurator) -> None:
    """Register the exception views and the ``add_error_renderer`` directive."""
    config.registry.error_renderers = PrefixTable()
    config.add_directive("add_error_renderer", add_error_renderer)
    config.scan("concord.errors")
