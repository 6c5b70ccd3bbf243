"""``concord usage``: aggregate, report, rate and export usage (docs/usage.rst).

``aggregate`` turns the event log into usage records (the same work as the
schedule inside ``concord worker``); ``report`` sums them per owner, type
and offering; ``tariff`` sets prices and ``bill`` applies them; ``export``
writes CloudStack-style CSV/JSON or APEL messages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from concord.accounting_push import export_and_send
from concord.cli.context import CommandError, Context, print_table
from engine.schema import is_current
from engine.tenancy.models import Account, Domain
from engine.tenancy.service import TenancyService
from engine.usage.export import (
    CLOUDSTACK_COLUMNS,
    ApelSite,
    apel_cloud_message,
    apel_cloud_records,
    apel_ip_message,
    apel_ip_records,
    cloudstack_rows,
    to_csv,
    to_json,
)
from engine.usage.periods import GRANULARITIES
from engine.usage.rating import TariffService
from engine.usage.reports import UsageReports
from engine.usage.runner import run_aggregation
from engine.usage.types import TYPES, UsageType

#: The columns of ``usage report``.
REPORT_COLUMNS = [
    "account",
    "project",
    "domain",
    "type",
    "offering",
    "amount",
    "unit",
    "seconds",
    "quantity",
]


def moment(text: str) -> dt.datetime:
    """An ISO 8601 time with a zone, or a date (midnight UTC)."""
    try:
        if len(text) == 10:
            return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or an ISO 8601 time: {text!r} (e.g. 2026-12-01 or 2026-12-01T10:00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time zone of {text!r} (e.g. a final Z)")
    return value.astimezone(dt.UTC)


def _range(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", type=moment, required=True, help="start (inclusive)")
    p.add_argument("--to", dest="end", type=moment, required=True, help="end (exclusive)")


def _owner_options(p: argparse.ArgumentParser, required: bool = False) -> None:
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument("--account", help="account name (in --account-domain, default ROOT)")
    group.add_argument("--domain", help="domain path, e.g. ROOT/acme: the whole subtree")
    group.add_argument("--project", help="project id")
    p.add_argument("--account-domain", default="ROOT", help="the account's domain path")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``usage aggregate|report|tariff|bill|export``."""
    usage = sub.add_parser("usage", help="usage records: aggregate, report, bill, export")
    actions = usage.add_subparsers(dest="action", required=True)
    p = actions.add_parser("aggregate", help="aggregate every period that is over")
    p.add_argument("--period", choices=GRANULARITIES, help="hour or day (default: the setting)")
    p.add_argument("--settle", type=int, help="seconds to wait after a period's end")
    p.add_argument("--until", type=moment, help="aggregate no period ending after this")
    p.set_defaults(handler=aggregate)

    p = actions.add_parser("report", help="usage per owner, type and offering")
    _owner_options(p)
    _range(p)
    p.add_argument("--type", choices=[t.value for t in UsageType], help="one usage type")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(handler=report)

    tariff = actions.add_parser("tariff", help="prices per usage type").add_subparsers(
        dest="tariff_action", required=True
    )
    p = tariff.add_parser("set", help="price a usage type (per hour, core-hour, GiB-hour)")
    p.add_argument("type", choices=[t.value for t in UsageType])
    p.add_argument("price", help="decimal price per unit, e.g. 0.025")
    p.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    p.add_argument("--offering", help="only for this offering (id)")
    p.add_argument("--from", dest="start", type=moment, required=True, help="valid from")
    p.add_argument("--to", dest="end", type=moment, help="valid until (exclusive)")
    p.set_defaults(handler=tariff_set)
    tariff.add_parser("list", help="list the tariffs").set_defaults(handler=tariff_list)
    p = tariff.add_parser("delete", help="delete a tariff")
    p.add_argument("id")
    p.set_defaults(handler=tariff_delete)

    p = actions.add_parser("bill", help="an account's charges under the tariffs")
    p.add_argument("--account", required=True, help="account name")
    p.add_argument("--account-domain", default="ROOT", help="the account's domain path")
    _range(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=bill)

    p = actions.add_parser("export", help="records as CSV/JSON, or APEL messages")
    _owner_options(p)
    _range(p)
    p.add_argument(
        "--format",
        choices=("csv", "json", "apel", "apel-ip"),
        default="csv",
        help="CloudStack-style csv or json, APEL cloud v0.4, APEL public IP v0.2",
    )
    p.add_argument(
        "--push",
        metavar="URL",
        help="with --format apel: POST the messages to an accounting repository's "
        "/federation/accounting/records instead of printing them",
    )
    p.add_argument(
        "--token", help="the bearer token the repository gave (default: accounting_push_token)"
    )
    p.add_argument(
        "--queue",
        metavar="DIR",
        help="with --format apel: add the messages to this dirq directory queue (as "
        "ssmsend reads) instead of printing them",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per push (default 30)")
    p.set_defaults(handler=export)


def _owner_filter(ctx: Context, args: argparse.Namespace) -> dict[str, Any]:
    with ctx.system() as (session, system):
        tenancy = TenancyService(session)
        if getattr(args, "domain", None):
            return {"domain_id": tenancy.find_domain(system, args.domain).id}
        if getattr(args, "project", None):
            return {"project_id": tenancy.get_project(system, args.project).id}
        if getattr(args, "account", None):
            home = tenancy.find_domain(system, args.account_domain)
            return {"account_id": tenancy.find_account(system, home.id, args.account).id}
    return {}


def aggregate(ctx: Context, args: argparse.Namespace) -> None:
    """Aggregate every period that is over (``usage aggregate``)."""
    settle = ctx.settings.usage_settle_seconds if args.settle is None else args.settle
    if settle < 0:
        raise CommandError("--settle must be 0 or more")
    if not is_current(ctx.database):
        raise CommandError("the database schema is not current: run 'concord db upgrade'")
    report = run_aggregation(
        ctx.database,
        granularity=args.period or ctx.settings.usage_period,
        settle_seconds=settle,
        until=args.until,
    )
    for start, end in report.periods:
        print(f"aggregated {start:%Y-%m-%dT%H:%M:%SZ} .. {end:%Y-%m-%dT%H:%M:%SZ}")
    print(str(report))


def _names(ctx: Context) -> dict[str, str]:
    """Account and domain names by id, for people."""
    with ctx.system() as (session, _):
        names = {a.id: a.name for a in session.scalars(sa.select(Account))}
        names.update({d.id: d.name for d in session.scalars(sa.select(Domain))})
    return names


def report(ctx: Context, args: argparse.Namespace) -> None:
    """Print usage totals (``usage report``)."""
    owner = _owner_filter(ctx, args)
    names = _names(ctx)
    with ctx.system() as (session, system):
        reports = UsageReports(session)
        totals = reports.totals(system, args.start, args.end, usage_type=args.type, **owner)
        until = reports.aggregated_until()
    rows = [
        {
            "account": names.get(t.account_id, t.account_id),
            "account_id": t.account_id,
            "project": t.project_id or "",
            "domain": names.get(t.domain_id or "", t.domain_id or ""),
            "domain_id": t.domain_id or "",
            "type": t.usage_type,
            "offering": t.offering_id,
            "amount": str(t.amount.quantize(Decimal("0.000001"))),
            "unit": t.unit,
            "seconds": t.seconds,
            "quantity": t.quantity,
        }
        for t in totals
    ]
    if args.format == "json":
        print(to_json(rows), end="")
    elif args.format == "csv":
        sys.stdout.write(to_csv(rows, [*REPORT_COLUMNS, "account_id", "domain_id"]))
    else:
        print_table(rows, REPORT_COLUMNS)
        aggregated = f"{until:%Y-%m-%dT%H:%M:%SZ}" if until else "nothing yet"
        print(f"(aggregated until {aggregated})")


def tariff_set(ctx: Context, args: argparse.Namespace) -> None:
    """Set a tariff (``usage tariff set``)."""
    with ctx.system() as (session, system):
        tariff = TariffService(session).set(
            system,
            args.type,
            args.price,
            currency=args.currency,
            offering_id=args.offering,
            valid_from=args.start,
            valid_to=args.end,
        )
        print(
            f"tariff {tariff.id}: {args.type} at {tariff.price} {tariff.currency} "
            f"per {TYPES[UsageType(args.type)].unit}"
        )


def tariff_list(ctx: Context, args: argparse.Namespace) -> None:
    """List tariffs (``usage tariff list``)."""
    with ctx.system() as (session, _):
        rows: list[dict[str, object]] = [
            {
                "id": t.id,
                "type": t.usage_type,
                "offering": t.offering_id or "(any)",
                "price": t.price,
                "currency": t.currency,
                "unit": TYPES[UsageType(t.usage_type)].unit,
                "from": f"{t.valid_from:%Y-%m-%dT%H:%M:%SZ}",
                "to": f"{t.valid_to:%Y-%m-%dT%H:%M:%SZ}" if t.valid_to else "",
            }
            for t in TariffService(session).list()
        ]
    print_table(rows, ["id", "type", "offering", "price", "currency", "unit", "from", "to"])


def tariff_delete(ctx: Context, args: argparse.Namespace) -> None:
    """Delete a tariff (``usage tariff delete``)."""
    with ctx.system() as (session, system):
        TariffService(session).delete(system, args.id)
    print(f"deleted tariff {args.id}")


def bill(ctx: Context, args: argparse.Namespace) -> None:
    """Print an account's charges (``usage bill``)."""
    owner = _owner_filter(ctx, args)
    with ctx.system() as (session, system):
        result = TariffService(session).bill(system, owner["account_id"], args.start, args.end)
    rows: list[dict[str, object]] = [
        {
            "type": line.usage_type,
            "offering": line.offering_id,
            "quantity": str(line.quantity.quantize(Decimal("0.000001"))),
            "unit": line.unit,
            "price": "" if line.price is None else str(line.price),
            "currency": line.currency or "",
            "charge": "(no tariff)"
            if line.charge is None
            else str(line.charge.quantize(Decimal("0.000001"))),
        }
        for line in result.lines
    ]
    totals = {currency: str(value) for currency, value in result.totals.items()}
    if args.format == "json":
        print(
            json.dumps(
                {
                    "account": args.account,
                    "from": f"{args.start:%Y-%m-%dT%H:%M:%SZ}",
                    "to": f"{args.end:%Y-%m-%dT%H:%M:%SZ}",
                    "lines": rows,
                    "totals": totals,
                },
                indent=1,
            )
        )
        return
    print_table(rows, ["type", "offering", "quantity", "unit", "price", "currency", "charge"])
    for currency, value in totals.items():
        print(f"total {value} {currency}")


def export(ctx: Context, args: argparse.Namespace) -> None:
    """Write records or APEL messages on stdout (``usage export``)."""
    owner = _owner_filter(ctx, args)
    site = ApelSite(ctx.settings.site_name, ctx.settings.usage_compute_service)
    if args.push or args.queue:
        send(ctx, args, site, owner)
        return
    with ctx.system() as (session, system):
        if args.format == "apel":
            records = apel_cloud_records(session, system, args.start, args.end, site, **owner)
            sys.stdout.write("".join(apel_cloud_message(records)))
            return
        if args.format == "apel-ip":
            ips = apel_ip_records(session, system, args.start, args.end, site, **owner)
            print(apel_ip_message(ips))
            return
        rows = cloudstack_rows(UsageReports(session).records(system, args.start, args.end, **owner))
    if args.format == "json":
        sys.stdout.write(to_json(rows))
    else:
        sys.stdout.write(to_csv(rows, CLOUDSTACK_COLUMNS))


def send(ctx: Context, args: argparse.Namespace, site: ApelSite, owner: dict[str, Any]) -> None:
    """Push the APEL cloud messages to a repository and/or add them to a directory queue."""
    if args.format != "apel":
        raise CommandError("--push and --queue send APEL cloud messages: give --format apel")
    if owner:
        raise CommandError("a site pushes the records of all its tenants: drop the owner option")
    token = args.token or ctx.settings.accounting_push_token
    if args.push and not token:
        raise CommandError("give --token, or set accounting_push_token")
    try:
        sent = export_and_send(
            ctx.database,
            site,
            start=args.start,
            end=args.end,
            push_url=args.push or "",
            token=token,
            queue=args.queue or "",
            timeout=args.timeout,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    where = [f"pushed to {sent.pushed_to}"] if sent.pushed_to else []
    where += [f"queued in {sent.queued_in}"] if sent.queued_in else []
    print(f"{sent.records} record(s) in {sent.messages} message(s) {' and '.join(where)}")
