"""Site discovery: what this site offers, as the federation's information system describes a site.

A federation's registry asks each site what it is: its service and the
endpoints it answers on, its size, the images and instance types it offers,
and each virtual organisation's share (quota and usage). The GLUE 2.1 model
(OGF GFD.147, and its cloud extension of 2020 that EGI's cloud-info-provider
publishes) names these objects; :func:`describe_site` gathers them from the
engine in neutral values, and the federation wing renders them as a GLUE 2.1
JSON document.

Only what is public leaves the site: public images and offerings, sizes and
counts; a share names the project (the virtual organisation) and its numbers,
never its members or its resources.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.models import ComputeOffering, Image
from engine.compute.models import Compute
from engine.db import utcnow
from engine.inventory.models import AllocationState, Host, HostState, Zone
from engine.lifecycle import State
from engine.tenancy.models import LimitOwner, Project, ResourceType, TenantState
from engine.tenancy.quotas import QuotaService

#: Compute states a GLUE share or service counts as running, suspended or halted.
RUNNING = frozenset(
    {State.RUNNING, State.STOPPING, State.RESTARTING, State.PAUSING, State.SUSPENDING}
)
SUSPENDED = frozenset({State.PAUSED, State.SUSPENDED, State.RESUMING})
HALTED = frozenset({State.STOPPED, State.STARTING})


@dataclass(frozen=True)
class Endpoint:
    """One interface the site answers on.

    :param interface: its interface name as the federation knows it.
    :param url: where.
    :param version: the interface's version.
    :param health: ``ok``, ``warning``, ``critical``, ``unknown``...
    :param health_info: why.
    :param authentication: the schemes accepted, e.g. ``basic,oidc``.
    """

    interface: str
    url: str
    version: str
    health: str = "ok"
    health_info: str | None = None
    authentication: str | None = None


@dataclass(frozen=True)
class VmCounts:
    """How many guests exist, and how many run, are suspended or halted."""

    total: int = 0
    running: int = 0
    suspended: int = 0
    halted: int = 0


@dataclass(frozen=True)
class ImageInfo:
    """A public image (an OCCI os_tpl, a CIMI MachineImage).

    :param global_id: its id across the federation (a marketplace URI), if any.
    """

    id: str
    name: str
    os_type: str
    arch: str
    global_id: str | None
    os_name: str | None
    os_version: str | None
    description: str | None


@dataclass(frozen=True)
class InstanceType:
    """A public compute offering (an OCCI resource_tpl, a CIMI MachineConfiguration)."""

    id: str
    name: str
    vcpus: int
    memory_mib: int
    disk_gib: int


@dataclass(frozen=True)
class Share:
    """A project's (a virtual organisation's) slice of the site.

    :param max_vm: its guest limit (None: unlimited).
    """

    project_id: str
    name: str
    max_vm: int | None
    vms: VmCounts


@dataclass(frozen=True)
class SiteDescription:
    """Everything :func:`describe_site` found, in neutral values."""

    name: str
    product_version: str
    generated: dt.datetime
    vms: VmCounts
    total_cpus: int
    total_memory_mib: int
    hypervisor: str
    endpoints: tuple[Endpoint, ...]
    images: tuple[ImageInfo, ...]
    instance_types: tuple[InstanceType, ...]
    shares: tuple[Share, ...]
    limits: dict[str, int | None] = field(default_factory=dict)


def _counts(states: Sequence[str]) -> VmCounts:
    live = [s for s in states if s not in (State.DELETED, State.DELETING)]
    return VmCounts(
        total=len(live),
        running=sum(1 for s in live if s in RUNNING),
        suspended=sum(1 for s in live if s in SUSPENDED),
        halted=sum(1 for s in live if s in HALTED),
    )


def guest_hosting_health(session: Session) -> tuple[str, str]:
    """The GLUE health of the site's guest interfaces (OCCI, CIMI), from the inventory.

    The endpoint answers (it is this server), so it is never ``critical``
    here; but an endpoint whose site has no host to take a guest would
    accept a creation it cannot carry out: ``warning``, saying why. The
    federation's monitoring gives the outside view (engine.federation.monitoring).

    :returns: ``(state, why)``: ``ok`` or ``warning``.
    """
    hosts, taking = session.execute(
        sa.select(
            sa.func.count(Host.id),
            # A CASE, not FILTER: MariaDB has no aggregate FILTER clause.
            sa.func.coalesce(
                sa.func.sum(
                    sa.case(
                        (
                            sa.and_(
                                Host.state == HostState.UP,
                                Host.allocation_state == AllocationState.ENABLED,
                                Zone.allocation_state == AllocationState.ENABLED,
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).outerjoin(Zone, Host.zone_id == Zone.id)
    ).one()
    if not hosts:
        return "warning", "answered by the site itself, but it has no host to run guests on"
    if not taking:
        return "warning", (
            f"answered by the site itself, but none of its {hosts} hosts takes guests now "
            "(down, disabled or in maintenance)"
        )
    return "ok", f"answered by the site itself; {taking} of its {hosts} hosts take guests"


def describe_site(
    session: Session, name: str, product_version: str, endpoints: Sequence[Endpoint]
) -> SiteDescription:
    """Describe this site for the federation's information system.

    :param name: the site's name in the federation.
    :param product_version: Concord's version.
    :param endpoints: the interfaces the site answers on (the HTTP edge knows them).
    """
    states_by_project: dict[str | None, list[str]] = {}
    for project_id, state in session.execute(sa.select(Compute.project_id, Compute.state)):
        states_by_project.setdefault(project_id, []).append(state)
    every_state = [s for states in states_by_project.values() for s in states]
    hosts = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Host.cpu_cores), 0),
            sa.func.coalesce(sa.func.sum(Host.memory_mib), 0),
        )
    ).one()
    hypervisors = sorted(set(session.scalars(sa.select(Host.hypervisor_type))))
    images = session.scalars(
        sa.select(Image)
        .where(Image.account_id.is_(None), Image.state == State.AVAILABLE)
        .order_by(Image.name)
    )
    offerings = list(
        session.scalars(
            sa.select(ComputeOffering)
            .where(ComputeOffering.account_id.is_(None))
            .order_by(ComputeOffering.vcpus, ComputeOffering.memory_mib, ComputeOffering.name)
        )
    )
    quotas = QuotaService(session)
    shares = []
    for project in session.scalars(
        sa.select(Project).where(Project.state == TenantState.ENABLED).order_by(Project.name)
    ):
        limit = quotas.effective_limit(LimitOwner.PROJECT, project.id, ResourceType.INSTANCES)
        shares.append(
            Share(
                project_id=project.id,
                name=project.name,
                max_vm=None if limit < 0 else limit,
                vms=_counts(states_by_project.get(project.id, [])),
            )
        )
    return SiteDescription(
        name=name,
        product_version=product_version,
        generated=utcnow(),
        vms=_counts(every_state),
        total_cpus=int(hosts[0]),
        total_memory_mib=int(hosts[1]),
        hypervisor=",".join(hypervisors) or "none",
        endpoints=tuple(endpoints),
        images=tuple(
            ImageInfo(
                id=image.id,
                name=image.name,
                os_type=image.os_type,
                arch=image.arch,
                global_id=_text(image.properties.get("mpuri")),
                os_name=_text(image.properties.get("os_name")),
                os_version=_text(image.properties.get("os_version")),
                description=image.description,
            )
            for image in images
        ),
        instance_types=tuple(
            InstanceType(o.id, o.name, o.vcpus, o.memory_mib, o.root_disk_gib) for o in offerings
        ),
        shares=tuple(shares),
        limits={
            "instance_min_cpu": min((o.vcpus for o in offerings), default=None),
            "instance_max_cpu": max((o.vcpus for o in offerings), default=None),
            "instance_min_ram": min((o.memory_mib for o in offerings), default=None),
            "instance_max_ram": max((o.memory_mib for o in offerings), default=None),
        },
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
