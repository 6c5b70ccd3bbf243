"""The Cloud Entry Point (DSP0263 5.12): the one URL a CIMI client needs.

``GET /cimi/cloudEntryPoint`` lists every Collection Concord serves, in spec
order, and accepts ``$select`` and ``$expand`` (``$expand=machines`` inlines
the Machine Collection, DTACLOUD-502). ``/cimi`` and ``/cimi/`` redirect to
it (301), as Deltacloud's ``/cimi/`` did. The CEP is not editable, so it
offers no ``edit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.httpexceptions import HTTPMethodNotAllowed, HTTPMovedPermanently
from pyramid.view import view_config

from cimi.errors import QueryError
from cimi.mapping import SERVED, cloud_entry_point
from cimi.query import check_query, parse_query, project
from cimi.resources import table
from cimi.views.query import expanded
from cimi.views.support import check_version, context, links, media_type, represent

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

CEP = table("CloudEntryPoint")


@view_config(route_name="cimi.cep", request_method="GET")
def read_cep(request: Request) -> Response:
    """GET the CloudEntryPoint."""
    check_version(request)
    media_type(request)
    ctx = context(request)
    query = parse_query(request.GET.items())
    if query.filter is not None or query.orderby or query.first or query.last is not None:
        raise QueryError("$filter, $orderby, $first and $last apply to Collections only")
    check_query(query, CEP)
    value = cloud_entry_point(ctx, SERVED)
    if query.expand.all or query.expand.names:
        value = expanded(ctx, value, CEP, query.expand)
    return represent(request, CEP, project(value, query.select))


@view_config(route_name="cimi.cep")
def other_on_cep(request: Request) -> Response:
    """The CloudEntryPoint is read-only here."""
    raise HTTPMethodNotAllowed("the Cloud Entry Point is read-only", headers={"Allow": "GET"})


@view_config(route_name="cimi.root")
def root(request: Request) -> Response:
    """``/cimi`` and ``/cimi/``: a permanent redirect to the CloudEntryPoint."""
    raise HTTPMovedPermanently(location=links(request).cep)


__all__ = ["other_on_cep", "read_cep", "root"]
