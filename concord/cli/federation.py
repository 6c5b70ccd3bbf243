"""``concord federation``: the identity providers this site trusts and where their users land.

``issuer add|list|remove`` records the OpenID Connect issuers whose bearer
tokens are accepted (docs/federation.rst); ``mapping set FILE`` replaces the
mapping rules with those of a JSON file, checked before anything changes, and
``mapping show`` prints the rules in force. A registry's ``member
add|list|remove`` keeps the member sites, ``refresh`` reads their GLUE
documents and ``sites`` answers which of them offer an image or have room;
``image-list`` publishes and subscribes to signed image lists
(:mod:`concord.cli.federation_images`); ``accounting`` keeps an accounting
repository's trusted sites and prints its summary
(:mod:`concord.cli.federation_accounting`); ``monitor`` and ``status`` probe
the members' endpoints and show their health
(:mod:`concord.cli.federation_monitor`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from concord.cli import federation_accounting, federation_images, federation_monitor
from concord.cli.context import CommandError, Context, print_table
from concord.glue_fetch import refresh_members
from engine.federation.identity import FederatedIdentityService
from engine.federation.registry import RegistryService


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``federation issuer add|list|remove`` and ``federation mapping set|show``."""
    federation = sub.add_parser(
        "federation", help="federated identity: trusted issuers and mapping rules"
    ).add_subparsers(dest="area", required=True)
    issuer = federation.add_parser(
        "issuer", help="OpenID Connect issuers whose tokens sign users in"
    ).add_subparsers(dest="action", required=True)
    p = issuer.add_parser("add", help="trust an issuer")
    p.add_argument("name", help="a short name: rules and user names refer to it")
    p.add_argument("url", help="the issuer identifier, exactly as tokens carry it in 'iss'")
    p.add_argument("--audience", required=True, help="the 'aud' its tokens must name")
    p.add_argument("--jwks-uri", help="where its keys are (default: from its discovery document)")
    p.set_defaults(handler=issuer_add)
    issuer.add_parser("list", help="list trusted issuers").set_defaults(handler=issuer_list)
    p = issuer.add_parser("remove", help="stop trusting an issuer")
    p.add_argument("name")
    p.set_defaults(handler=issuer_remove)
    mapping = federation.add_parser(
        "mapping", help="the rules that place federated users in local tenants"
    ).add_subparsers(dest="action", required=True)
    p = mapping.add_parser("set", help="replace the rules with those of a JSON file")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=mapping_set)
    mapping.add_parser("show", help="print the rules in force").set_defaults(handler=mapping_show)
    add_registry_parsers(federation)
    federation_images.add_parsers(federation)
    federation_accounting.add_parsers(federation)
    federation_monitor.add_parsers(federation)


def issuer_add(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        FederatedIdentityService(session).add_issuer(
            system, args.name, args.url, args.audience, args.jwks_uri
        )
    print(f"trusting issuer {args.name} ({args.url}) for audience {args.audience}")


def issuer_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "name": issuer.name,
                "url": issuer.url,
                "audience": issuer.audience,
                "jwks_uri": issuer.jwks_uri or "(discovered)",
            }
            for issuer in FederatedIdentityService(session).list_issuers(system)
        ]
    print_table(rows, ["name", "url", "audience", "jwks_uri"])


def issuer_remove(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        FederatedIdentityService(session).remove_issuer(system, args.name)
    print(f"no longer trusting issuer {args.name}")


def mapping_set(ctx: Context, args: argparse.Namespace) -> None:
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
    except ValueError as exc:
        raise CommandError(f"{args.file} is not JSON: {exc}") from None
    with ctx.system() as (session, system):
        rules = FederatedIdentityService(session).set_mapping(system, document)
    print(f"mapping set: {len(rules.rules)} rule(s)")


def mapping_show(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        rules = FederatedIdentityService(session).mapping()
    print(json.dumps({"rules": list(rules.raw_rules)}, indent=2))


def add_registry_parsers(
    federation: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register ``federation member add|list|remove``, ``refresh`` and ``sites``."""
    member = federation.add_parser(
        "member", help="the member sites whose GLUE documents this registry reads"
    ).add_subparsers(dest="action", required=True)
    p = member.add_parser("add", help="register a member site")
    p.add_argument("name", help="the site's name in the federation")
    p.add_argument("glue_url", help="where its GLUE document is (…/federation/glue)")
    p.add_argument("--token", help="the bearer token the site gave this registry")
    p.set_defaults(handler=member_add)
    member.add_parser("list", help="list member sites").set_defaults(handler=member_list)
    p = member.add_parser("remove", help="forget a member site")
    p.add_argument("name")
    p.set_defaults(handler=member_remove)
    p = federation.add_parser("refresh", help="read every member's GLUE document now")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per member (default 10)")
    p.set_defaults(handler=refresh)
    p = federation.add_parser(
        "sites", help="which member sites offer an image, or have room for a guest"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--image", help="an image's global id (marketplace URI) or name")
    what.add_argument("--vcpus", type=int, help="a guest's vCPUs (with --memory-mib)")
    p.add_argument("--memory-mib", type=int, default=0, help="a guest's memory")
    p.add_argument("--share", help="a virtual organisation whose share must have room")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=sites)


def member_add(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        RegistryService(session, ctx.server_keys).add_member(
            system, args.name, args.glue_url, args.token
        )
    print(f"site {args.name} is a member; 'concord federation refresh' reads its document")


def member_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "name": m.name,
                "glue_url": m.glue_url,
                "read": m.fetched.isoformat(timespec="seconds") if m.fetched else "never",
                "error": m.error or "",
            }
            for m in RegistryService(session, ctx.server_keys).list_members(system)
        ]
    print_table(rows, ["name", "glue_url", "read", "error"])


def member_remove(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        RegistryService(session, ctx.server_keys).remove_member(system, args.name)
    print(f"site {args.name} is no longer a member")


def refresh(ctx: Context, args: argparse.Namespace) -> None:
    outcome = refresh_members(ctx.database, ctx.server_keys, args.timeout)
    for name, error in sorted(outcome.items()):
        print(f"{name}: {error or 'read'}")
    if any(outcome.values()):
        raise CommandError("some members' documents could not be read (above)")


def sites(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        registry = RegistryService(session, ctx.server_keys)
        if args.image is not None:
            found = registry.sites_offering_image(args.image)
        else:
            found = registry.sites_with_room(args.vcpus, args.memory_mib, args.share)
    rows: list[dict[str, object]] = [
        {
            "site": match.site,
            "matches": " ".join(match.matches),
            "endpoints": " ".join(sorted(match.endpoints.values())),
            "health": " ".join(
                f"{interface}={state}" for interface, (state, _why) in sorted(match.health.items())
            ),
        }
        for match in found
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["site", "matches", "endpoints", "health"])
