"""``concord federation monitor`` and ``concord federation status``: a registry's monitoring.

``monitor credentials SITE`` gives the registry the identity it probes a
member's endpoints as (a user and password, or an API key and secret, read
on standard input, never on the command line); ``monitor run`` probes every
member's OCCI and CIMI endpoints now (the workers do it every
``federation_monitor_interval`` seconds); ``monitor history SITE`` lists the
probes kept; ``status`` prints each endpoint's latest health
(docs/federation.rst).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from concord.cli.context import CommandError, Context, print_table
from concord.federation_monitor import monitor_members
from engine.federation.monitoring import CRITICAL, MonitorService


def add_parsers(federation: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``federation monitor credentials|run|history`` and ``federation status``."""
    monitor = federation.add_parser(
        "monitor", help="probe member sites' OCCI and CIMI endpoints (read-only conformance)"
    ).add_subparsers(dest="action", required=True)
    p = monitor.add_parser("credentials", help="the identity a member's endpoints are probed as")
    p.add_argument("name", help="the member site")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="an HTTP Basic user of the site (password on stdin)")
    who.add_argument("--api-key", help="an API key of the site (secret on stdin)")
    who.add_argument("--anonymous", action="store_true", help="probe without credentials")
    p.set_defaults(handler=credentials)
    p = monitor.add_parser("run", help="probe the members' endpoints now")
    p.add_argument("--site", action="append", help="only this member (repeatable)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.set_defaults(handler=run)
    p = monitor.add_parser("history", help="a member's probes kept, newest first")
    p.add_argument("name")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=history)
    p = federation.add_parser("status", help="each member endpoint's latest health")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=status)


def _secret(what: str) -> str:
    secret = (
        getpass.getpass(f"{what}: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    if not secret:
        raise CommandError(f"no {what} given on stdin")
    return secret


def credentials(ctx: Context, args: argparse.Namespace) -> None:
    if args.anonymous:
        auth, user, secret = None, None, None
    elif args.user:
        auth, user, secret = "basic", args.user, _secret("password")
    else:
        auth, user, secret = "hmac", args.api_key, _secret("API secret")
    with ctx.system() as (session, system):
        MonitorService(session, ctx.server_keys).set_credentials(
            system, args.name, auth, user, secret
        )
    print(f"site {args.name}: probed {'as ' + user if user else 'anonymously'}")


def run(ctx: Context, args: argparse.Namespace) -> None:
    if args.timeout <= 0:
        raise CommandError("--timeout must be positive")
    if args.site:
        with ctx.system() as (session, _system):
            MonitorService(session, ctx.server_keys).targets(args.site)  # unknown: an error
    probed = monitor_members(ctx.database, ctx.server_keys, args.timeout, args.site)
    for p in probed:
        print(f"{p.member} {p.interface}: {p.health}: {p.reason}")
    if not probed:
        print("no OCCI or CIMI endpoint to probe (see 'concord federation status')")
    if any(p.health == CRITICAL for p in probed):
        raise CommandError("some endpoints are critical (above)")


def history(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "checked": c.checked.isoformat(timespec="seconds"),
                "interface": c.interface,
                "health": c.health,
                "must": f"{c.must_passed}/{c.must_failed}/{c.must_skipped}",
                "reason": c.reason,
            }
            for c in MonitorService(session, ctx.server_keys).history(system, args.name)
        ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["checked", "interface", "health", "must", "reason"])


def status(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        found = MonitorService(session, ctx.server_keys).status(system)
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "site": s.member,
                        "interface": s.interface,
                        "url": s.url,
                        "health": s.health,
                        "reason": s.reason,
                        "checked": s.checked.isoformat() if s.checked else None,
                        "must": None
                        if s.counts is None
                        else dict(zip(("passed", "failed", "skipped"), s.counts[:3], strict=True)),
                        "should_failed": None if s.counts is None else s.counts[3],
                    }
                    for s in found
                ],
                indent=2,
            )
        )
        return
    rows: list[dict[str, object]] = [
        {
            "site": s.member,
            "interface": s.interface,
            "health": s.health,
            "checked": s.checked.isoformat(timespec="seconds") if s.checked else "never",
            "must": "-" if s.counts is None else "{}/{}/{}".format(*s.counts[:3]),
            "reason": s.reason,
        }
        for s in found
    ]
    print_table(rows, ["site", "interface", "health", "checked", "must", "reason"])
