"""Catalog commands: OS templates (images) and compute, disk and network offerings.

They act as the system scope: templates are public unless ``--account`` makes
one private to an account; ``--domain`` restricts a public entry to a domain
subtree.
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from sqlalchemy.orm import Session

from concord.cli.context import Context, inventory_service, print_table
from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.catalog.service import CatalogService
from engine.scope import Scope
from engine.tenancy.models import Account, Domain
from engine.tenancy.service import TenancyService

OFFERINGS: dict[str, type[Any]] = {
    "compute": ComputeOffering,
    "disk": DiskOffering,
    "network": NetworkOffering,
}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the template and offering sub-commands."""
    template = sub.add_parser("template", help="manage OS templates (images)").add_subparsers(
        dest="action", required=True
    )
    p = template.add_parser("create", help="register an OS template")
    p.add_argument("name")
    p.add_argument("--description")
    p.add_argument("--os-type", default="linux")
    p.add_argument("--arch", default="x86_64")
    p.add_argument("--disk-format", default="raw")
    p.add_argument("--min-disk-gib", type=int, default=0)
    p.add_argument("--min-memory-mib", type=int, default=0)
    p.add_argument("--location", help="libvirt pool/volume or path of the bytes (none: firmware)")
    p.add_argument("--zone", help="the zone holding it")
    owner = p.add_mutually_exclusive_group()
    owner.add_argument("--public", action="store_true", help="public (the default)")
    owner.add_argument("--account", help="private to this account")
    p.add_argument(
        "--domain",
        help="public: restrict to this domain subtree; "
        "--account: the account's domain (default ROOT)",
    )
    p.set_defaults(handler=template_create)
    template.add_parser("list", help="list templates").set_defaults(handler=template_list)
    p = template.add_parser("delete", help="delete an unused template")
    p.add_argument("name", help="name or id")
    p.set_defaults(handler=template_delete)

    offering = sub.add_parser("offering", help="manage offerings").add_subparsers(
        dest="action", required=True
    )
    create = offering.add_parser("create", help="create an offering").add_subparsers(
        dest="kind", required=True
    )
    p = create.add_parser("compute", help="a machine size")
    p.add_argument("--vcpus", type=int, required=True)
    p.add_argument("--memory-mib", type=int, required=True)
    p.add_argument("--root-disk-gib", type=int, default=0)
    p.add_argument("--ha", action="store_true", help="restart guests elsewhere if a host fails")
    p.add_argument("--host-tag", action="append", default=[], help="required host tag")
    p = create.add_parser("disk", help="a volume size")
    p.add_argument("--size-gib", type=int, help="the size (omit to let clients choose)")
    p.add_argument("--storage-tag", action="append", default=[], help="required pool tag")
    p = create.add_parser("network", help="a kind of network")
    p.add_argument("--cidr", default="10.1.0.0/24", help="default address range")
    p.add_argument("--isolation", choices=["vlan", "vxlan"], default="vlan")
    p.add_argument("--no-dhcp", action="store_true")
    for p in create.choices.values():
        p.add_argument("name")
        p.add_argument("--description")
        p.add_argument("--domain", help="restrict to this domain subtree")
        p.set_defaults(handler=offering_create)
    offering.add_parser("list", help="list offerings").set_defaults(handler=offering_list)
    p = offering.add_parser("delete", help="delete an unused offering")
    p.add_argument("kind", choices=sorted(OFFERINGS))
    p.add_argument("name", help="name or id")
    p.set_defaults(handler=offering_delete)


# -- catalog ---------------------------------------------------------------------------


def _domain_id(session: Session, system: Scope, path: str | None) -> str | None:
    return TenancyService(session).find_domain(system, path).id if path else None


def _entry(catalog: CatalogService, system: Scope, model: type[Any], ref: str) -> Any:
    try:
        return catalog.get_entry(system, model, str(uuid.UUID(ref)))
    except ValueError:
        return catalog.find_entry(system, model, ref)


def _visibility(session: Session, entry: Any) -> str:
    if entry.account_id is not None:
        account = session.get(Account, entry.account_id)
        return f"account {account.name}" if account else "private"
    domain = session.get(Domain, entry.domain_id) if entry.domain_id else None
    if domain is None:
        return "public"
    return f"domain {TenancyService(session).domain_name_path(domain)}"


def template_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        account_id = None
        if args.account:
            tenancy = TenancyService(session)
            domain = tenancy.find_domain(system, args.domain or "ROOT")
            account_id = tenancy.find_account(system, domain.id, args.account).id
        zone_id = _zone_id(session, system, args.zone)
        image = CatalogService(session).create_image(
            system,
            args.name,
            public=account_id is None,
            domain_id=None if account_id else _domain_id(session, system, args.domain),
            account_id=account_id,
            description=args.description,
            os_type=args.os_type,
            arch=args.arch,
            disk_format=args.disk_format,
            min_disk_gib=args.min_disk_gib,
            min_memory_mib=args.min_memory_mib,
            zone_id=zone_id,
            location=args.location,
        )
        visibility = _visibility(session, image)
    print(f"created template {args.name} ({visibility}, {image.id})")


def template_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "name": i.name,
                "visibility": _visibility(session, i),
                "os": i.os_type,
                "arch": i.arch,
                "min_disk_gib": i.min_disk_gib,
                "location": i.location or "-",
                "id": i.id,
            }
            for i in CatalogService(session).list_entries(system, Image)
        ]
    print_table(rows, ["name", "visibility", "os", "arch", "min_disk_gib", "location", "id"])


def template_delete(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        catalog = CatalogService(session)
        catalog.delete_entry(system, Image, _entry(catalog, system, Image, args.name).id)
    print(f"deleted template {args.name}")


def offering_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        catalog = CatalogService(session)
        common: dict[str, Any] = {
            "description": args.description,
            "domain_id": _domain_id(session, system, args.domain),
        }
        if args.kind == "compute":
            entry: Any = catalog.create_compute_offering(
                system,
                args.name,
                vcpus=args.vcpus,
                memory_mib=args.memory_mib,
                root_disk_gib=args.root_disk_gib,
                ha_enabled=args.ha,
                host_tags=args.host_tag,
                **common,
            )
        elif args.kind == "disk":
            entry = catalog.create_disk_offering(
                system, args.name, size_gib=args.size_gib, storage_tags=args.storage_tag, **common
            )
        else:
            entry = catalog.create_network_offering(
                system,
                args.name,
                default_cidr=args.cidr,
                isolation=args.isolation,
                dhcp=not args.no_dhcp,
                **common,
            )
    print(f"created {args.kind} offering {args.name} ({entry.id})")


def _size(entry: Any) -> str:
    if isinstance(entry, ComputeOffering):
        root = f", {entry.root_disk_gib} GiB root" if entry.root_disk_gib else ""
        ha = ", HA" if entry.ha_enabled else ""
        return f"{entry.vcpus} vCPU, {entry.memory_mib} MiB{root}{ha}"
    if isinstance(entry, DiskOffering):
        return "custom size" if entry.size_gib is None else f"{entry.size_gib} GiB"
    return f"{entry.isolation}, {entry.default_cidr}{'' if entry.dhcp else ', no DHCP'}"


def _magnitude(entry: Any) -> tuple[int, int, str]:
    # Smallest first, as an operator reads a price list; then by name.
    if isinstance(entry, ComputeOffering):
        return (entry.vcpus, entry.memory_mib, entry.name)
    if isinstance(entry, DiskOffering):
        return (entry.size_gib or 0, 0, entry.name)
    return (0, 0, entry.name)


def offering_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        catalog = CatalogService(session)
        rows: list[dict[str, object]] = [
            {
                "kind": kind,
                "name": e.name,
                "size": _size(e),
                "visibility": _visibility(session, e),
                "id": e.id,
            }
            for kind, model in OFFERINGS.items()
            for e in sorted(catalog.list_entries(system, model), key=_magnitude)
        ]
    print_table(rows, ["kind", "name", "size", "visibility", "id"])


def offering_delete(ctx: Context, args: argparse.Namespace) -> None:
    model = OFFERINGS[args.kind]
    with ctx.system() as (session, system):
        catalog = CatalogService(session)
        catalog.delete_entry(system, model, _entry(catalog, system, model, args.name).id)
    print(f"deleted {args.kind} offering {args.name}")


def _zone_id(session: Session, system: Scope, name: str | None) -> str | None:
    if not name:
        return None
    return inventory_service(session).find_zone(system, name).id
