"""CIMI's error rendering: the status from :mod:`concord.errors`, the body in JSON or XML.

DSP0263 defines status codes but no error resource (cimi.md 2.11, 6.19), so
Concord's is small and the same in both renderings, in the media type the
client negotiated (``$format``, else Accept, else JSON)::

    {"code": 404, "status": "Not Found", "message": "...", "requestId": "..."}

    <error xmlns="http://schemas.dmtf.org/cimi/1">
      <code>404</code><status>Not Found</status><message>...</message>
      <requestId>...</requestId>
    </error>

Structured facts from the engine (the offending field, a limit) are added as
``details`` (JSON object; XML ``<detail name="..">value</detail>``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lxml import etree
from pyramid.response import Response
from pyramid.view import exception_view_config

from cimi.errors import OperationNotSupported
from cimi.mapping.errors import CIMI_DETAILS, translate
from cimi.resources import NS
from cimi.views.resources import allowed_methods
from cimi.views.support import JSON, XML, finish, requested_format
from concord.errors import ErrorReport, render, request_id, translated
from concord.negotiation import choose

if TYPE_CHECKING:
    from pyramid.request import Request


def _xml(report: ErrorReport, rid: str) -> bytes:
    root = etree.Element(f"{{{NS}}}error", nsmap={None: NS})
    for name, value in (
        ("code", str(report.status)),
        ("status", report.title),
        ("message", report.message),
        ("requestId", rid),
    ):
        etree.SubElement(root, f"{{{NS}}}{name}").text = value
    for key, value in sorted(report.details.items()):
        etree.SubElement(root, f"{{{NS}}}detail", name=key).text = str(value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def render_cimi_error(request: Request, report: ErrorReport) -> Response:
    """Render an error under ``/cimi`` as JSON or XML.

    An engine error's message and details are written in CIMI's words from its
    structured details (:func:`cimi.mapping.errors.translate`)."""
    report = translated(report, translate, CIMI_DETAILS)
    media = requested_format(request) or choose(request, [JSON, XML], default=JSON) or JSON
    rid = request_id(request)
    if media == XML:
        body = _xml(report, rid)
    else:
        error = {
            "code": report.status,
            "status": report.title,
            "message": report.message,
            "requestId": rid,
            **({"details": report.details} if report.details else {}),
        }
        body = json.dumps(error).encode("utf-8")
    response = Response(body, status=report.status)
    response.content_type = media
    response.charset = "utf-8"
    response.headers.update(report.headers)
    return finish(response)


@exception_view_config(OperationNotSupported)
def operation_not_supported(exc: OperationNotSupported, request: Request) -> Response:
    """405 with the methods the resource or Collection does support (RFC 9110 15.5.6)."""
    headers = {"Allow": ", ".join(allowed_methods(request))}
    return render(request, ErrorReport(405, "Method Not Allowed", exc.message, headers=headers))


__all__ = ["render_cimi_error"]
