"""Concord's DMTF CIMI rendering (DSP0263; the 1.x wire form, see :mod:`cimi.resources`).

``config.include("cimi")`` serves it below ``/cimi/``: the Cloud Entry Point
at ``/cimi/cloudEntryPoint``, every Collection and resource below it, and
CIMI's error rendering for every path under ``/cimi``. The layers:

* :mod:`cimi.resources`: one declarative field table per CIMI resource type
  (wire names, types, access, XML order), the Collection and ``*Create``
  wrappers, and the registry that looks them up.
* :mod:`cimi.codec`: the generic JSON and XML codecs that walk those tables
  (both decode into, and encode from, the same neutral Python structure).
* :mod:`cimi.query`: the collection query parameters of DSP0263 4.1.6
  (``$filter``, ``$select``, ``$expand``, ``$orderby``, ``$first``/``$last``,
  ``$format``): parsers, an AST, and an in-memory evaluator.
* :mod:`cimi.schemas`: the JSON Schemas and the XSD under ``schemas/cimi``,
  compiled once; :mod:`cimi.schemagen` regenerates those files from the tables;
* :mod:`cimi.mapping`: the one place that maps engine objects to the neutral
  form and CIMI operations to engine calls;
* :mod:`cimi.views`: the thin Pyramid views (decode, one call, encode).

Import rule: ``cimi`` may import ``engine`` and ``concord``, never ``occi``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cimi.mapping import BINDINGS, route

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def includeme(config: Configurator) -> None:
    """Serve CIMI below ``/cimi/`` (needs ``concord.services`` for ``request.engine``)."""
    from cimi.views.errors import render_cimi_error
    from cimi.views.support import SPEC_VERSION

    # Order matters: the CEP and the redirects before the catch-all path.
    config.add_route("cimi.root", "/cimi")
    config.add_route("cimi.root.slash", "/cimi/")
    config.add_route("cimi.cep", "/cimi/cloudEntryPoint")
    config.add_route("cimi.path", "/cimi/*segments")
    config.add_view("cimi.views.cep.root", route_name="cimi.root.slash")
    config.registry.metrics.classify_route(
        "cimi.path", {b.type_name for b in BINDINGS}, _metric_labels
    )
    config.add_error_renderer("/cimi", render_cimi_error)
    # DSP0263 defines no product token; CIMI paths do not claim OCCI's.
    config.add_server_product("/cimi", "")
    config.add_interface(
        "org.dmtf.cimi",
        "/cimi/cloudEntryPoint",
        SPEC_VERSION,
        "basic,hmac,oidc",
        hosts_guests=True,
    )
    config.scan("cimi.views")


def _metric_labels(request: Request) -> tuple[str, str]:
    """The CIMI type and operation of a request, for the HTTP metrics' labels."""
    found = route(tuple(request.matchdict.get("segments", ())))
    if found is None:
        return "-", "-"
    binding, _ids, is_resource = found
    operation = {
        "GET": "read" if is_resource else "query",
        "HEAD": "read" if is_resource else "query",
        "POST": "action" if is_resource else "add",
        "PUT": "edit",
        "DELETE": "delete",
    }.get(request.method, "-")
    return binding.type_name, operation
