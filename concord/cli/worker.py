"""``concord worker``: run job workers as a separate process.

Any number of worker processes, on any number of machines, can share one
MariaDB database: jobs are claimed with row locks (engine.jobs.service).
SIGTERM and SIGINT stop a worker after the job it is running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import threading
from types import FrameType

import engine.handlers  # noqa: F401  (registers every job handler)
from concord.background import start_background
from concord.cli.context import CommandError, Context
from concord.logs import configure_logging
from engine.drivers.factory import DriverCache
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
    if not is_current(ctx.database):
        raise CommandError("the database schema is not current: run 'concord db upgrade'")
    configure_logging(ctx.settings.log_format, ctx.settings.log_level)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    drivers = DriverCache()  # one per process: workers and reconciliation share it
    stop_reconciling = (
        start_background(ctx.database, run_worker=False, drivers=drivers)
        if args.reconcile
        else None
    )
    workers = start_workers(ctx, drivers, args.threads, args.poll, args.stale_after)
    print(f"concord worker: {len(workers)} thread(s) claiming jobs", flush=True)
    stopping.wait()
    if stop_reconciling is not None:
        stop_reconciling()
    print("concord worker: stopping after the current jobs", flush=True)
    for w, _ in workers:
        w.stop()
    for _, thread in workers:
        thread.join()
