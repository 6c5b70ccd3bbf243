"""The query interface at ``/-/`` and its RFC 5785 mirror (GFD.223 §3.4.1, §3.7).

* GET: every Kind, Mixin and Action the caller can use (the server's, the
  catalog's templates, the caller's tags), or those related to the
  Categories in the request headers (GFD.223 §3.5); 200.
* POST: define user Mixins from full Category renderings; 200 with their
  renderings (GFD.223 §3.7 gives 200 for the query interface).
* DELETE: remove user Mixins; 200 with an empty category collection.
* PUT and anything else: 405 (:mod:`occi.views.namespace`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.view import view_config

from concord.operations import OPERATIONS_PATHS
from occi.mapping.paths import QueryInterface
from occi.model import CategoryDefinitions
from occi.parsing import HeaderParser
from occi.views.support import message, negotiate, parser, respond

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

ROUTES = ("occi.query", "occi.query.wellknown")


def _reserved(request: Request) -> frozenset[str]:
    """Paths another rendering or the operations endpoints use: no tag may live there."""
    prefixes = {p.rstrip("/") + "/" for p, _ in request.registry.error_renderers if p != "/"}
    operations = {f"{path}/" for path in OPERATIONS_PATHS}
    return frozenset({"/-/", "/.well-known/", *operations, *prefixes})


@view_config(route_name=ROUTES[0], context=QueryInterface, request_method="GET")
@view_config(route_name=ROUTES[1], context=QueryInterface, request_method="GET")
def list_categories(context: QueryInterface, request: Request) -> Response:
    """GET: the category collection, filtered by the Categories in the headers."""
    media = negotiate(request)
    wanted = HeaderParser().categories(message(request))
    categories = request.occi.categories([c.type_id for c in wanted.categories])
    return respond(request, media, categories)


@view_config(route_name=ROUTES[0], context=QueryInterface, request_method="POST")
@view_config(route_name=ROUTES[1], context=QueryInterface, request_method="POST")
def define_mixins(context: QueryInterface, request: Request) -> Response:
    """POST: define the user Mixins rendered in the body."""
    media = negotiate(request)
    definitions = parser(request).categories(message(request))
    return respond(request, media, request.occi.define(definitions, _reserved(request)))


@view_config(route_name=ROUTES[0], context=QueryInterface, request_method="DELETE")
@view_config(route_name=ROUTES[1], context=QueryInterface, request_method="DELETE")
def remove_mixins(context: QueryInterface, request: Request) -> Response:
    """DELETE: remove the user Mixins rendered in the body."""
    media = negotiate(request)
    definitions = parser(request).categories(message(request))
    request.occi.undefine(definitions)
    return respond(request, media, CategoryDefinitions())
