"""The site's GLUE 2.1 JSON document: ``GET /federation/glue`` and ``concord federation glue``.

GLUE 2.1 (OGF GFD.147 and its cloud-computing extension) is how a federated
cloud site describes itself to the federation's information system; EGI's
cloud-info-provider publishes it as JSON: an object whose members are GLUE
class names (``CloudComputingService``, ``CloudComputingManager``,
``CloudComputingEndpoint``, ``CloudComputingImage``,
``CloudComputingInstanceType``, ``Share``), each a list of objects with the
GLUE attribute names. :data:`CLASSES` maps each class's attributes to the
neutral values of :func:`engine.federation.site.describe_site`, one table
per class, and :func:`render` applies them; nothing else writes GLUE.

The document is for the federation's registry, not for tenants: it names
every project (virtual organisation) with its quota and usage, so it is
served to root administrators (``curl -u admin:PASSWORD
<site>/federation/glue``) and to the federation's registry, which presents the
``glue_token`` setting as a bearer token.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyramid.response import Response
from pyramid.view import view_config

from concord import __version__
from concord.errors import render_generic
from engine.errors import PermissionDenied
from engine.federation.site import (
    Endpoint,
    SiteDescription,
    describe_site,
    guest_hosting_health,
)

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

    from concord.interfaces import Interface

#: How long a published document may be trusted, in seconds (cloud-info-provider's 12 hours).
VALIDITY = 12 * 3600
#: GLUE's capabilities of a cloud IaaS service (cloud-info-provider's defaults).
SERVICE_CAPABILITIES = ["executionmanagement.dynamicvmdeploy", "security.accounting"]

Getter = Callable[[Any, SiteDescription], Any]


@dataclass(frozen=True)
class GlueClass:
    """How one GLUE class is drawn: its objects, their ids and names, and an attribute table.

    :param objects: the neutral values to draw, from the site description.
    :param ident: the GLUE ``ID`` of one object.
    :param attributes: GLUE attribute name -> value of one object; None is left out.
    :param associations: GLUE class name -> the ids an object is associated with.
    """

    objects: Callable[[SiteDescription], Sequence[Any]]
    ident: Getter
    name: Getter
    attributes: dict[str, Getter]
    associations: Callable[[Any, SiteDescription], dict[str, list[str]]]


def _service_id(site: SiteDescription) -> str:
    return f"{site.name}_CloudComputingService"


def _manager_id(site: SiteDescription) -> str:
    return f"{site.name}_CloudComputingManager"


def _in_service(_obj: Any, site: SiteDescription) -> dict[str, list[str]]:
    return {"CloudComputingService": [_service_id(site)]}


def _in_manager(_obj: Any, site: SiteDescription) -> dict[str, list[str]]:
    return {"CloudComputingManager": [_manager_id(site)]}


CLASSES: dict[str, GlueClass] = {
    "CloudComputingService": GlueClass(
        objects=lambda site: [site],
        ident=lambda _s, site: _service_id(site),
        name=lambda _s, site: site.name,
        attributes={
            "Type": lambda _s, _site: "org.cloud.iaas",
            "QualityLevel": lambda _s, _site: "production",
            "StatusInfo": lambda _s, site: site.endpoints[0].url if site.endpoints else site.name,
            "Capability": lambda _s, _site: SERVICE_CAPABILITIES,
            "TotalVM": lambda _s, site: site.vms.total,
            "RunningVM": lambda _s, site: site.vms.running,
            "SuspendedVM": lambda _s, site: site.vms.suspended,
            "HaltedVM": lambda _s, site: site.vms.halted,
        },
        associations=lambda _s, site: {
            "CloudComputingManager": [_manager_id(site)],
            "CloudComputingEndpoint": [f"{site.name}_{e.interface}" for e in site.endpoints],
        },
    ),
    "CloudComputingManager": GlueClass(
        objects=lambda site: [site],
        ident=lambda _s, site: _manager_id(site),
        name=lambda _s, site: f"{site.name} manager",
        attributes={
            "ProductName": lambda _s, _site: "Concord",
            "ProductVersion": lambda _s, site: site.product_version,
            "HypervisorName": lambda _s, site: site.hypervisor,
            "TotalCPUs": lambda _s, site: site.total_cpus,
            "TotalRAM": lambda _s, site: site.total_memory_mib,
            "InstanceMaxCPU": lambda _s, site: site.limits.get("instance_max_cpu"),
            "InstanceMinCPU": lambda _s, site: site.limits.get("instance_min_cpu"),
            "InstanceMaxRAM": lambda _s, site: site.limits.get("instance_max_ram"),
            "InstanceMinRAM": lambda _s, site: site.limits.get("instance_min_ram"),
            "ManagerVirtualdiskFormat": lambda _s, _site: "raw",
        },
        associations=_in_service,
    ),
    "CloudComputingEndpoint": GlueClass(
        objects=lambda site: site.endpoints,
        ident=lambda e, site: f"{site.name}_{e.interface}",
        name=lambda e, site: f"{site.name} {e.interface}",
        attributes={
            "URL": lambda e, _site: e.url,
            "InterfaceName": lambda e, _site: e.interface,
            "InterfaceVersion": lambda e, _site: e.version,
            "HealthState": lambda e, _site: e.health,
            "HealthStateInfo": lambda e, _site: e.health_info,
            "ServingState": lambda _e, _site: "production",
            "QualityLevel": lambda _e, _site: "production",
            "Technology": lambda _e, _site: "webservice",
            "Implementor": lambda _e, _site: "Concord",
            "ImplementationName": lambda _e, _site: "Concord",
            "ImplementationVersion": lambda _e, site: site.product_version,
            "Authentication": lambda e, _site: e.authentication,
        },
        associations=_in_service,
    ),
    "CloudComputingImage": GlueClass(
        objects=lambda site: site.images,
        ident=lambda i, site: f"{site.name}_image_{i.id}",
        name=lambda i, _site: i.name,
        attributes={
            "MarketplaceURL": lambda i, _site: i.global_id,
            "OSPlatform": lambda i, _site: i.arch,
            "OSName": lambda i, _site: i.os_name or i.os_type,
            "OSVersion": lambda i, _site: i.os_version,
            "Description": lambda i, _site: i.description,
            "AccessInfo": lambda _i, _site: "none",
        },
        associations=_in_manager,
    ),
    "CloudComputingInstanceType": GlueClass(
        objects=lambda site: site.instance_types,
        ident=lambda t, site: f"{site.name}_instance_type_{t.id}",
        name=lambda t, _site: t.name,
        attributes={
            "Platform": lambda _t, _site: "amd64",
            "CPU": lambda t, _site: t.vcpus,
            "RAM": lambda t, _site: t.memory_mib,
            "Disk": lambda t, _site: t.disk_gib,
            "NetworkIn": lambda _t, _site: "UNKNOWN",
            "NetworkOut": lambda _t, _site: True,
        },
        associations=_in_manager,
    ),
    "Share": GlueClass(
        objects=lambda site: site.shares,
        ident=lambda s, site: f"{site.name}_share_{s.project_id}",
        name=lambda s, _site: s.name,
        attributes={
            "ProjectID": lambda s, _site: s.project_id,
            "MaxVM": lambda s, _site: s.max_vm,
            "TotalVM": lambda s, _site: s.vms.total,
            "RunningVM": lambda s, _site: s.vms.running,
            "SuspendedVM": lambda s, _site: s.vms.suspended,
            "HaltedVM": lambda s, _site: s.vms.halted,
            "InstanceMaxCPU": lambda _s, site: site.limits.get("instance_max_cpu"),
            "InstanceMaxRAM": lambda _s, site: site.limits.get("instance_max_ram"),
        },
        associations=_in_service,
    ),
}


def render(site: SiteDescription) -> dict[str, list[dict[str, Any]]]:
    """The GLUE 2.1 JSON document of ``site`` (see :data:`CLASSES`)."""
    document: dict[str, list[dict[str, Any]]] = {}
    for class_name, glue in CLASSES.items():
        drawn = []
        for obj in glue.objects(site):
            entry: dict[str, Any] = {
                "ID": glue.ident(obj, site),
                "Validity": VALIDITY,
                "CreationTime": site.generated.isoformat(),
                "Name": glue.name(obj, site),
                "Associations": glue.associations(obj, site),
            }
            for attribute, getter in glue.attributes.items():
                value = getter(obj, site)
                if value is not None:
                    entry[attribute] = value
            drawn.append(entry)
        document[class_name] = drawn
    return document


def endpoints(
    public_url: str, interfaces: Sequence[Interface], hosting: tuple[str, str]
) -> list[Endpoint]:
    """One endpoint per interface the server declared, at the public URL.

    Their health is this server's own view: it is answering, and an
    interface guests are created through is as healthy as ``hosting`` (the
    site's hosts, :func:`engine.federation.site.guest_hosting_health`). The
    federation's monitoring, when it runs, has the outside view.
    """
    return [
        Endpoint(
            interface=interface.name,
            url=public_url + interface.path,
            version=interface.version,
            health=hosting[0] if interface.hosts_guests else "ok",
            health_info=hosting[1] if interface.hosts_guests else "answered by the site itself",
            authentication=interface.authentication,
        )
        for interface in interfaces
    ]


def site_document(
    session: Any, site_name: str, public_url: str, interfaces: Sequence[Interface]
) -> dict[str, Any]:
    """Describe the site from the engine and render it (the view and the CLI share this)."""
    served = endpoints(public_url, interfaces, guest_hosting_health(session))
    return render(describe_site(session, site_name, __version__, served))


def _registry_token(request: Request) -> bool:
    """True when the request carries the ``glue_token`` a registry was given."""
    token = request.registry.concord_settings.glue_token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")
        )
    )


@view_config(route_name="federation.glue", request_method="GET")
def glue_view(request: Request) -> Response:
    """The site's GLUE 2.1 document, for root administrators and the registry's token."""
    if not _registry_token(request) and not request.scope.is_root_admin:
        raise PermissionDenied("the site's GLUE document is served to root administrators")
    document = site_document(
        request.dbsession,
        request.registry.concord_settings.site_name,
        request.public_url,
        request.registry.interfaces,
    )
    return Response(json.dumps(document), content_type="application/json", charset="utf-8")


def includeme(config: Configurator) -> None:
    """Add the ``/federation/glue`` route."""
    config.add_route("federation.glue", "/federation/glue")
    # Claims /federation from OCCI's catch-all, and answers its errors in JSON.
    config.add_error_renderer("/federation", render_generic)
    config.scan("federation.glue")
