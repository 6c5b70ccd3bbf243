"""``GET /federation/sites``: a federation registry answers which member sites suit a guest.

``?image=ID_OR_NAME`` lists the members offering that image (by its global
id or its name); ``?vcpus=N&memory_mib=M[&share=VO]`` those offering an
instance type at least that large (and, with ``share``, whose share for that
virtual organisation has room). Any signed-in user may ask: the answer names
sites, their endpoints and the matching images or instance types, from the
members' public GLUE documents, never a project's figures.

``GET /federation/members`` is the registry's aggregated view, for root
administrators (the documents name every project with its quota and usage):
each member's last GLUE document, each OCCI and CIMI endpoint's
``HealthState`` and ``HealthStateInfo`` replaced by the registry's own latest
probe of it (the monitoring plane, :mod:`engine.federation.monitoring`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pyramid.response import Response
from pyramid.view import view_config

from engine.errors import InvalidInput
from engine.federation.monitoring import MonitorService
from engine.federation.registry import RegistryService

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


def _count(request: Request, name: str) -> int:
    raw = request.GET.get(name, "0")
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"{name} must be a whole number", field=name)
    return int(raw)


@view_config(route_name="federation.sites", request_method="GET")
def sites_view(request: Request) -> Response:
    """The member sites offering ``?image=``, or with room for ``?vcpus=&memory_mib=``,
    with each endpoint's health (the registry's latest probe, else the site's own word)."""
    request.scope  # noqa: B018 (signed-in users only: authenticates, or answers 401)
    registry = RegistryService(request.dbsession, request.registry.server_keys)
    image = request.GET.get("image")
    if image is not None:
        found = registry.sites_offering_image(image)
    elif "vcpus" in request.GET or "memory_mib" in request.GET:
        found = registry.sites_with_room(
            _count(request, "vcpus"), _count(request, "memory_mib"), request.GET.get("share")
        )
    else:
        raise InvalidInput("ask for ?image=ID_OR_NAME, or ?vcpus=N&memory_mib=M[&share=VO]")
    body = {
        "sites": [
            {
                "site": match.site,
                "matches": list(match.matches),
                "endpoints": match.endpoints,
                "health": {
                    interface: {"state": state, "info": info}
                    for interface, (state, info) in match.health.items()
                },
                "read": match.fetched.isoformat() if match.fetched else None,
            }
            for match in found
        ]
    }
    return Response(json.dumps(body), content_type="application/json", charset="utf-8")


@view_config(route_name="federation.members", request_method="GET")
def members_view(request: Request) -> Response:
    """Every member's last GLUE document, with the endpoints' health the registry observed."""
    monitoring = MonitorService(request.dbsession, request.registry.server_keys)
    body = {
        "members": [
            {
                "site": member.name,
                "glue_url": member.glue_url,
                "read": member.fetched.isoformat() if member.fetched else None,
                "error": member.error,
                "document": document,
            }
            for member, document in monitoring.documents_with_health(request.scope)
        ]
    }
    return Response(json.dumps(body), content_type="application/json", charset="utf-8")


def includeme(config: Configurator) -> None:
    """Add the ``/federation/sites`` and ``/federation/members`` routes."""
    config.add_route("federation.sites", "/federation/sites")
    config.add_route("federation.members", "/federation/members")
    config.scan("federation.registry")
