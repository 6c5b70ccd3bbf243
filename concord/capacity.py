"""``GET /capacity``: the capacity report as JSON, for root administrators.

The operator's HTTP view of what ``concord capacity`` prints
(:mod:`engine.allocation.report`): per zone, pod, cluster, host and storage
pool, the total, over-provisioned limit, allocated, used, HA-reserved and
free vCPUs, memory and storage. It belongs to neither standard, so it is
answered in plain JSON; ``?zone=NAME`` limits it to one zone. Anyone else
gets the engine's 403 (signed-in users) or 401 (anonymous) as JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pyramid.response import Response
from pyramid.view import view_config

from engine.allocation.report import capacity_report
from engine.compute.state import running_sizes_by_host
from engine.errors import PermissionDenied
from engine.inventory.service import InventoryService

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request


@view_config(route_name="concord.capacity", request_method="GET")
def capacity_view(request: Request) -> Response:
    """The capacity report of every zone, or of ``?zone=NAME``."""
    scope = request.scope
    if not scope.is_root_admin:  # before reading the zone: no existence oracle
        raise PermissionDenied("capacity is reported to root administrators")
    session = request.dbsession
    zone_name = request.GET.get("zone")
    zone_id = (
        InventoryService(session, request.registry.drivers).find_zone(scope, zone_name).id
        if zone_name
        else None
    )
    report = capacity_report(session, scope, running_sizes_by_host(session), zone_id=zone_id)
    body = json.dumps({"capacity": [item.as_dict() for item in report]})
    return Response(body, content_type="application/json", charset="utf-8")


def includeme(config: Configurator) -> None:
    """Add the ``/capacity`` route."""
    config.add_route("concord.capacity", "/capacity")
    config.scan("concord.capacity")
