"""Entities: ``/<kind>/<id>`` (GFD.223 §3.6–3.7, "Entity instance").

* GET: the entity's rendering; 200.
* POST: a partial update (GFD.223 §3.7); 200 with the rendering.
* PUT: a full update (200 with the rendering; links are left intact), or,
  at a path where no entity is, a creation with the path's id (201 with
  ``Location``, occi.md §10 item 14).
* DELETE: 204; the entity is gone at once for OCCI, its deletion job runs
  after the commit. A DELETE with a body is refused (400): the body would
  ask for something the server would silently not do.
* POST ``?action=``: :mod:`occi.views.actions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.view import view_config

from engine.errors import InvalidInput
from occi.mapping.paths import EntityPath
from occi.views.support import (
    created,
    message,
    negotiate,
    no_content,
    parser,
    renders_something,
    respond,
)

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

ROUTE = "occi.namespace"


@view_config(route_name=ROUTE, context=EntityPath, request_method="GET")
def read(context: EntityPath, request: Request) -> Response:
    """GET: the entity."""
    media = negotiate(request)
    return respond(request, media, request.occi.read(context))


@view_config(route_name=ROUTE, context=EntityPath, request_method="POST")
def partial_update(context: EntityPath, request: Request) -> Response:
    """POST: change what the body renders, leave the rest."""
    media = negotiate(request)
    document = parser(request).entity(message(request))
    return respond(request, media, request.occi.update(context, document))


@view_config(route_name=ROUTE, context=EntityPath, request_method="PUT")
def replace(context: EntityPath, request: Request) -> Response:
    """PUT: replace the entity, or create it at this path."""
    media = negotiate(request)
    document = parser(request).entity(message(request))
    entity, new = request.occi.put(context, document)
    if new:
        return created(request, media, [entity])
    return respond(request, media, entity)


@view_config(route_name=ROUTE, context=EntityPath, request_method="DELETE")
def delete(context: EntityPath, request: Request) -> Response:
    """DELETE: remove the entity (a body is refused: it would say something not done)."""
    negotiate(request)
    if renders_something(request):
        raise InvalidInput("a DELETE on an entity takes no rendering, in the body or headers")
    request.occi.delete(context)
    return no_content(request)
