"""``concord worker``: run job workers as a separate process.

Any number of worker processes, on any number of machines, can share one
MariaDB database: jobs are claimed with row locks (engine.jobs.service), and
each process also aggregates usage every ``usage_interval`` seconds (each
period is claimed by one of them, engine.usage.aggregate) and runs the
federation schedule: subscribed image lists synchronised every
``image_list_sync_interval`` seconds (and their images' bytes fetched into
``federation_image_dir``), this site's APEL records pushed every
``accounting_push_interval`` seconds, a registry's members' OCCI and CIMI
endpoints probed every ``federation_monitor_interval`` seconds (each turn
claimed by one of them,
engine.federation.schedule).
SIGTERM and SIGINT stop a worker after the job it is running. Each worker
process also runs the HA agent (host monitor and recovery, docs/ha.rst) unless
the ``ha_enabled`` setting is off; several agents share the work through the
database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import threading
from types import FrameType

import engine.handlers  # noqa: F401  (registers every job handler)
from concord.background import (
    CAPACITY_INTERVAL,
    start_background,
    start_capacity_watch,
    start_federation_schedule,
    start_usage_schedule,
)
from concord.cli.context import CommandError, Context
from concord.logs import configure_logging
from engine.drivers.factory import DriverCache
from engine.ha.agent import HaAgent
from engine.jobs.worker import Worker
from engine.schema import is_current


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``worker``."""
    p = sub.add_parser("worker", help="run job workers (any number, any machine)")
    p.add_argument("--threads", type=int, default=1, help="worker threads in this process")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")
    p.add_argument(
        "--stale-after",
        type=float,
        default=60.0,
        help="seconds without heartbeat after which a running job is taken over",
    )
    p.add_argument(
        "--reconcile",
        action="store_true",
        help="also reconcile the records with the hosts (at start, periodically and on "
        "libvirt events); run it in one worker when no 'concord serve' has an embedded "
        "worker. Not for simulated test:/// hosts, which live in one process's memory.",
    )
    p.add_argument(
        "--capacity-interval",
        type=float,
        default=CAPACITY_INTERVAL,
        help="seconds between two checks of capacity against the notification thresholds "
        "(alerts; 'concord threshold check' runs one); 0: no check in this process",
    )
    p.set_defaults(handler=worker)


def start_workers(
    ctx: Context, drivers: DriverCache, threads: int, poll: float, stale_after: float
) -> list[tuple[Worker, threading.Thread]]:
    """Start ``threads`` worker threads over the context's database; return them."""
    workers = [
        Worker(
            ctx.database,
            drivers,
            poll_interval=poll,
            stale_after=dt.timedelta(seconds=stale_after),
        )
        for _ in range(threads)
    ]
    return [(w, w.start_thread()) for w in workers]


def worker(ctx: Context, args: argparse.Namespace) -> None:
    """Run workers until SIGTERM or SIGINT."""
    if args.threads < 1 or args.poll <= 0 or args.stale_after <= 0:
        raise CommandError("--threads, --poll and --stale-after must be positive")
    ctx.require_database()
    if args.capacity_interval < 0:
        raise CommandError("--capacity-interval must be 0 (off) or positive")
    if not is_current(ctx.database):
        raise CommandError(
            f"the database schema is not current in {ctx.database_name}: run 'concord db upgrade'"
        )
    configure_logging(ctx.settings.log_format, ctx.settings.log_level)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    drivers = DriverCache()  # one per process: workers and reconciliation share it
    stop_reconciling = (
        start_background(
            ctx.database,
            run_worker=False,
            drivers=drivers,
            ha=ctx.settings.ha_config() if ctx.settings.ha_enabled else None,
            crash_policy=ctx.settings.crash_restart_policy(),
        )
        if args.reconcile
        else None
    )
    workers = start_workers(ctx, drivers, args.threads, args.poll, args.stale_after)
    # With --reconcile the background work runs the HA agent already.
    agent = None
    if ctx.settings.ha_enabled and not args.reconcile:
        agent = HaAgent(ctx.database, drivers, ctx.settings.ha_config())
        agent.start()
    stop_watching = (
        start_capacity_watch(ctx.database, args.capacity_interval)
        if args.capacity_interval
        else None
    )
    ha = ", HA agent" if ctx.settings.ha_enabled else ""
    print(f"concord worker: {len(workers)} thread(s) claiming jobs{ha}", flush=True)
    stop_usage = start_usage_schedule(ctx.database, ctx.settings)
    stop_federation = start_federation_schedule(ctx.database, ctx.settings, ctx.server_keys)
    stopping.wait()
    stop_usage()
    stop_federation()
    if agent is not None:
        agent.stop()
    if stop_reconciling is not None:
        stop_reconciling()
    if stop_watching is not None:
        stop_watching()
    print("concord worker: stopping after the current jobs", flush=True)
    for w, _ in workers:
        w.stop()
    for _, thread in workers:
        thread.join()
