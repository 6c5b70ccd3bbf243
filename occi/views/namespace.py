"""Routes and contexts: which part of the OCCI namespace a request is for (GFD.223 §3.1).

Two routes serve the query interface (``/-/`` and its RFC 5785 mirror); one
catch-all route serves every other path, its factory resolving the path to
a context (:mod:`occi.mapping.paths`): an entity, a Kind's, a Mixin's or an
unbound collection. Views are then chosen by context class and method; a
method no view takes is 405 with ``Allow`` (:func:`method_not_allowed`).

The catch-all route steps aside for paths another rendering claims (the
prefixes of their error renderers, e.g. ``/cimi``), whatever the order in
which the renderings are included. Every OCCI request first has its
``User-Agent`` checked for an OCCI version above 1.2 (GFD.223 §3.2: 501).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.httpexceptions import HTTPMethodNotAllowed, HTTPNotFound

from occi.categories.usage import METER
from occi.mapping.paths import (
    EntityPath,
    KindCollection,
    MixinCollection,
    QueryInterface,
    Target,
    UnboundCollection,
    resolve_static,
)
from occi.mapping.tables import TABLES as KIND_TABLES
from occi.mapping.usage import MeterCollection, MeterPath
from occi.negotiation import check_version
from occi.views.support import query

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

QUERY_PATHS = ("/-/", "/.well-known/org/ogf/occi/-/")

#: The methods each context takes (GFD.223 §3.6, the verb summary table).
ALLOWED: dict[type, tuple[str, ...]] = {
    QueryInterface: ("GET", "HEAD", "POST", "DELETE"),
    EntityPath: ("GET", "HEAD", "POST", "PUT", "DELETE"),
    KindCollection: ("GET", "HEAD", "POST", "DELETE"),
    MixinCollection: ("GET", "HEAD", "POST", "PUT", "DELETE"),
    UnboundCollection: ("GET", "HEAD", "POST"),
}


def query_interface(request: Request) -> QueryInterface:
    """The context of the query interface routes (the caller is authenticated first)."""
    check_version(request)
    request.scope  # noqa: B018  (authenticates: nothing else is answered before)
    return QueryInterface()


def namespace(request: Request) -> Target:
    """The context of any other path: what it names for this caller.

    Kind and entity paths resolve without the caller's registry; other paths
    ending in ``/`` may be the caller's tags, so resolving them authenticates
    first (an unknown path is 401 before it is 404, which leaks nothing).
    Whatever the path names, the caller is authenticated before the view
    runs; only a path that names nothing for anyone (no trailing slash, not a
    Kind's or an entity's) is 404 at once.
    """
    check_version(request)
    path = request.path_info
    found = resolve_static(request.registry.occi_categories, path)
    if found is None and path.endswith("/"):
        found = request.occi.resolve(path)
    if found is None:
        raise HTTPNotFound(f"nothing here at {path[:200]}")
    # Authentication before anything else is decided (negotiation, the method):
    # a signed request that then fails has still spent its nonce.
    request.scope  # noqa: B018
    if request.method != "POST" and "action" in query(request):
        # GFD.223 §3.7: an Action is invoked with POST. Another method with
        # ``?action=`` would otherwise act as if the query were not there (a
        # PUT replacing a Mixin's members, a DELETE deleting the entity).
        raise HTTPMethodNotAllowed(
            f"an Action is invoked with POST (GFD.223 §3.7), not {request.method}",
            headers={"Allow": "POST"},
        )
    return found


def claimed(request: Request) -> bool:
    """Whether the path is under another rendering's prefix."""
    found = request.registry.error_renderers.match(request.path_info)
    return found is not None and found[0] != "/"


class Unclaimed:
    """Route predicate ``occi_unclaimed=True``: the path is no other rendering's."""

    def __init__(self, value: bool, config: Configurator) -> None:
        self.value = value

    def text(self) -> str:
        """How Pyramid describes the predicate."""
        return f"occi_unclaimed = {self.value}"

    phash = text

    def __call__(self, info: dict[str, Any], request: Request) -> bool:
        return not self.value or not claimed(request)


def method_not_allowed(context: Target, request: Request) -> None:
    """Any method a context does not take: 405 with the ones it does (RFC 9110 §15.5.6)."""
    allowed = ALLOWED.get(type(context), ("GET", "HEAD"))
    raise HTTPMethodNotAllowed(
        f"{request.method} is not defined here (GFD.223 §3.6); use {', '.join(allowed)}",
        headers={"Allow": ", ".join(allowed)},
    )


def includeme(config: Configurator) -> None:
    """Add the routes (the catch-all last) and the 405 fallback views."""
    # GFD.223 §3.4.1: the query interface MUST be at /-/ and MAY be mirrored
    # at the RFC 5785 well-known location.
    config.add_route("occi.query", QUERY_PATHS[0], factory=query_interface)
    config.add_route("occi.query.wellknown", QUERY_PATHS[1], factory=query_interface)
    config.add_route_predicate("occi_unclaimed", Unclaimed)
    config.add_route("occi.namespace", "/*subpath", factory=namespace, occi_unclaimed=True)
    metrics = config.registry.metrics
    for route in ("occi.query", "occi.query.wellknown"):
        metrics.classify_route(route, {"query"}, _query_labels)
    # Kind terms (compute, storage, ..., and the abstract resource and link) and "mixin" for
    # every mixin's collection: the mixins' own terms are the tenants' and unbounded.
    kinds = {
        "resource",
        "link",
        "mixin",
        METER.term,
        *(table.term for table in KIND_TABLES.values()),
    }
    metrics.classify_route("occi.namespace", kinds, _metric_labels)
    for route in ("occi.query", "occi.query.wellknown", "occi.namespace"):
        # No predicates: Pyramid tries these last, after every view that matches
        # the method (views with more predicates are tried first).
        config.add_view(method_not_allowed, route_name=route)


__all__ = [
    "ALLOWED",
    "QUERY_PATHS",
    "Unclaimed",
    "claimed",
    "includeme",
    "method_not_allowed",
    "namespace",
    "query_interface",
]


def _query_labels(request: Request) -> tuple[str, str]:
    """The query interface's requests: read it, add or delete a mixin."""
    operation = {"GET": "read", "HEAD": "read", "POST": "add", "DELETE": "delete"}
    return "query", operation.get(request.method, "-")


def _metric_labels(request: Request) -> tuple[str, str]:
    """The OCCI kind and operation of a request, for the HTTP metrics' labels."""
    context = request.context
    method = request.method
    if isinstance(context, MeterCollection | MeterPath):
        read = "list" if isinstance(context, MeterCollection) else "read"
        return METER.term, read if method in ("GET", "HEAD") else "-"
    if isinstance(context, EntityPath):
        if method == "POST":
            operation = "action" if "action" in request.GET else "update"
        else:
            operation = {"GET": "read", "HEAD": "read", "PUT": "replace", "DELETE": "delete"}.get(
                method, "-"
            )
        return context.table.term, operation
    if isinstance(context, KindCollection | MixinCollection | UnboundCollection):
        if isinstance(context, KindCollection):
            kind = context.kind.term
        else:
            kind = "mixin" if isinstance(context, MixinCollection) else "resource"
        if method == "POST":
            operation = "action" if "action" in request.GET else "create"
        else:
            operation = {"GET": "list", "HEAD": "list", "PUT": "replace", "DELETE": "delete"}.get(
                method, "-"
            )
        return kind, operation
    return "-", "-"
