"""Administration commands: domains, accounts, users, projects, API keys, limits.

They act as the system scope (a root administrator): whoever can run them on
the server can read its database anyway.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import secrets
import sys

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.cli import sign
from concord.cli.context import CommandError, Context, print_table
from engine.db import utcnow
from engine.scope import Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import (
    Account,
    AccountType,
    LimitOwner,
    Project,
    ProjectRole,
    ResourceType,
    TenantState,
)
from engine.tenancy.quotas import QuotaService
from engine.tenancy.service import TenancyService


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the administration sub-commands."""
    domain = sub.add_parser("domain", help="manage the domain tree").add_subparsers(
        dest="action", required=True
    )
    p = domain.add_parser("create", help="create a domain")
    p.add_argument("name")
    p.add_argument("--parent", default="ROOT", help="parent domain path (default ROOT)")
    p.set_defaults(handler=domain_create)
    domain.add_parser("list", help="list domains").set_defaults(handler=domain_list)
    p = domain.add_parser("delete", help="delete an empty domain")
    p.add_argument("path", help="domain path, e.g. ROOT/acme")
    p.set_defaults(handler=domain_delete)

    account = sub.add_parser("account", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    p = account.add_parser("create", help="create an account")
    p.add_argument("name")
    p.add_argument("--domain", default="ROOT")
    p.add_argument("--type", choices=[t.value for t in AccountType], default="user")
    p.set_defaults(handler=account_create)
    account.add_parser("list", help="list accounts").set_defaults(handler=account_list)
    for verb, state in (("enable", "enabled"), ("disable", "disabled"), ("lock", "locked")):
        p = account.add_parser(verb, help=f"{verb} an account")
        p.add_argument("name")
        p.add_argument("--domain", default="ROOT")
        p.set_defaults(handler=account_state, state=state)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    p = user.add_parser("create", help="create a user (prints a generated password)")
    p.add_argument("username")
    p.add_argument("--account", required=True)
    p.add_argument("--domain", default="ROOT")
    p.add_argument("--email")
    p.add_argument("--password-stdin", action="store_true", help="read the password on stdin")
    p.set_defaults(handler=user_create)
    user.add_parser("list", help="list users").set_defaults(handler=user_list)
    p = user.add_parser("passwd", help="set a user's password")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(handler=user_passwd)

    project = sub.add_parser("project", help="manage projects").add_subparsers(
        dest="action", required=True
    )
    p = project.add_parser("create", help="create a project owned by a user's account")
    p.add_argument("name")
    p.add_argument("--owner", required=True, help="user who becomes the project admin")
    p.add_argument("--description")
    p.set_defaults(handler=project_create)
    project.add_parser("list", help="list projects").set_defaults(handler=project_list)
    for verb in ("add-member", "remove-member"):
        p = project.add_parser(verb, help=f"{verb.replace('-', ' ')} of a project")
        p.add_argument("project")
        p.add_argument("username")
        p.add_argument("--domain", default="ROOT", help="the project's domain")
        if verb == "add-member":
            p.add_argument("--role", choices=[r.value for r in ProjectRole], default="member")
        p.set_defaults(handler=project_member, verb=verb)

    apikey = sub.add_parser("apikey", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    p = apikey.add_parser("create", help="issue an API key (the secret is shown once)")
    p.add_argument("username")
    p.add_argument("--expires-days", type=int)
    p.add_argument("--description")
    p.set_defaults(handler=apikey_create)
    apikey.add_parser("list", help="list API keys").set_defaults(handler=apikey_list)
    p = apikey.add_parser("revoke", help="revoke an API key")
    p.add_argument("access_key")
    p.set_defaults(handler=apikey_revoke)
    sign.add_parser(apikey)

    limit = sub.add_parser("limit", help="manage resource limits").add_subparsers(
        dest="action", required=True
    )
    p = limit.add_parser("set", help="set a limit (-1 = unlimited)")
    _owner_arguments(p)
    p.add_argument("resource", choices=[r.value for r in ResourceType])
    p.add_argument("maximum", type=int)
    p.set_defaults(handler=limit_set)
    p = limit.add_parser("show", help="show limits and usage of an owner")
    _owner_arguments(p)
    p.set_defaults(handler=limit_show)


def _owner_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=[k.value for k in LimitOwner])
    parser.add_argument("owner", help="domain path, or account/project name")
    parser.add_argument("--domain", default="ROOT", help="domain of the account or project")


# -- domains -------------------------------------------------------------------


def domain_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        service = TenancyService(session)
        parent = service.find_domain(system, args.parent)
        domain = service.create_domain(system, args.name, parent.id)
        print(f"created domain {service.domain_name_path(domain)} ({domain.id})")


def domain_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        service = TenancyService(session)
        rows: list[dict[str, object]] = [
            {"path": service.domain_name_path(d), "id": d.id, "state": d.state.value}
            for d in service.list_domains(system)
        ]
        print_table(rows, ["path", "id", "state"])


def domain_delete(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        service = TenancyService(session)
        service.delete_domain(system, service.find_domain(system, args.path).id)
        print(f"deleted domain {args.path}")


# -- accounts ------------------------------------------------------------------


def _account(session: Session, system: Scope, domain_path: str, name: str) -> Account:
    service = TenancyService(session)
    domain = service.find_domain(system, domain_path)
    return service.find_account(system, domain.id, name)


def account_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        service = TenancyService(session)
        domain = service.find_domain(system, args.domain)
        account = service.create_account(system, args.name, domain.id, AccountType(args.type))
        print(f"created {account.type.value} account {args.name} ({account.id})")


def account_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        service = TenancyService(session)
        rows: list[dict[str, object]] = [
            {
                "domain": service.domain_name_path(a.domain),
                "name": a.name,
                "type": a.type.value,
                "state": a.state.value,
                "id": a.id,
            }
            for a in service.list_accounts(system)
        ]
        print_table(rows, ["domain", "name", "type", "state", "id"])


def account_state(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        account = _account(session, system, args.domain, args.name)
        TenancyService(session).set_account_state(system, account.id, TenantState(args.state))
        print(f"account {args.name} is now {args.state}")


# -- users ---------------------------------------------------------------------


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from stdin, or a generated one (and whether it was generated)."""
    if args.password_stdin:
        password = (
            sys.stdin.readline().rstrip("\n")
            if not sys.stdin.isatty()
            else (getpass.getpass("password: "))
        )
        if not password:
            raise CommandError("no password given on stdin")
        return password, False
    return secrets.token_urlsafe(12), True


def user_create(ctx: Context, args: argparse.Namespace) -> None:
    password, generated = _password(args)
    with ctx.system() as (session, system):
        account = _account(session, system, args.domain, args.account)
        user = TenancyService(session, ctx.hasher).create_user(
            system, account.id, args.username, password, args.email
        )
        print(f"created user {user.username} ({user.id})")
    if generated:
        print(f"password: {password}  (shown once; change it with 'concord user passwd')")


def user_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {"username": u.username, "account": u.account.name, "state": u.state.value, "id": u.id}
            for u in TenancyService(session).list_users(system)
        ]
        print_table(rows, ["username", "account", "state", "id"])


def user_passwd(ctx: Context, args: argparse.Namespace) -> None:
    password, generated = _password(args)
    with ctx.system() as (session, system):
        service = TenancyService(session, ctx.hasher)
        user = service.find_user(system, args.username)
        service.set_password(system, user.id, password)
    print(f"password of {args.username} changed")
    if generated:
        print(f"password: {password}  (shown once)")


# -- projects --------------------------------------------------------------------


def project_create(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        owner = TenancyService(session).find_user(system, args.owner)
        owner_scope = CredentialService(session).scope_for(owner)
        project = TenancyService(session).create_project(owner_scope, args.name, args.description)
        print(f"created project {project.name} ({project.id}), admin {owner.username}")


def project_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {"name": p.name, "id": p.id, "state": p.state.value}
            for p in TenancyService(session).list_projects(system)
        ]
        print_table(rows, ["name", "id", "state"])


def _project(session: Session, system: Scope, domain_path: str, name: str) -> Project:
    service = TenancyService(session)
    domain = service.find_domain(system, domain_path)
    project = service.session.scalar(
        sa.select(Project).where(Project.domain_id == domain.id, Project.name == name)
    )
    if project is None:
        raise CommandError(f"no project {name!r} in domain {domain_path}")
    return project


def project_member(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        service = TenancyService(session)
        project = _project(session, system, args.domain, args.project)
        user = service.find_user(system, args.username)
        if args.verb == "add-member":
            service.add_member(system, project.id, user.id, ProjectRole(args.role))
            print(f"{user.username} is now {args.role} of {project.name}")
        else:
            service.remove_member(system, project.id, user.id)
            print(f"{user.username} removed from {project.name}")


# -- API keys --------------------------------------------------------------------


def apikey_create(ctx: Context, args: argparse.Namespace) -> None:
    expires = None
    if args.expires_days is not None:
        if args.expires_days <= 0:
            raise CommandError("--expires-days must be positive")
        expires = utcnow() + dt.timedelta(days=args.expires_days)
    with ctx.system() as (session, system):
        user = TenancyService(session).find_user(system, args.username)
        issued = CredentialService(session, server_keys=ctx.server_keys).create_api_key(
            system, user.id, args.description, expires
        )
    print(f"access key: {issued.access_key}")
    print(f"secret:     {issued.secret}  (shown once)")


def apikey_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        rows: list[dict[str, object]] = [
            {
                "access_key": k.access_key,
                "user": k.user.username,
                "created": k.created.isoformat(timespec="seconds"),
                "expires": k.expires.isoformat(timespec="seconds") if k.expires else "never",
                "revoked": "yes" if k.revoked else "no",
            }
            for k in CredentialService(session).list_api_keys(system)
        ]
        print_table(rows, ["access_key", "user", "created", "expires", "revoked"])


def apikey_revoke(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        CredentialService(session).revoke_api_key(system, args.access_key)
    print(f"revoked {args.access_key}")


# -- limits ------------------------------------------------------------------------


def _owner_id(session: Session, system: Scope, args: argparse.Namespace) -> str:
    kind = LimitOwner(args.kind)
    if kind is LimitOwner.DOMAIN:
        return TenancyService(session).find_domain(system, args.owner).id
    if kind is LimitOwner.ACCOUNT:
        return _account(session, system, args.domain, args.owner).id
    return _project(session, system, args.domain, args.owner).id


def limit_set(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        owner_id = _owner_id(session, system, args)
        QuotaService(session).set_limit(
            system, LimitOwner(args.kind), owner_id, ResourceType(args.resource), args.maximum
        )
    shown = "unlimited" if args.maximum == -1 else str(args.maximum)
    print(f"{args.kind} {args.owner}: {args.resource} limit is now {shown}")


def limit_show(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        owner_id = _owner_id(session, system, args)
        rows: list[dict[str, object]] = [
            {
                "resource": u.resource_type.value,
                "limit": "unlimited" if u.maximum == -1 else u.maximum,
                "used": u.used,
            }
            for u in QuotaService(session).usage(system, LimitOwner(args.kind), owner_id)
        ]
        print_table(rows, ["resource", "limit", "used"])
