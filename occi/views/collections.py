"""Collections: Kinds' locations, Mixins' locations and unbound paths (GFD.223 §3.6–3.7).

* GET on any collection: its members, filtered by the entity rendered in the
  request headers (GFD.223 §3.5) and paginated by ``page`` and ``number``
  (GFD.223 §3.4); text renderings list locations, JSON renders the entities.
* POST on a Kind's collection: create the entity (or, in JSON, entities) in
  the body; 201 with ``Location``.
* DELETE on a Kind's collection: delete the members its body lists (as a
  Mixin collection's DELETE does), or, without a body, those matching the
  header filter, or all of them; 204. Unbound paths do not take it: a
  DELETE on ``/`` deleting everything is one mistake too easy to make.
* Mixin collections' POST, PUT and DELETE: :mod:`occi.views.mixins`;
  ``?action=`` on any collection: :mod:`occi.views.actions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.view import view_config

from engine.errors import InvalidInput
from occi.mapping.filters import Filter, has_query_filter, query_filter
from occi.mapping.paths import Collection, KindCollection
from occi.views.support import (
    body_locations,
    created,
    full_listing,
    header_filter,
    listing_filter,
    message,
    negotiate,
    no_content,
    parser,
    query,
    respond,
)

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

ROUTE = "occi.namespace"


@view_config(route_name=ROUTE, context=Collection, request_method="GET")
def list_members(context: Collection, request: Request) -> Response:
    """GET: the members, filtered and paginated."""
    media = negotiate(request)
    wanted, page = listing_filter(request)
    members = request.occi.listing(context, wanted, page, full=full_listing(media))
    return respond(request, media, members)


@view_config(route_name=ROUTE, context=KindCollection, request_method="POST")
def create(context: KindCollection, request: Request) -> Response:
    """POST: create the entities of the body in this Kind."""
    media = negotiate(request)
    documents = parser(request).entities(message(request))
    return created(request, media, request.occi.create(context, documents))


@view_config(route_name=ROUTE, context=KindCollection, request_method="DELETE")
def delete_members(context: KindCollection, request: Request) -> Response:
    """DELETE: delete the entities the body lists, else those matching the header filter,
    else all of the Kind's."""
    negotiate(request)
    locations = body_locations(request)
    given = query(request)
    wanted = header_filter(request)
    attributes = {}
    if has_query_filter(given, also=(CONFIRM,)):
        attributes = query_filter(request.occi.ctx.registry, given, also=(CONFIRM,))
    if attributes:
        wanted = Filter(wanted.categories, {**wanted.attributes, **attributes})
    if locations is None and not wanted:
        _require_confirmation(request, given, context)
    request.occi.delete_members(context, wanted, locations)
    return no_content(request)


#: The query parameter (``?confirm=all``) and header (``Concord-Confirm: all``)
#: that confirm a DELETE of a whole Kind collection.
CONFIRM = "confirm"
CONFIRM_HEADER = "Concord-Confirm"


def _require_confirmation(request: Request, given: dict[str, str], context: KindCollection) -> None:
    """A DELETE of every member of a Kind must say so (GFD.223 §3.7 allows it).

    ``curl -X DELETE $B/compute/$ID`` with ``$ID`` empty in a script would
    otherwise delete every compute of the tenant. The guard is a setting
    (``occi_confirm_collection_delete``, on by default; docs/occi.rst).
    """
    if not request.registry.concord_settings.occi_confirm_collection_delete:
        return
    if given.get(CONFIRM) == "all" or request.headers.get(CONFIRM_HEADER, "").lower() == "all":
        return
    raise InvalidInput(
        f"DELETE {context.path} without locations or a filter deletes every member: "
        f"confirm with ?{CONFIRM}=all or the header '{CONFIRM_HEADER}: all' (docs/occi.rst)"
    )
