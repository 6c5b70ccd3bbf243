"""High-availability commands: ``concord ha status|history|resume`` and the host's fencing.

``concord host fence-config HOST --fencer NAME --option k=v`` stores how a
host is fenced; ``concord host fence HOST`` declares a host down now (HA
fences and recovers it as if the monitor had); ``concord host fence HOST
--confirm`` is the operator's word that the host is off, for a host whose
fencing could not be confirmed: its HA guests restart elsewhere at once.
See docs/ha.rst.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from concord.cli.context import CommandError, Context, print_table
from engine.drivers.fencing.registry import fencer_kinds
from engine.ha import operator


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ha status``, ``ha history`` and ``ha resume``."""
    ha = sub.add_parser("ha", help="high availability: hosts' health and recoveries")
    actions = ha.add_subparsers(dest="action", required=True)
    p = actions.add_parser("status", help="each host's health, fencer and open HA work")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=ha_status)
    p = actions.add_parser("history", help="recent HA work, each step with its time")
    p.add_argument("--host", help="one host only")
    p.add_argument("--limit", type=int, default=20, help="how many items (default 20)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=ha_history)
    p = actions.add_parser(
        "resume", help="release a zone the storm guard holds: fence and recover its hosts"
    )
    p.add_argument("zone")
    p.set_defaults(handler=ha_resume)
    p = actions.add_parser("fencers", help="the fencers installed and their options")
    p.set_defaults(handler=ha_fencers)


def add_host_parsers(host: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``host fence-config`` and ``host fence`` under ``concord host``."""
    p = host.add_parser("fence-config", help="show or set how a host is fenced")
    p.add_argument("name")
    p.add_argument("--fencer", help="libvirt, process, ... ('concord ha fencers' lists them)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a fencer option (repeatable), e.g. pid_file=/run/libvirtd.pid",
    )
    p.set_defaults(handler=host_fence_config)
    p = host.add_parser(
        "fence", help="declare a host down now; --confirm: the host is off, recover its guests"
    )
    p.add_argument("name")
    p.add_argument(
        "--confirm",
        action="store_true",
        help="you made sure nothing of the host runs (power cut, BMC off): restart its HA "
        "guests elsewhere without fencing it",
    )
    p.set_defaults(handler=host_fence)


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--option takes KEY=VALUE, not {pair!r}")
        options[key] = value
    return options


def host_fence_config(ctx: Context, args: argparse.Namespace) -> None:
    options = _options(args.option)
    with ctx.system() as (session, _system):
        if args.fencer is None:
            if options:
                raise CommandError("--option needs --fencer")
            fencer, current, configured = operator.fence_config(session, args.name)
        else:
            config = operator.set_fence_config(session, args.name, args.fencer, options)
            fencer, current, configured = config.fencer, dict(config.options), True
    shown = " ".join(f"{k}={v}" for k, v in sorted(current.items()))
    default = "" if configured else " (the default: none configured)"
    print(f"host {args.name}: fencer {fencer}{default}{' ' + shown if shown else ''}")


def host_fence(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        if args.confirm:
            item = operator.confirm_fenced(session, args.name)
            print(f"host {args.name}: confirmed off; HA restarts its HA guests (item {item.id})")
        else:
            item = operator.open_item(session, args.name, "declared down by an operator")
            print(f"host {args.name}: declared down; HA fences and recovers it (item {item.id})")


def ha_status(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        rows: list[dict[str, object]] = [
            {
                "host": s.name,
                "state": s.state,
                "health": s.health,
                "last_ok": s.last_ok.isoformat(timespec="seconds") if s.last_ok else "",
                "fencer": s.fencer,
                "ha_step": s.item_step or "",
                "message": s.message or "",
            }
            for s in operator.status(session)
        ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return
    print_table(rows, ["host", "state", "health", "last_ok", "fencer", "ha_step", "message"])


def ha_history(ctx: Context, args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise CommandError("--limit must be positive")
    with ctx.system() as (session, _system):
        names = operator.host_names(session)
        items: list[dict[str, Any]] = [
            {
                "item": item.id,
                "kind": item.kind.value,
                "host": names.get(item.host_id, item.host_id),
                "compute": item.compute_id or "",
                "step": item.step.value,
                "history": [
                    {
                        "at": h.at.isoformat(timespec="milliseconds"),
                        "step": h.step,
                        "detail": h.detail or "",
                    }
                    for h in steps
                ],
            }
            for item, steps in operator.history(session, args.host, args.limit)
        ]
    if args.format == "json":
        print(json.dumps(items, indent=2))
        return
    if not items:
        print("(none)")
    for item in items:
        what = f"guest {item['compute']}" if item["kind"] == "guest" else "host"
        print(f"{item['item']}  {what} of host {item['host']}: {item['step']}")
        for line in item["history"]:
            print(f"  {line['at']}  {line['step']:<17} {line['detail']}")


def ha_resume(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        released = operator.resume_zone(session, args.zone)
    print(f"zone {args.zone}: {released} held host(s) released to HA")


def ha_fencers(ctx: Context, args: argparse.Namespace) -> None:
    for name, kind in fencer_kinds().items():
        print(name)
        for option, meaning in kind.options.items():
            print(f"  {option}: {meaning}")
