"""Mixin collections: associate, replace and dissociate (GFD.223 §3.6–3.7).

The body is an entity collection rendering: ``X-OCCI-Location`` lines (in
the body for text/plain, in headers for text/occi) or a JSON array of
locations, as the Content-Type says. Each answer is 200 with the collection's members after
the change (GFD.223 §3.7: the response "MUST include an entity collection
rendering").

* POST: associate the Mixin with the entities (tags are put on them; a
  provider Mixin is a partial update of each, e.g. a resource template
  resizes the compute);
* PUT: make the entities the tag's only members (GFD.223 §3.7 "full
  replacement", which erocci got wrong: occi.md §10 item 17);
* DELETE: dissociate the entities, or every member when the body lists none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.view import view_config

from occi.mapping.paths import MixinCollection
from occi.views.support import body_locations, full_listing, message, negotiate, parser, respond

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

ROUTE = "occi.namespace"


@view_config(route_name=ROUTE, context=MixinCollection, request_method="POST")
def associate(context: MixinCollection, request: Request) -> Response:
    """POST: associate the Mixin with the listed entities."""
    media = negotiate(request)
    locations = parser(request).locations(message(request))
    members = request.occi.associate(context, locations, full=full_listing(media))
    return respond(request, media, members)


@view_config(route_name=ROUTE, context=MixinCollection, request_method="PUT")
def replace(context: MixinCollection, request: Request) -> Response:
    """PUT: the listed entities become the Mixin's members."""
    media = negotiate(request)
    locations = parser(request).locations(message(request))
    members = request.occi.replace_members(context, locations, full=full_listing(media))
    return respond(request, media, members)


@view_config(route_name=ROUTE, context=MixinCollection, request_method="DELETE")
def dissociate(context: MixinCollection, request: Request) -> Response:
    """DELETE: dissociate the listed entities (all members when none is listed)."""
    media = negotiate(request)
    members = request.occi.dissociate(context, body_locations(request), full=full_listing(media))
    return respond(request, media, members)
