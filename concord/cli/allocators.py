"""``concord allocator``: which allocator ranks the hosts of a zone or an offering's guests."""

from __future__ import annotations

import argparse

from concord.cli.context import Context, inventory_service, print_table
from engine.allocation.allocators import BUILT_IN, DEFAULT_ALLOCATOR, allocator_names, installed
from engine.allocation.configuration import AllocatorSettings
from engine.catalog.models import ComputeOffering
from engine.catalog.service import CatalogService

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
