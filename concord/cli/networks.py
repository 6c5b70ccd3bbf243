"""Network commands: each account's default network per zone.

A compute created with no network joins its owner's default network of its
zone (:mod:`engine.network.defaults`). ``concord network default set NETWORK``
makes a network the default of its owner in its zone; the commands act as the
system scope, so they reach every tenant's networks.
"""

from __future__ import annotations

import argparse

import sqlalchemy as sa

from concord.cli.context import Context, print_table
from engine.inventory.models import Zone
from engine.network.defaults import DefaultNetworks
from engine.network.models import DefaultNetwork, Network
from engine.tenancy.models import Account


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the network sub-commands."""
    network = sub.add_parser("network", help="manage tenants' networks").add_subparsers(
        dest="action", required=True
    )
    default = network.add_parser(
        "default", help="the network an account's new computes join in a zone"
    ).add_subparsers(dest="verb", required=True)
    p = default.add_parser("set", help="make a network its owner's default in its zone")
    p.add_argument("network", help="the network's id")
    p.set_defaults(handler=default_set)
    p = default.add_parser("clear", help="stop a network being its owner's default")
    p.add_argument("network", help="the network's id")
    p.set_defaults(handler=default_clear)
    default.add_parser("list", help="list the default networks").set_defaults(handler=default_list)


def default_set(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        row = DefaultNetworks(session).set(system, args.network)
        account = session.get(Account, row.account_id)
        zone = session.get(Zone, row.zone_id)
        owner = account.name if account else row.account_id
        where = zone.name if zone else row.zone_id
    print(f"network {args.network} is now account {owner}'s default in zone {where}")


def default_clear(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        cleared = DefaultNetworks(session).clear(system, args.network)
    print(
        f"network {args.network} is no longer a default"
        if cleared
        else f"network {args.network} was no account's default"
    )


def default_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        rows = session.execute(
            sa.select(Account.name, Zone.name, Network.id, Network.name, Network.cidr)
            .select_from(DefaultNetwork)
            .join(Account, Account.id == DefaultNetwork.account_id)
            .join(Zone, Zone.id == DefaultNetwork.zone_id)
            .join(Network, Network.id == DefaultNetwork.network_id)
            .order_by(Account.name, Zone.name)
        ).all()
        table: list[dict[str, object]] = [
            {"account": a, "zone": z, "network": n, "name": name, "cidr": cidr}
            for a, z, n, name, cidr in rows
        ]
    print_table(table, ["account", "zone", "network", "name", "cidr"])
