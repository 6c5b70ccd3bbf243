"""``concord host maintenance``: drain a host of its guests, show the drain, end maintenance.

The drain itself runs as jobs (``host.drain`` and one ``compute.migrate`` per
guest, :mod:`engine.compute.maintenance`), which the server's embedded
worker or ``concord worker`` processes carry out: this command queues them
and, unless told not to, follows them until the host is empty or only
blocked guests are left, which it names with the reason.
"""

from __future__ import annotations

import argparse
import time

from concord.cli.context import CommandError, Context, inventory_service
from engine.compute.maintenance import DrainStatus, MaintenanceService

#: Seconds between two looks at a drain under way.
POLL = 0.5


def add_parser(host: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``host maintenance``."""
    p = host.add_parser(
        "maintenance",
        help="put a host into maintenance: no new guests, its guests move to other hosts",
    )
    p.add_argument("name")
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--cancel", action="store_true", help="end maintenance: the host takes guests again"
    )
    what.add_argument(
        "--status", action="store_true", help="show what is moving and what blocks the drain"
    )
    what.add_argument(
        "--no-wait", action="store_true", help="queue the drain and return without following it"
    )
    p.add_argument(
        "--wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="follow the drain this long at most (default 300)",
    )
    p.set_defaults(handler=host_maintenance)


def host_maintenance(ctx: Context, args: argparse.Namespace) -> None:
    """Start, follow, show or cancel a host's maintenance."""
    if args.wait <= 0:
        raise CommandError("--wait must be positive")
    with ctx.system() as (session, system):
        host = inventory_service(session).find_host(system, args.name)
        host_id, name = host.id, host.name
        service = MaintenanceService(session)
        if args.cancel:
            _host, cancelled = service.cancel(system, host_id)
            print(f"host {name} is up again; {cancelled} queued move(s) cancelled")
            return
        if args.status:
            _show(service.status(system, host_id))
            return
        job = service.start(system, host_id)
        job_id = job.id if job is not None else None
    print(f"host {name} is in maintenance")
    if job_id is None:
        return
    print(f"moving its guests to other hosts (job {job_id})", flush=True)
    if args.no_wait:
        return
    _follow(ctx, host_id, name, args.wait)


def _follow(ctx: Context, host_id: str, name: str, wait: float) -> None:
    deadline = time.monotonic() + wait
    said = None
    while True:
        with ctx.system() as (session, system):
            status = MaintenanceService(session).status(system, host_id)
            left = len(status.moving) + len(status.waiting)
            blocked = list(status.blocked)
            busy = status.running_job is not None or status.moving
        if left != said:
            print(f"  {left} guest(s) still to move", flush=True)
            said = left
        if not busy and not status.waiting:
            break
        if time.monotonic() >= deadline:
            raise CommandError(
                f"the drain of host {name} is still under way after {wait:g} s (is a server "
                f"or 'concord worker' running?); see 'concord host maintenance {name} --status'"
            )
        time.sleep(POLL)
    if not blocked:
        print(f"host {name} is drained")
        return
    for item in blocked:
        print(f"  {item.name} ({item.compute_id}): {item.reason}")
    raise CommandError(f"host {name} cannot be drained: {len(blocked)} guest(s) block it")


def _show(status: DrainStatus) -> None:
    host = status.host
    state = host.state.value
    print(f"host {host.name} is {'in ' if state == 'maintenance' else ''}{state}")
    if status.job is not None:
        print(f"latest drain: job {status.job.id}, {status.job.state.value}")
    for compute in status.moving:
        print(f"  {compute.name} ({compute.id}): moving")
    for compute in status.waiting:
        print(f"  {compute.name} ({compute.id}): waiting for the drain")
    for item in status.blocked:
        print(f"  {item.name} ({item.compute_id}): {item.reason}")
    if status.drained:
        print("no guest left on it")
