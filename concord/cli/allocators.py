"""Allocation policy commands: allocators, cluster thresholds, dedicated infrastructure.

``concord allocator`` chooses how the hosts of a zone (or an offering's
guests) are ranked and sets a cluster's disable thresholds; ``concord
dedication`` sets zones, pods, clusters and hosts aside for a domain or an
account.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.cli.context import CommandError, Context, inventory_service, print_table
from engine.allocation.allocators import BUILT_IN, DEFAULT_ALLOCATOR, allocator_names, installed
from engine.allocation.configuration import AllocatorSettings
from engine.allocation.dedication import TARGETS, DedicationService
from engine.allocation.report import capacity_report
from engine.catalog.models import ComputeOffering
from engine.catalog.service import CatalogService
from engine.compute.state import running_sizes_by_host
from engine.inventory.dedicated import DedicatedLevel
from engine.inventory.models import Cluster, Host, Pod, Zone
from engine.tenancy.models import Account, Domain
from engine.tenancy.service import TenancyService

GIB = 1024**3
#: What ``NAME`` says to go back to the default (first fit, or the zone's).
DEFAULT = "default"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``allocator list|zone|offering``."""
    allocator = sub.add_parser(
        "allocator", help="choose how hosts are ranked for new guests"
    ).add_subparsers(dest="action", required=True)
    allocator.add_parser(
        "list", help="list the allocators there are, and which zones use them"
    ).set_defaults(handler=allocator_list)
    p = allocator.add_parser("zone", help="set the allocator of a zone")
    p.add_argument("zone", help="zone name")
    p.add_argument("name", help=f"an allocator, or '{DEFAULT}' for {DEFAULT_ALLOCATOR}")
    p.set_defaults(handler=allocator_zone)
    p = allocator.add_parser(
        "offering", help="set the allocator of a compute offering's guests (overrides the zone's)"
    )
    p.add_argument("offering", help="compute offering name or id")
    p.add_argument("name", help=f"an allocator, or '{DEFAULT}' for the zone's")
    p.set_defaults(handler=allocator_offering)
    p = allocator.add_parser(
        "threshold", help="set the allocated shares above which a cluster takes no new guests"
    )
    p.add_argument("cluster", help="cluster name or id")
    p.add_argument("--cpu", type=float, help="share of over-provisioned vCPUs, e.g. 0.85")
    p.add_argument("--memory", type=float, help="share of over-provisioned memory")
    p.add_argument("--storage", type=float, help="share of each storage pool (new volumes)")
    p.set_defaults(handler=allocator_threshold)

    dedication = sub.add_parser(
        "dedication", help="set infrastructure aside for a domain or an account"
    ).add_subparsers(dest="action", required=True)
    p = dedication.add_parser("add", help="dedicate a zone, pod, cluster or host")
    p.add_argument("level", choices=[level.value for level in DedicatedLevel])
    p.add_argument("target", help="its name or id")
    holder = p.add_mutually_exclusive_group(required=True)
    holder.add_argument("--domain", help="domain path, e.g. ROOT/team")
    holder.add_argument("--account", help="account name (in --account-domain, default ROOT)")
    p.add_argument("--account-domain", default="ROOT", help="the account's domain path")
    p.set_defaults(handler=dedication_add)
    p = dedication.add_parser("remove", help="open a dedicated target to every owner again")
    p.add_argument("level", choices=[level.value for level in DedicatedLevel])
    p.add_argument("target", help="its name or id")
    p.set_defaults(handler=dedication_remove)
    dedication.add_parser("list", help="list dedications").set_defaults(handler=dedication_list)

    p = sub.add_parser(
        "capacity", help="capacity per zone, pod, cluster, host and pool: allocated, used, free"
    )
    p.add_argument("--zone", help="one zone only")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=capacity)


def _name(value: str) -> str | None:
    return None if value == DEFAULT else value


def allocator_list(ctx: Context, args: argparse.Namespace) -> None:
    plugins = installed()
    with ctx.system() as (session, system):
        zones = inventory_service(session).list_zones(system)
        used: dict[str, list[str]] = {}
        for zone in zones:
            used.setdefault(zone.allocator or DEFAULT_ALLOCATOR, []).append(zone.name)
    rows: list[dict[str, object]] = [
        {
            "name": name,
            "source": "built-in" if name in BUILT_IN else plugins[name].value,
            "zones": " ".join(used.get(name, [])),
        }
        for name in allocator_names()
    ]
    print_table(rows, ["name", "source", "zones"])


def allocator_zone(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        zone = inventory_service(session).find_zone(system, args.zone)
        AllocatorSettings(session).set_zone_allocator(system, zone.id, _name(args.name))
        chosen = zone.allocator or DEFAULT_ALLOCATOR
    print(f"zone {args.zone} places guests with {chosen}")


def allocator_offering(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        offering = CatalogService(session).find_entry(system, ComputeOffering, args.offering)
        AllocatorSettings(session).set_offering_allocator(system, offering.id, _name(args.name))
        chosen = offering.allocator or "the zone's allocator"
    print(f"guests of offering {args.offering} are placed with {chosen}")


def allocator_threshold(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        cluster = _target(session, DedicatedLevel.CLUSTER, args.cluster)
        AllocatorSettings(session).set_cluster_thresholds(
            system, cluster.id, cpu=args.cpu, memory=args.memory, storage=args.storage
        )
    said = ", ".join(
        f"{what} above {share:.0%}"
        for what, share in (("CPU", args.cpu), ("memory", args.memory), ("storage", args.storage))
        if share is not None
    )
    print(f"cluster {args.cluster} takes no new guests or volumes with {said or 'no threshold'}")


def _target(session: Session, level: DedicatedLevel, ref: str) -> Zone | Pod | Cluster | Host:
    """The zone, pod, cluster or host with id or name ``ref`` (a name must be unambiguous)."""
    model: Any = TARGETS[level]
    found: Zone | Pod | Cluster | Host | None = session.get(model, ref)
    if found is not None:
        return found
    rows: list[Zone | Pod | Cluster | Host] = list(
        session.scalars(sa.select(model).where(model.name == ref))
    )
    if not rows:
        raise CommandError(f"no {level.value} {ref!r}")
    if len(rows) > 1:
        raise CommandError(f"several {level.value}s are called {ref!r}; give its id")
    return rows[0]


def dedication_add(ctx: Context, args: argparse.Namespace) -> None:
    level = DedicatedLevel(args.level)
    with ctx.system() as (session, system):
        target = _target(session, level, args.target)
        tenancy = TenancyService(session)
        if args.domain:
            holder = f"domain {args.domain}"
            domain = tenancy.find_domain(system, args.domain)
            DedicationService(session).dedicate(system, level, target.id, domain_id=domain.id)
        else:
            holder = f"account {args.account}"
            home = tenancy.find_domain(system, args.account_domain)
            account = tenancy.find_account(system, home.id, args.account)
            DedicationService(session).dedicate(system, level, target.id, account_id=account.id)
    print(f"{level.value} {args.target} is dedicated to {holder}")


def dedication_remove(ctx: Context, args: argparse.Namespace) -> None:
    level = DedicatedLevel(args.level)
    with ctx.system() as (session, system):
        target = _target(session, level, args.target)
        DedicationService(session).release(system, level, target.id)
    print(f"{level.value} {args.target} is open to every owner")


def dedication_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = []
        for dedication in DedicationService(session).list(system):
            target: Any = session.get(TARGETS[dedication.level], dedication.target_id)
            if dedication.account_id is not None:
                account = session.get(Account, dedication.account_id)
                holder = f"account {account.name if account else dedication.account_id}"
            else:
                domain = session.get(Domain, dedication.domain_id)
                holder = f"domain {domain.path if domain else dedication.domain_id}"
            rows.append(
                {
                    "level": dedication.level.value,
                    "target": target.name if target else f"(gone) {dedication.target_id}",
                    "dedicated_to": holder,
                }
            )
    print_table(rows, ["level", "target", "dedicated_to"])


def capacity(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        zone_id = inventory_service(session).find_zone(system, args.zone).id if args.zone else None
        report = capacity_report(session, system, running_sizes_by_host(session), zone_id=zone_id)
    if args.format == "json":
        print(json.dumps([item.as_dict() for item in report], indent=2))
        return

    def shown(figures: dict[str, int], unit: int = 1) -> str:
        return (
            f"{figures['allocated'] // unit}/{figures['limit'] // unit} "
            f"(used {figures['used'] // unit}, free {figures['free'] // unit})"
        )

    rows: list[dict[str, object]] = [
        {
            "level": item.level,
            "path": item.path,
            "vcpus": shown(item.figures["vcpus"]),
            "memory_mib": shown(item.figures["memory_mib"]),
            "storage_gib": shown(item.figures["storage_bytes"], GIB),
            "ha_reserved": f"{item.figures['vcpus']['ha_reserved']} vCPU",
        }
        for item in report
    ]
    print_table(rows, ["level", "path", "vcpus", "memory_mib", "storage_gib", "ha_reserved"])
