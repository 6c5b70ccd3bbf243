"""What exists, for the operator: computes, volumes, jobs and events of every tenant.

``concord compute list|show``, ``concord volume list``, ``concord job list|show`` and
``concord event list`` read the database as Concord itself (the system scope), so they see
every tenant's resources; each prints an aligned table or, with ``--format json``, a JSON
document for scripts. Lists are newest first and bounded by ``--limit``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.cli.context import CommandError, Context, print_table
from engine.compute.models import Compute
from engine.events.models import Event
from engine.inventory.models import Host, StoragePool, Zone
from engine.jobs.models import Job, JobState
from engine.scope import Scope
from engine.storage.models import StorageAttachment, Volume
from engine.tenancy.models import Account, Domain
from engine.tenancy.service import TenancyService

GIB = 1024**3
DEFAULT_LIMIT = 100


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register compute, volume, job and event."""

    def common(p: argparse.ArgumentParser, account: bool = True, limit: bool = True) -> None:
        p.add_argument("--format", choices=["table", "json"], default="table")
        if account:
            p.add_argument("--account", help="only this account's (by name, with --domain)")
            p.add_argument("--domain", default="ROOT", help="the account's domain (ROOT)")
        if limit:
            p.add_argument(
                "--limit",
                type=int,
                default=DEFAULT_LIMIT,
                help=f"at most N (newest first; {DEFAULT_LIMIT})",
            )

    compute = sub.add_parser("compute", help="see every tenant's computes").add_subparsers(
        dest="action", required=True
    )
    p = compute.add_parser("list", help="list computes with their owner, state and host")
    common(p)
    p.add_argument("--host", help="only those placed on this host")
    p.add_argument("--zone", help="only those in this zone")
    p.add_argument("--state", help="only those in this state (running, stopped, error, ...)")
    p.set_defaults(handler=compute_list)
    p = compute.add_parser("show", help="one compute in full, with its volumes and jobs")
    p.add_argument("compute", help="its id, or its name if no other compute has it")
    common(p, account=False, limit=False)
    p.set_defaults(handler=compute_show)

    volume = sub.add_parser("volume", help="see every tenant's volumes").add_subparsers(
        dest="action", required=True
    )
    p = volume.add_parser("list", help="list volumes with their owner, pool and compute")
    common(p)
    p.add_argument("--host", help="only those in this host's local pools")
    p.set_defaults(handler=volume_list)

    job = sub.add_parser("job", help="see the job queue").add_subparsers(
        dest="action", required=True
    )
    p = job.add_parser("list", help="list jobs, newest first")
    common(p)
    p.add_argument("--state", choices=[s.value for s in JobState], help="only jobs in this state")
    p.add_argument("--target", help="only jobs on this resource (its id)")
    p.set_defaults(handler=job_list)
    p = job.add_parser("show", help="one job in full")
    p.add_argument("job", help="its id")
    common(p, account=False, limit=False)
    p.set_defaults(handler=job_show)

    event = sub.add_parser("event", help="see the event log").add_subparsers(
        dest="action", required=True
    )
    p = event.add_parser("list", help="list events, newest first")
    common(p)
    p.add_argument("--host", help="only events of this host and of the guests placed on it")
    p.add_argument("--since", type=_timestamp, help="only events at or after (ISO 8601, UTC)")
    p.add_argument("--until", type=_timestamp, help="only events before (ISO 8601, UTC)")
    p.add_argument("--type", help="only events of this type (compute.created, ...)")
    p.set_defaults(handler=event_list)


def _timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (2026-12-07 or 2026-12-07T08:30:00)"
        ) from None
    # A time without a zone is UTC, as every time Concord prints is.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# -- shared ---------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat()


def _output(args: argparse.Namespace, rows: list[dict[str, Any]], columns: list[str]) -> None:
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    else:
        print_table(
            [{c: "-" if r.get(c) is None else r[c] for c in columns} for r in rows], columns
        )


def _show(args: argparse.Namespace, record: dict[str, Any]) -> None:
    if args.format == "json":
        print(json.dumps(record, indent=2, default=str))
        return
    width = max(len(k) for k in record)
    for key, value in record.items():
        if isinstance(value, list):
            print(f"{key}:".ljust(width + 2) + ("" if value else "-"))
            for item in value:
                print("  " + "  ".join(f"{k}={v}" for k, v in item.items()))
        else:
            print(f"{key}:".ljust(width + 2) + ("-" if value in (None, "") else str(value)))


class Names:
    """Names of accounts, hosts and zones by id, looked up once per command."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._accounts: dict[str, str] | None = None
        self._hosts: dict[str, str] | None = None
        self._zones: dict[str, str] | None = None

    def account(self, account_id: str | None) -> str | None:
        """``<domain path>/<account>``, the way the other commands name an account."""
        if account_id is None:
            return None
        if self._accounts is None:
            tenancy = TenancyService(self.session)
            domains = {
                d.id: tenancy.domain_name_path(d) for d in self.session.scalars(sa.select(Domain))
            }
            self._accounts = {
                a.id: f"{domains.get(a.domain_id, '?')}/{a.name}"
                for a in self.session.scalars(sa.select(Account))
            }
        return self._accounts.get(account_id, account_id)

    def host(self, host_id: str | None) -> str | None:
        if host_id is None:
            return None
        if self._hosts is None:
            self._hosts = dict(self.session.execute(sa.select(Host.id, Host.name)).all())
        return self._hosts.get(host_id, host_id)

    def zone(self, zone_id: str | None) -> str | None:
        if zone_id is None:
            return None
        if self._zones is None:
            self._zones = dict(self.session.execute(sa.select(Zone.id, Zone.name)).all())
        return self._zones.get(zone_id, zone_id)


def _account_id(session: Session, system: Scope, args: argparse.Namespace) -> str | None:
    if not getattr(args, "account", None):
        return None
    tenancy = TenancyService(session)
    domain = tenancy.find_domain(system, args.domain)
    return tenancy.find_account(system, domain.id, args.account).id


def _host_id(session: Session, name: str) -> str:
    host_id = session.scalar(sa.select(Host.id).where(Host.name == name))
    if host_id is None:
        raise CommandError(f"no host {name!r}")
    return host_id


def _limit(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CommandError("--limit must be positive")
    return int(args.limit)


# -- computes -------------------------------------------------------------------------


def compute_row(compute: Compute, names: Names) -> dict[str, Any]:
    """One compute as the list shows it."""
    return {
        "id": compute.id,
        "name": compute.name,
        "account": names.account(compute.account_id),
        "state": compute.state,
        "host": names.host(compute.host_id),
        "zone": names.zone(compute.zone_id),
        "vcpus": compute.vcpus,
        "memory_mib": compute.memory_mib,
        "created": _iso(compute.created),
    }


def guests_on(session: Session, host_id: str) -> list[Compute]:
    """The computes placed on a host, oldest first."""
    return list(
        session.scalars(
            sa.select(Compute).where(Compute.host_id == host_id).order_by(Compute.created)
        )
    )


def compute_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        query = sa.select(Compute)
        account_id = _account_id(session, system, args)
        if account_id is not None:
            query = query.where(Compute.account_id == account_id)
        if args.host:
            query = query.where(Compute.host_id == _host_id(session, args.host))
        if args.zone:
            zone_id = session.scalar(sa.select(Zone.id).where(Zone.name == args.zone))
            if zone_id is None:
                raise CommandError(f"no zone {args.zone!r}")
            query = query.where(Compute.zone_id == zone_id)
        if args.state:
            query = query.where(Compute.state == args.state)
        query = query.order_by(Compute.created.desc(), Compute.id).limit(_limit(args))
        names = Names(session)
        rows = [compute_row(c, names) for c in session.scalars(query)]
    columns = ["name", "account", "state", "host", "zone", "vcpus", "memory_mib", "created", "id"]
    _output(args, rows, columns)


def _find_compute(session: Session, key: str) -> Compute:
    found = session.get(Compute, key)
    if found is not None:
        return found
    matches = list(session.scalars(sa.select(Compute).where(Compute.name == key).limit(2)))
    if not matches:
        raise CommandError(f"no compute {key!r}")
    if len(matches) > 1:
        raise CommandError(f"several computes are named {key!r}: give its id")
    return matches[0]


def compute_show(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        compute = _find_compute(session, args.compute)
        names = Names(session)
        record = compute_row(compute, names)
        record.update(
            {
                "description": compute.description,
                "state_message": compute.state_message,
                "power_state": compute.power_state,
                "last_host": names.host(compute.last_host_id),
                "hostname": compute.hostname,
                "arch": compute.arch,
                "ha_enabled": compute.ha_enabled,
                "root_disk_gib": round(compute.root_disk_bytes / GIB, 1),
                "updated": _iso(compute.updated),
            }
        )
        record["volumes"] = [
            {"device": a.device, "volume": v.name or v.id, "id": v.id, "state": a.state}
            for a, v in session.execute(
                sa.select(StorageAttachment, Volume)
                .join(Volume, Volume.id == StorageAttachment.volume_id)
                .where(StorageAttachment.compute_id == compute.id)
                .order_by(StorageAttachment.device)
            )
        ]
        record["jobs"] = [
            {"id": j.id, "action": j.action, "state": j.state.value, "created": _iso(j.created)}
            for j in session.scalars(
                sa.select(Job)
                .where(Job.target_id == compute.id)
                .order_by(Job.created.desc())
                .limit(10)
            )
        ]
    _show(args, record)


# -- volumes --------------------------------------------------------------------------


def volume_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        query = sa.select(Volume)
        account_id = _account_id(session, system, args)
        if account_id is not None:
            query = query.where(Volume.account_id == account_id)
        if args.host:
            pools = sa.select(StoragePool.id).where(
                StoragePool.host_id == _host_id(session, args.host)
            )
            query = query.where(Volume.pool_id.in_(pools))
        query = query.order_by(Volume.created.desc(), Volume.id).limit(_limit(args))
        names = Names(session)
        pools_by_id = dict(session.execute(sa.select(StoragePool.id, StoragePool.name)).all())
        volumes = list(session.scalars(query))
        attached: dict[str, str] = {}
        if volumes:
            for volume_id, compute_name, compute_id in session.execute(
                sa.select(StorageAttachment.volume_id, Compute.name, Compute.id)
                .join(Compute, Compute.id == StorageAttachment.compute_id)
                .where(StorageAttachment.volume_id.in_([v.id for v in volumes]))
            ):
                attached[volume_id] = compute_name or compute_id
        rows = [
            {
                "id": v.id,
                "name": v.name,
                "account": names.account(v.account_id),
                "state": v.state,
                "size_gib": round(v.size_bytes / GIB, 1),
                "pool": pools_by_id.get(v.pool_id or "", v.pool_id),
                "zone": names.zone(v.zone_id),
                "attached_to": attached.get(v.id),
                "created": _iso(v.created),
            }
            for v in volumes
        ]
    columns = ["name", "account", "state", "size_gib", "pool", "attached_to", "created", "id"]
    _output(args, rows, columns)


# -- jobs -----------------------------------------------------------------------------


def job_row(job: Job, names: Names) -> dict[str, Any]:
    """One job as the list shows it."""
    return {
        "id": job.id,
        "action": job.action,
        "target": f"{job.target_type}/{job.target_id}",
        "account": names.account(job.account_id),
        "state": job.state.value,
        "progress": job.progress,
        "created": _iso(job.created),
        "finished": _iso(job.finished),
        "error": job.error,
    }


def job_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        query = sa.select(Job)
        account_id = _account_id(session, system, args)
        if account_id is not None:
            query = query.where(Job.account_id == account_id)
        if args.state:
            query = query.where(Job.state == JobState(args.state))
        if args.target:
            query = query.where(Job.target_id == args.target)
        query = query.order_by(Job.created.desc(), Job.id).limit(_limit(args))
        names = Names(session)
        rows = [job_row(j, names) for j in session.scalars(query)]
    _output(args, rows, ["id", "action", "target", "account", "state", "created", "error"])


def job_show(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, _system):
        job = session.get(Job, args.job)
        if job is None:
            raise CommandError(f"no job {args.job!r}")
        record = job_row(job, Names(session))
        record.update(
            {
                "parameters": json.dumps(job.parameters, sort_keys=True),
                "result": json.dumps(job.result, sort_keys=True),
                "attempts": job.attempts,
                "claimed_by": job.claimed_by,
                "heartbeat": _iso(job.heartbeat),
                "started": _iso(job.started),
                "parent_job": job.parent_job_id,
            }
        )
    _show(args, record)


# -- events ---------------------------------------------------------------------------


def _resources_of_host(session: Session, host_id: str) -> Iterable[str]:
    yield host_id
    yield from session.scalars(
        sa.select(Compute.id).where(
            sa.or_(Compute.host_id == host_id, Compute.last_host_id == host_id)
        )
    )


def event_list(ctx: Context, args: argparse.Namespace) -> None:
    with ctx.system() as (session, system):
        query = sa.select(Event)
        account_id = _account_id(session, system, args)
        if account_id is not None:
            query = query.where(Event.account_id == account_id)
        if args.host:
            ids = list(_resources_of_host(session, _host_id(session, args.host)))
            query = query.where(Event.resource_id.in_(ids))
        if args.since is not None:
            query = query.where(Event.occurred >= args.since)
        if args.until is not None:
            query = query.where(Event.occurred < args.until)
        if args.type:
            query = query.where(Event.type == args.type)
        query = query.order_by(Event.seq.desc()).limit(_limit(args))
        names = Names(session)
        rows = [
            {
                "seq": e.seq,
                "occurred": _iso(e.occurred),
                "type": e.type,
                "resource": f"{e.resource_type}/{e.resource_id}",
                "account": names.account(e.account_id),
                "job": e.job_id,
                "payload": e.payload,
            }
            for e in session.scalars(query)
        ]
    if args.format == "table":
        for row in rows:
            row["payload"] = json.dumps(row["payload"], sort_keys=True)
    _output(args, rows, ["seq", "occurred", "type", "resource", "account", "payload"])
