"""``concord alert list``: the conditions an operator must act on.

Capacity thresholds and HA raise alerts while a condition lasts
(:mod:`engine.events.alerts`); this lists the active ones, or with ``--all``
the recent history, active and cleared.
"""

from __future__ import annotations

import argparse
import json

from concord.cli.context import Context, print_table
from engine.events.alerts import active_alerts, alert_history
from engine.events.models import Alert


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``alert list``."""
    alert = sub.add_parser("alert", help="conditions an operator must act on").add_subparsers(
        dest="action", required=True
    )
    p = alert.add_parser("list", help="list the active alerts (--all: recent history too)")
    p.add_argument("--all", action="store_true", help="also the cleared ones, newest first")
    p.add_argument("--source", help="one source only, e.g. capacity or ha")
    p.add_argument("--limit", type=int, default=100, help="with --all, how many (default 100)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(handler=alert_list)


def _row(alert: Alert) -> dict[str, object]:
    return {
        "key": alert.key,
        "source": alert.source,
        "severity": alert.severity,
        "subject": f"{alert.subject_type} {alert.subject_id or '-'}",
        "raised": alert.raised.isoformat(timespec="seconds"),
        "cleared": alert.cleared.isoformat(timespec="seconds") if alert.cleared else "",
        "message": alert.message,
    }


def alert_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        if args.all:
            alerts = alert_history(session, source=args.source, limit=args.limit)
        else:
            alerts = active_alerts(session, source=args.source)
        rows = [_row(alert) for alert in alerts]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return
    columns = ["key", "severity", "subject", "raised"]
    print_table(rows, [*columns, "cleared", "message"] if args.all else [*columns, "message"])
