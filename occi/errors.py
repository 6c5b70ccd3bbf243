"""OCCI's error rendering: the status from concord.errors, the body in the client's type.

GFD.223 defines status codes but no error body; clients read the status and
show the text. So errors are a one-line message in the text renderings and
an ``{"error": ...}`` object in the JSON ones. Besides the engine's errors
(mapped by :data:`concord.errors.STATUS`), OCCI adds its own:

=============================  ======  ===================================================
exception                      status  why
=============================  ======  ===================================================
VersionNotSupported            501     GFD.223 §3.2: a client asks for OCCI above 1.2
UnsupportedMediaType           415     RFC 9110 §15.5.16: a body OCCI does not read
                                       (ooi answered 406; occi.md §10 item 1)
NotAListing                    400     GFD.229 §3.4: text/uri-list for a non-listing
PageTooLarge                   413     GFD.223 §3.4: ``number`` too large
=============================  ======  ===================================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pyramid.response import Response
from pyramid.view import exception_view_config

from concord.errors import ErrorReport, render, request_id, translated
from concord.negotiation import choose
from occi.mapping.errors import OCCI_DETAILS, translate
from occi.mapping.filters import PageTooLarge
from occi.negotiation import (
    JSON,
    OCCI_JSON,
    TEXT_OCCI,
    TEXT_OCCI_PLAIN,
    TEXT_PLAIN,
    VersionNotSupported,
)
from occi.parsing import UnsupportedMediaType
from occi.rendering import NotAListing

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

_ERROR_MEDIA = [TEXT_PLAIN, TEXT_OCCI_PLAIN, TEXT_OCCI, OCCI_JSON, JSON]


def render_occi_error(request: Request, report: ErrorReport) -> Response:
    """Render an error in the OCCI media type the client accepts (text/plain by default).

    An engine error's message is written in OCCI's words from its structured
    details (:func:`occi.mapping.errors.translate`)."""
    report = translated(report, translate, OCCI_DETAILS)
    media = choose(request, _ERROR_MEDIA, default=TEXT_PLAIN) or TEXT_PLAIN
    if media in (OCCI_JSON, JSON):
        body = json.dumps(
            {
                "error": {
                    "code": report.status,
                    "message": report.message,
                    "request_id": request_id(request),
                    **({"details": report.details} if report.details else {}),
                }
            }
        )
    else:
        body = f"{report.message}\n"
    response = Response(body, content_type=media, charset="utf-8")
    response.status_int = report.status
    response.headers.update(report.headers)
    return response


@exception_view_config(VersionNotSupported)
def version_not_supported(exc: VersionNotSupported, request: Request) -> Response:
    """GFD.223 §3.2: a request for a higher OCCI version than the server's gets 501."""
    return render(request, ErrorReport(501, "Not Implemented", exc.message))


@exception_view_config(UnsupportedMediaType)
def unsupported_media_type(exc: UnsupportedMediaType, request: Request) -> Response:
    """A request body in a type no OCCI parser reads: 415."""
    message = f"{exc}; send text/plain, text/occi or application/occi+json"
    return render(request, ErrorReport(415, "Unsupported Media Type", message))


@exception_view_config(NotAListing)
def not_a_listing(exc: NotAListing, request: Request) -> Response:
    """GFD.229 §3.4: text/uri-list asked for something that is not a listing: 400."""
    return render(request, ErrorReport(400, "Bad Request", str(exc)))


@exception_view_config(PageTooLarge)
def page_too_large(exc: PageTooLarge, request: Request) -> Response:
    """GFD.223 §3.4: a page size the server will not serve: 413."""
    return render(request, ErrorReport(413, "Payload Too Large", str(exc)))


def includeme(config: Configurator) -> None:
    """OCCI owns the root of the namespace, so it renders errors for every path
    that no other rendering claims (longest prefix wins)."""
    config.add_error_renderer("/", render_occi_error)
    # GFD.223 §3.2: an OCCI server announces its version in every Server header.
    config.add_server_product("/", "OCCI/1.2")
    config.scan("occi.errors")
