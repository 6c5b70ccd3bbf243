"""``concord federation accounting``: an accounting repository's trusted sites and summary.

``site add NAME`` trusts a site and prints the token it pushes with (shown
once: only its hash is kept), ``site list`` and ``site remove NAME`` manage
them; ``summary [--month YYYY-MM] [--site NAME]`` prints the per-site,
per-month summary (docs/federation.rst). Sites push with ``concord usage
export --format apel --push URL --token TOKEN`` or the workers' schedule.
"""

from __future__ import annotations

import argparse
import json

from concord.cli.context import Context, print_table
from engine.federation.accounting import AccountingRepository, parse_month

#: The summary's columns.
COLUMNS = [
    "site",
    "month",
    "vo",
    "project",
    "image_id",
    "vms",
    "wall_duration",
    "cpu_duration",
    "earliest_start",
    "latest_start",
]


def add_parsers(federation: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``federation accounting site add|list|remove`` and ``... summary``."""
    accounting = federation.add_parser(
        "accounting", help="accounting repository: trusted sites, APEL summaries"
    ).add_subparsers(dest="action", required=True)
    sites = accounting.add_parser(
        "site", help="the sites whose APEL records this repository accepts"
    ).add_subparsers(dest="site_action", required=True)
    p = sites.add_parser("add", help="trust a site; prints the token it pushes with")
    p.add_argument("name", help="the site's name, as its records' SiteName")
    p.set_defaults(handler=site_add)
    sites.add_parser("list", help="the trusted sites").set_defaults(handler=site_list)
    p = sites.add_parser("remove", help="stop trusting a site (its records stay)")
    p.add_argument("name")
    p.set_defaults(handler=site_remove)
    p = accounting.add_parser("summary", help="per site, month, VO, project and image")
    p.add_argument("--month", help="YYYY-MM (default: every month)")
    p.add_argument("--site", help="one site only")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=summary)


def site_add(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        token = AccountingRepository(session).add_site(system, args.name)
    print(f"trusting site {args.name}; it pushes with the bearer token (shown once):")
    print(token)


def site_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {"name": s.name, "trusted since": s.created.isoformat(timespec="seconds")}
            for s in AccountingRepository(session).list_sites(system)
        ]
    print_table(rows, ["name", "trusted since"])


def site_remove(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        AccountingRepository(session).remove_site(system, args.name)
    print(f"no longer trusting site {args.name}; its records stay in the summary")


def summary(ctx: Context, args: argparse.Namespace) -> None:
    month = parse_month(args.month) if args.month else None
    with ctx.system() as (session, system):
        rows = [
            row.as_dict() for row in AccountingRepository(session).summary(system, month, args.site)
        ]
    if args.format == "json":
        print(json.dumps({"summary": rows}, indent=1))
    else:
        print_table(rows, COLUMNS)
