"""``concord group``: the operator's view of tenants' placement groups.

Tenants make affinity and anti-affinity groups through OCCI (a user Mixin
depending on a placement Mixin) or CIMI (``placementGroup``); an operator
lists them across tenants, and reads one's members and the hosts they are
on (:mod:`engine.compute.groups`). A group is named within its project, or
its account outside projects, so ``show`` takes the account (and project).
"""

from __future__ import annotations

import argparse

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.cli.context import CommandError, Context, print_table
from engine.compute.models import Compute, PlacementGroup, PlacementGroupMember
from engine.inventory.models import Host
from engine.lifecycle import State
from engine.tenancy.models import Account, Project


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``group list|show``."""
    group = sub.add_parser(
        "group", help="tenants' placement groups (affinity, anti-affinity)"
    ).add_subparsers(dest="action", required=True)
    p = group.add_parser("list", help="list placement groups with their members' hosts")
    p.add_argument("--account", help="only this account's groups")
    p.set_defaults(handler=group_list)
    p = group.add_parser("show", help="a group's members and the hosts they are on")
    p.add_argument("name")
    p.add_argument("--account", required=True, help="the account it belongs to")
    p.add_argument("--project", help="the project it was made in (default: none)")
    p.set_defaults(handler=group_show)


def _account(session: Session, name: str) -> Account:
    found = list(session.scalars(sa.select(Account).where(Account.name == name)))
    if not found:
        raise CommandError(f"no account {name!r}")
    if len(found) > 1:
        raise CommandError(f"several domains have an account {name!r}")
    return found[0]


def find_group(
    session: Session, name: str, account_name: str, project_name: str | None
) -> PlacementGroup:
    """The group ``name`` of an account (in a project of its domain, if given)."""
    account = _account(session, account_name)
    key = account.id
    if project_name is not None:
        project = session.scalar(
            sa.select(Project).where(
                Project.domain_id == account.domain_id, Project.name == project_name
            )
        )
        if project is None:
            raise CommandError(f"no project {project_name!r} in account {account_name!r}'s domain")
        key = project.id
    group = session.scalar(
        sa.select(PlacementGroup).where(
            PlacementGroup.owner_key == key, PlacementGroup.name == name
        )
    )
    if group is None:
        where = f"project {project_name!r}" if project_name else f"account {account_name!r}"
        raise CommandError(f"no placement group {name!r} in {where}")
    return group


def _members(session: Session, group_ids: list[str]) -> list[tuple[str, str, str | None]]:
    """``(group id, compute name, host name)`` of each live member."""
    rows = session.execute(
        sa.select(PlacementGroupMember.group_id, Compute.name, Host.name)
        .join(Compute, Compute.id == PlacementGroupMember.compute_id)
        .outerjoin(Host, Host.id == Compute.host_id)
        .where(
            PlacementGroupMember.group_id.in_(group_ids),
            Compute.state != State.DELETED.value,
        )
        .order_by(Compute.name, Compute.id)
    )
    return [(g, c, h) for g, c, h in rows]


def group_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        query = (
            sa.select(PlacementGroup, Account.name, Project.name)
            .join(Account, Account.id == PlacementGroup.account_id)
            .outerjoin(Project, Project.id == PlacementGroup.project_id)
            .order_by(Account.name, PlacementGroup.name, PlacementGroup.id)
        )
        if args.account:
            query = query.where(PlacementGroup.account_id == _account(session, args.account).id)
        groups = list(session.execute(query))
        members = _members(session, [g.id for g, _, _ in groups])
        rows: list[dict[str, object]] = []
        for group, account, project in groups:
            mine = [(c, h) for g, c, h in members if g == group.id]
            rows.append(
                {
                    "name": group.name,
                    "policy": group.policy.value,
                    "account": account,
                    "project": project or "-",
                    "members": len(mine),
                    "hosts": ",".join(sorted({h for _, h in mine if h})) or "-",
                }
            )
    print_table(rows, ["name", "policy", "account", "project", "members", "hosts"])


def group_show(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        group = find_group(session, args.name, args.account, args.project)
        print(f"{group.name}: {group.policy.value}, account {args.account}", end="")
        print(f", project {args.project}" if args.project else "")
        rows: list[dict[str, object]] = [
            {"member": compute, "host": host or "-"}
            for _, compute, host in _members(session, [group.id])
        ]
    print_table(rows, ["member", "host"])


__all__ = ["add_parsers", "find_group"]
