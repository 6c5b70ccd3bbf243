"""Infrastructure commands: zones, pods, clusters, hosts and storage pools.

Like the other administration commands they act as the system scope (a root
administrator). Hosts are opened through libvirt from this process: for a
``test:///`` host that is a private simulated host, which is fine for reading
its size, the only thing ``host add`` needs.
"""

from __future__ import annotations

import argparse

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.cli import ha as ha_cli
from concord.cli import maintenance
from concord.cli.context import CommandError, Context, inventory_service, print_table
from concord.cli.groups import find_group
from concord.cli.operator import Names, guests_on
from engine.allocation.allocators import DEFAULT_ALLOCATOR
from engine.allocation.requests import ComputeRequest
from engine.allocation.service import AllocationService
from engine.compute.groups import live_member_hosts
from engine.ha.returning import check_no_open_item, prepare_return
from engine.inventory.capacity import pool_limit
from engine.inventory.models import AllocationState, Cluster, Host, HostState, Zone
from engine.inventory.service import InventoryService, first_enabled_zone
from engine.scope import Scope
from engine.tenancy.models import Account

GIB = 1024**3


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the zone, pod, cluster, host and pool sub-commands."""
    zone = sub.add_parser("zone", help="manage zones").add_subparsers(dest="action", required=True)
    p = zone.add_parser("create", help="create a zone")
    p.add_argument("name")
    p.add_argument("--description")
    p.set_defaults(handler=zone_create)
    zone.add_parser("list", help="list zones").set_defaults(handler=zone_list)
    for verb in ("enable", "disable"):
        p = zone.add_parser(verb, help=f"{verb} new placements in a zone")
        p.add_argument("name")
        p.set_defaults(handler=zone_allocation, verb=verb)

    pod = sub.add_parser("pod", help="manage pods").add_subparsers(dest="action", required=True)
    p = pod.add_parser("create", help="create a pod in a zone")
    p.add_argument("name")
    p.add_argument("--zone", required=True)
    p.set_defaults(handler=pod_create)
    pod.add_parser("list", help="list pods").set_defaults(handler=pod_list)

    cluster = sub.add_parser("cluster", help="manage clusters").add_subparsers(
        dest="action", required=True
    )
    p = cluster.add_parser("create", help="create a cluster in a pod")
    p.add_argument("name")
    p.add_argument("--pod", required=True)
    p.add_argument("--zone", required=True)
    p.add_argument("--hypervisor", help="hypervisor type (default: the first host's)")
    for resource, default in (("cpu", 1.0), ("memory", 1.0), ("storage", 2.0)):
        p.add_argument(
            f"--{resource}-overprovisioning",
            type=float,
            default=default,
            metavar="F",
            help=f"{resource} over-provisioning factor (default {default})",
        )
    p.set_defaults(handler=cluster_create)
    cluster.add_parser("list", help="list clusters").set_defaults(handler=cluster_list)

    host = sub.add_parser("host", help="manage hypervisor hosts").add_subparsers(
        dest="action", required=True
    )
    p = host.add_parser("add", help="add a host by libvirt URI; reads its size from libvirt")
    p.add_argument("uri", help="e.g. qemu+ssh://node1/system or test:///path/node.xml")
    p.add_argument("--cluster", required=True)
    p.add_argument("--pod", help="the cluster's pod, if several pods have that cluster name")
    p.add_argument("--zone", help="the cluster's zone, likewise")
    p.add_argument("--name", help="name in Concord (default: the host's hostname)")
    p.add_argument("--tag", action="append", default=[], help="host tag (repeatable)")
    p.set_defaults(handler=host_add)
    p = host.add_parser("list", help="list hosts with their capacity")
    p.add_argument("--zone")
    p.add_argument(
        "--explain",
        action="store_true",
        help="say, for each host, whether a guest of --vcpus and --memory-mib may go there, "
        "and if not why (in --zone, by default the first enabled zone)",
    )
    p.add_argument("--vcpus", type=int, default=1, help="with --explain: the guest's vCPUs")
    p.add_argument("--memory-mib", type=int, default=512, help="with --explain: the guest's memory")
    p.add_argument(
        "--tag", action="append", default=[], help="with --explain: a host tag it requires"
    )
    p.add_argument("--account", help="with --explain: its owner's account, for dedications")
    p.add_argument(
        "--group", help="with --explain and --account: the placement group it would join"
    )
    p.add_argument("--project", help="with --group: the project the group was made in")
    p.set_defaults(handler=host_list)
    for verb, text in (
        ("enable", "bring a host back up and accept new guests"),
        ("disable", "stop placing new guests on a host"),
        ("refresh", "re-read a host's size and pools from libvirt"),
        ("remove", "forget a host that has no guests"),
    ):
        p = host.add_parser(verb, help=text)
        p.add_argument("name")
        p.set_defaults(handler=host_action, verb=verb)
    maintenance.add_parser(host)

    ha_cli.add_host_parsers(host)

    pool = sub.add_parser("pool", help="manage primary storage pools").add_subparsers(
        dest="action", required=True
    )
    p = pool.add_parser(
        "share", help="register a libvirt pool every host of a cluster defines as shared"
    )
    p.add_argument("pool_name", help="the pool's name in libvirt, the same on every host")
    p.add_argument("--cluster", required=True)
    p.add_argument("--pod", help="the cluster's pod, if several pods have that cluster name")
    p.add_argument("--zone", help="the cluster's zone, likewise")
    p.add_argument("--name", help="name in Concord (default: <cluster>/<pool>)")
    p.add_argument("--tag", action="append", default=[], help="storage tag (repeatable)")
    p.set_defaults(handler=pool_share)
    pool.add_parser("list", help="list storage pools with their use").set_defaults(
        handler=pool_list
    )


# -- zones, pods, clusters ----------------------------------------------------------


def zone_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        zone = inventory_service(session).create_zone(system, args.name, args.description)
    print(f"created zone {zone.name} ({zone.id})")


def zone_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "name": z.name,
                "allocation": z.allocation_state.value,
                "allocator": z.allocator or DEFAULT_ALLOCATOR,
                "description": z.description or "",
                "id": z.id,
            }
            for z in inventory_service(session).list_zones(system)
        ]
    print_table(rows, ["name", "allocation", "allocator", "description", "id"])


def zone_allocation(ctx: Context, args: argparse.Namespace) -> None:
    state = AllocationState.ENABLED if args.verb == "enable" else AllocationState.DISABLED
    with ctx.system() as (session, system):
        inventory = inventory_service(session)
        inventory.set_zone_allocation(system, inventory.find_zone(system, args.name).id, state)
    print(f"zone {args.name} is now {state.value}")


def pod_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        inventory = inventory_service(session)
        pod = inventory.create_pod(system, inventory.find_zone(system, args.zone).id, args.name)
    print(f"created pod {pod.name} in zone {args.zone} ({pod.id})")


def pod_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "zone": p.zone.name,
                "name": p.name,
                "allocation": p.allocation_state.value,
                "id": p.id,
            }
            for p in inventory_service(session).list_pods(system)
        ]
    print_table(rows, ["zone", "name", "allocation", "id"])


def cluster_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        inventory = inventory_service(session)
        pod = inventory.find_pod(system, inventory.find_zone(system, args.zone).id, args.pod)
        cluster = inventory.create_cluster(
            system,
            pod.id,
            args.name,
            hypervisor_type=args.hypervisor,
            cpu_overprovisioning=args.cpu_overprovisioning,
            memory_overprovisioning=args.memory_overprovisioning,
            storage_overprovisioning=args.storage_overprovisioning,
        )
    print(f"created cluster {cluster.name} in pod {args.pod} ({cluster.id})")


def cluster_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "zone": c.pod.zone.name,
                "pod": c.pod.name,
                "name": c.name,
                "hypervisor": c.hypervisor_type or "-",
                "cpu_x": c.cpu_overprovisioning,
                "memory_x": c.memory_overprovisioning,
                "storage_x": c.storage_overprovisioning,
                "allocation": c.allocation_state.value,
                "id": c.id,
            }
            for c in inventory_service(session).list_clusters(system)
        ]
    print_table(
        rows,
        ["zone", "pod", "name", "hypervisor", "cpu_x", "memory_x", "storage_x", "allocation", "id"],
    )


# -- hosts ---------------------------------------------------------------------------


def _cluster_of(inventory: InventoryService, system: Scope, args: argparse.Namespace) -> Cluster:
    zone_id = inventory.find_zone(system, args.zone).id if args.zone else None
    pod_id = None
    if args.pod:
        if zone_id is None:
            raise CommandError("--pod needs --zone (pod names are unique per zone)")
        pod_id = inventory.find_pod(system, zone_id, args.pod).id
    return inventory.find_cluster(system, args.cluster, pod_id=pod_id, zone_id=zone_id)


def host_add(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        inventory = inventory_service(session)
        cluster = _cluster_of(inventory, system, args)
        host = inventory.add_host(
            system,
            cluster.id,
            args.uri,
            name=args.name,
            tags=args.tag,
            progress=lambda line: print(line, flush=True),
        )
        name = host.name
    print(f"host {name} is up")


def host_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        inventory = inventory_service(session)
        zone_id = inventory.find_zone(system, args.zone).id if args.zone else None
        rows: list[dict[str, object]] = [
            {
                "name": c.host.name,
                "cluster": c.host.cluster.name,
                "state": c.host.state.value,
                "allocation": c.host.allocation_state.value,
                "vcpus": f"{c.vcpus_allocated}/{c.vcpus_total}",
                "memory_mib": f"{c.memory_allocated_mib}/{c.memory_total_mib}",
                "storage_gib": f"{c.storage_allocated_bytes // GIB}/{c.storage_total_bytes // GIB}",
                "tags": c.host.tags or "-",
                "uri": c.host.uri,
            }
            for c in inventory.host_capacities(system, zone_id=zone_id)
        ]
        columns = [
            "name",
            "cluster",
            "state",
            "allocation",
            "vcpus",
            "memory_mib",
            "storage_gib",
            "tags",
            "uri",
        ]
        if args.explain:
            verdicts = explain_placement(session, system, args, zone_id)
            for row in rows:
                row["placement"] = verdicts.get(str(row["name"]), NOT_A_CANDIDATE)
            columns.insert(4, "placement")
    print_table(rows, columns)


#: Why a host that placement does not even consider is left out.
NOT_A_CANDIDATE = "no: not up, or it, its cluster, pod or zone is disabled (or another zone)"


def explain_placement(
    session: Session, system: Scope, args: argparse.Namespace, zone_id: str | None
) -> dict[str, str]:
    """``ok`` or ``no: why`` for each candidate host of the zone, by host name."""
    zone = session.get(Zone, zone_id) if zone_id else first_enabled_zone(session)
    if zone is None:
        raise CommandError("no enabled zone to explain placement in; give --zone")
    account = None
    if args.account:
        account = session.scalar(sa.select(Account).where(Account.name == args.account))
        if account is None:
            raise CommandError(f"no account {args.account!r}")
    group, group_hosts = None, frozenset[str]()
    if args.group:
        if not args.account:
            raise CommandError("--group needs --account (a group is named within its owner's)")
        group = find_group(session, args.group, args.account, args.project)
        # Read, not claimed: explaining places nothing.
        group_hosts = frozenset(h for h in live_member_hosts(session, group.id) if h)
    request = ComputeRequest(
        zone.id,
        args.vcpus,
        args.memory_mib,
        host_tags=frozenset(args.tag),
        account_id=account.id if account else None,
        domain_id=account.domain_id if account else None,
        group_policy=group.policy.value if group else None,
        group_hosts=group_hosts,
        group_name=group.name if group else None,
    )
    return {
        host.name: "ok" if why is None else f"no: {why}"
        for host, why in AllocationService(session).explain(request)
    }


def host_action(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        inventory = inventory_service(session)
        host = inventory.find_host(system, args.name)
        if args.verb == "enable":
            message = _enable_host(session, inventory, system, host)
        elif args.verb == "disable":
            inventory.set_host_allocation(system, host.id, AllocationState.DISABLED)
            message = f"host {host.name} takes no new guests"
        elif args.verb == "refresh":
            inventory.refresh_host(system, host.id)
            message = (
                f"host {host.name}: {host.cpu_cores} cores at {host.cpu_mhz} MHz, "
                f"{host.memory_mib} MiB"
            )
        else:
            _remove_host(session, inventory, system, host)
            message = f"removed host {args.name}"
    print(message)


def _enable_host(session: Session, inventory: InventoryService, system: Scope, host: Host) -> str:
    """Bring a host back: refused while HA works on it; a down host loses its stale guests first."""
    check_no_open_item(session, host)
    lines = []
    if host.state is HostState.DOWN:
        # Still out of placement here: nothing can start on it meanwhile.
        back = prepare_return(session, inventory.drivers(host.uri), host)
        if back.removed:
            lines.append(
                f"removed {len(back.removed)} stale guest definition(s) of computes that run "
                "elsewhere now"
            )
        lines += [f"left guest {guest_id}: {why}" for guest_id, why in back.left]
    inventory.set_host_state(system, host.id, HostState.UP)
    inventory.set_host_allocation(system, host.id, AllocationState.ENABLED)
    return "\n".join([*lines, f"host {host.name} is up and enabled"])


def _remove_host(session: Session, inventory: InventoryService, system: Scope, host: Host) -> None:
    """Remove a host; when guests block it, say which (the inventory only counts them)."""
    guests = guests_on(session, host.id)
    if guests:
        names = Names(session)
        listed = ", ".join(
            f"{g.name or '-'} ({g.id}, {names.account(g.account_id)}, {g.state})" for g in guests
        )
        raise CommandError(
            f"host {host.name!r} still has {len(guests)} compute(s) placed on it: {listed}; "
            "delete or move them first (concord compute list --host "
            f"{host.name})"
        )
    inventory.remove_host(system, host.id)


def pool_share(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        inventory = inventory_service(session)
        cluster = _cluster_of(inventory, system, args)
        pool = inventory.add_shared_pool(
            system, cluster.id, args.pool_name, name=args.name, tags=args.tag
        )
        size = pool.capacity_bytes // GIB
        line = f"pool {pool.name} is shared by cluster {cluster.name} ({size} GiB)"
    print(line)


def pool_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "name": p.name,
                "cluster": p.cluster.name,
                "host": _host_name(session, p.host_id),
                "libvirt_pool": p.pool_name,
                "allocation": p.allocation_state.value,
                "used_gib": f"{p.allocated_bytes // GIB}/{pool_limit(p) // GIB}",
                "tags": p.tags or "-",
            }
            for p in inventory_service(session).list_storage_pools(system)
        ]
    print_table(rows, ["name", "cluster", "host", "libvirt_pool", "allocation", "used_gib", "tags"])


def _host_name(session: Session, host_id: str | None) -> str:
    host = session.get(Host, host_id) if host_id else None
    return host.name if host is not None else "(shared)"
