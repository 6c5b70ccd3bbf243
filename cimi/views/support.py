"""HTTP plumbing shared by the CIMI views: negotiation, bodies, answers.

Decisions (docs/cimi.rst):

* representations are ``application/json`` or ``application/xml``;
  ``$format`` (4.1.6.5) overrides ``Accept``; a missing Accept, or ``*/*``,
  gets JSON; an Accept that admits neither is 406;
* request bodies are JSON or XML (``text/xml`` is read as XML, as
  Deltacloud did); anything else, or no Content-Type, is 415;
* ``CIMI-Specification-Version`` (cimi.md 2.6): a request may list versions;
  Concord speaks 1.x (1.0, 1.0.1, 1.1, 1.1.0 match) and answers 400 when the
  list holds none of them; every answer carries ``CIMI-Specification-Version:
  1.1.0``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.httpexceptions import HTTPNotAcceptable, HTTPUnsupportedMediaType
from pyramid.response import Response

from cimi import codec
from cimi.codec import Mode
from cimi.mapping import BY_TYPE, Binding, Context, Links, Outcome
from cimi.resources import Table
from concord.negotiation import choose
from engine.errors import InvalidInput

if TYPE_CHECKING:
    from pyramid.request import Request

JSON = codec.JSON
XML = codec.XML
SPEC_VERSION = "1.1.0"
FORMATS = {"json": JSON, "xml": XML}
_BODY_TYPES = {"application/json": JSON, "application/xml": XML, "text/xml": XML}


def links(request: Request) -> Links:
    """The URLs of this request's resources: ``<public URL>/cimi/`` (:mod:`concord.urls`)."""
    return Links(request.public_url + "/cimi/")


def context(request: Request) -> Context:
    """The engine as this request's caller sees it (authenticates: 401 if not)."""
    return Context(request.engine, request.scope, links(request))


def requested_format(request: Request) -> str | None:
    """The media type ``$format`` asks for (json or xml), if any and valid.

    Never fails: the error renderer asks this too, also of a request whose
    query is not UTF-8 (the edge refuses those with a 400 drawn here).
    """
    try:
        values = request.GET.getall("$format")
    except UnicodeDecodeError:
        return None
    if len(values) == 1:
        return FORMATS.get(values[0].strip().lower())
    return None


def media_type(request: Request) -> str:
    """The representation to answer with: ``$format``, else Accept, else JSON.

    :raises HTTPNotAcceptable: the client accepts neither JSON nor XML.
    """
    chosen = requested_format(request) or choose(request, [JSON, XML], default=JSON)
    if chosen is None:
        raise HTTPNotAcceptable(f"CIMI resources are served as {JSON} or {XML}")
    return chosen


def check_version(request: Request) -> None:
    """Refuse a CIMI-Specification-Version list that names no 1.x version (400)."""
    header = request.headers.get("CIMI-Specification-Version")
    if header is None:
        return
    versions = [v.strip() for v in header.split(",") if v.strip()]
    if not any(v == "1" or v.startswith("1.") for v in versions):
        raise InvalidInput(
            f"this provider speaks CIMI {SPEC_VERSION} (1.x), not {header.strip()}",
            field="CIMI-Specification-Version",
        )


def read_body(request: Request, table: Table, mode: Mode) -> dict[str, Any]:
    """The neutral form of the request body as *table* (``<Type>Create``, Action...).

    :raises HTTPUnsupportedMediaType: the body is neither JSON nor XML (415).
    :raises DecodeError: the body is malformed or breaks the table (400).
    """
    declared = (request.content_type or "").lower()
    if declared not in _BODY_TYPES:
        raise HTTPUnsupportedMediaType(
            f"send {JSON} or {XML} bodies, not {declared or 'a body without Content-Type'}"
        )
    limits = codec.Limits.from_settings(request.registry.concord_settings)
    return codec.decode(request.body, table, _BODY_TYPES[declared], mode=mode, limits=limits)


def represent(request: Request, table: Table, value: dict[str, Any], status: int = 200) -> Response:
    """A response carrying *value* as *table* in the negotiated media type."""
    media = media_type(request)
    # Every value here was built by a binding from engine rows: the trusted path.
    response = Response(codec.encode(table, value, media, trusted=True), status=status)
    response.content_type = media
    response.charset = "utf-8"
    return finish(response)


def finish(response: Response) -> Response:
    """Add the headers every CIMI answer carries."""
    response.headers["CIMI-Specification-Version"] = SPEC_VERSION
    response.headers["Vary"] = "Accept"
    return response


def answer(request: Request, ctx: Context, binding: Binding, outcome: Outcome) -> Response:
    """The answer to a change (4.2.1, 4.2.1.7 asynchronous operations).

    * a job: 202, its Job as the body, ``CIMI-Job-URI`` and ``Location`` (the
      affected resource);
    * a new resource: 201, ``Location`` and the resource;
    * a changed resource: 200 and the resource;
    * nothing left to show (a synchronous delete): 200, no body (4.2.1.4).
    """
    if outcome.job is not None:
        jobs = BY_TYPE["Job"]
        response = represent(request, jobs.table, jobs.render(ctx, outcome.job), 202)
        response.headers["CIMI-Job-URI"] = jobs.href(ctx, outcome.job)
    elif outcome.resource is not None:
        shown = outcome.binding or binding
        status = 201 if outcome.created else 200
        response = represent(request, shown.table, shown.render(ctx, outcome.resource), status)
    else:
        response = finish(Response(status=200))
    if outcome.location:
        response.headers["Location"] = outcome.location
    return response


__all__ = [
    "JSON",
    "SPEC_VERSION",
    "XML",
    "answer",
    "check_version",
    "context",
    "finish",
    "links",
    "media_type",
    "read_body",
    "represent",
    "requested_format",
]
