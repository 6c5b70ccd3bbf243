"""The OGF OCCI 1.2 rendering of the engine.

``includeme`` registers the server's categories (GFD.224 over GFD.221), the
``request.occi`` service (:class:`occi.mapping.OcciService`), the routes of
the OCCI namespace, the views and OCCI's error rendering. It imports
``concord`` and ``engine`` only, never ``cimi``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from concord.request import add_request_property
from occi.categories import infrastructure_registry, placement, usage
from occi.mapping import OcciContext, OcciService
from occi.mapping.templates import HA
from occi.schemas import compile_all

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def occi_service(request: Request) -> OcciService:
    """``request.occi``: OCCI over the engine for this request (authenticates)."""
    context = OcciContext(
        engine=request.engine,
        scope=request.scope,
        base_url=request.public_url,
        static=request.registry.occi_categories,
    )
    return OcciService(context)


def includeme(config: Configurator) -> None:
    """Wire the OCCI rendering into the app (``concord.services`` must be included first)."""
    categories = infrastructure_registry()
    categories.add(HA)  # Concord's own Mixin (occi.mapping.templates)
    categories.extend(placement.MIXINS)  # Concord's placement groups (occi.categories.placement)
    categories.extend(usage.KINDS)  # Concord's usage meters (occi.categories.usage)
    config.registry.occi_categories = categories
    # The JSON Schemas are compiled once, at start-up, not on the first request.
    compile_all()
    add_request_property(config, occi_service, "occi")
    config.include("occi.errors")
    config.include("occi.views.namespace")
    # The interface name EGI's registry (GOCDB) gives OCCI endpoints.
    config.add_interface(
        "eu.egi.cloud.vm-management.occi",
        "/",
        "1.2",
        "basic,hmac,oidc,keystone",
        hosts_guests=True,
    )
    config.scan("occi.views")
