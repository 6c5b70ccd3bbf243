"""Usage meters: ``/meter/`` and ``/meter/<id>`` (docs/occi.rst, "Usage").

Read only: GET (and HEAD) list and read the caller's meters; every other
method is 405 with ``Allow: GET, HEAD`` (:func:`occi.views.namespace.method_not_allowed`).
A listing is filtered and paginated as any collection's (GFD.223 §3.4, §3.5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.view import view_config

from occi.mapping.usage import MeterCollection, MeterPath
from occi.views.support import full_listing, listing_filter, negotiate, respond

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

ROUTE = "occi.namespace"


@view_config(route_name=ROUTE, context=MeterCollection, request_method="GET")
def list_meters(context: MeterCollection, request: Request) -> Response:
    """GET: the caller's meters, filtered and paginated."""
    media = negotiate(request)
    wanted, page = listing_filter(request)
    return respond(request, media, request.occi.meters(wanted, page, full=full_listing(media)))


@view_config(route_name=ROUTE, context=MeterPath, request_method="GET")
def read_meter(context: MeterPath, request: Request) -> Response:
    """GET: one meter."""
    media = negotiate(request)
    return respond(request, media, request.occi.meter(context))
