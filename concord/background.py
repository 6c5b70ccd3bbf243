"""Background work inside ``concord serve``: the worker, reconciliation, event monitor, usage.

The federation schedule (image-list synchronisation, accounting push, a
registry's monitoring of its members' endpoints) runs
where the usage schedule runs: in the embedded worker and in each ``concord
worker`` process, each turn taken by one of them.

The capacity watch (notification thresholds) runs with every job worker:
in the embedded one, and in each ``concord worker`` process.

The embedded default runs one job worker thread, a reconciliation loop and
the HA agent (host monitor and recovery, unless ``ha_enabled`` is off) in the
API process; production deployments turn it off
(``CONCORD_EMBEDDED_WORKER=false``) and run ``concord worker`` processes.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

import engine.handlers  # noqa: F401  (registers every job handler)
from concord.accounting_push import export_and_send
from concord.federation_monitor import monitor_members
from concord.image_list_fetch import sync_lists
from concord.settings import Settings
from engine.allocation.notifications import WatchResult, watch_capacity
from engine.compute.crash_restart import CrashRestartPolicy, submit_due_restarts
from engine.compute.monitor import EventMonitor
from engine.compute.reconcile import run_reconciliation
from engine.compute.state import running_sizes_by_host
from engine.db import Database, utcnow
from engine.drivers.factory import DriverCache
from engine.federation.schedule import (
    ACCOUNTING_PUSH,
    FEDERATION_MONITOR,
    claim_due_lists,
    claim_task,
)
from engine.ha.agent import HaAgent
from engine.ha.config import HaConfig
from engine.inventory.host_counts import recount_zone_hosts
from engine.jobs.worker import Worker
from engine.tenancy.server_keys import ServerKeys
from engine.usage.export import ApelSite
from engine.usage.runner import run_aggregation

log = logging.getLogger("concord.background")

#: Seconds between two reconciliation passes (Nova's power-state sync runs
#: every 600 s; simulated hosts are cheap to ask, so more often).
RECONCILE_INTERVAL = 60.0
#: Seconds between two looks for hosts added since (their events are watched
#: from then on); a cheap query.
WATCH_INTERVAL = 5.0
#: Seconds between two comparisons of capacity with the notification
#: thresholds (CloudStack's ``capacity.check.period`` is 300 s; the check is
#: one report, a few queries).
CAPACITY_INTERVAL = 60.0


def check_capacity(database: Database) -> WatchResult:
    """Compare capacity with the notification thresholds once; raise and clear alerts."""
    with database.transaction() as session:
        return watch_capacity(session, running_sizes_by_host(session))


def start_capacity_watch(
    database: Database, interval: float = CAPACITY_INTERVAL
) -> Callable[[], None]:
    """Check capacity now and then every ``interval`` seconds, in a daemon thread.

    :returns: a function that stops the thread and waits for it.
    """
    stopping = threading.Event()

    def loop() -> None:
        while True:
            try:
                check_capacity(database)
            except Exception:
                log.exception("capacity check failed; retrying at the next interval")
            if stopping.wait(interval):
                return

    thread = threading.Thread(target=loop, name="concord-capacity", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join()

    return stop


def start_background(
    database: Database,
    *,
    run_worker: bool,
    drivers: DriverCache | None = None,
    ha: HaConfig | None = None,
    crash_policy: CrashRestartPolicy | None = None,
) -> Callable[[], None]:
    """Reconcile once (and recount the zones' host counts), then start the event
    monitor, the periodic reconciler, (when ``run_worker``) a job worker, and
    (when ``ha`` is given) the HA agent.

    :param drivers: the process's driver cache, when it already has one.
    :param ha: HA's settings; ``None``: no HA agent in this process.
    :param crash_policy: which crashed guests are restarted in place, and
        when; the reconciler queues the restarts that are due every
        :data:`WATCH_INTERVAL` seconds. None: none are.
    :returns: a function that stops them all and waits for them.
    """
    drivers = drivers or DriverCache()
    report = run_reconciliation(database, drivers, crash_policy)
    log.info("reconciled at start", extra={"report": str(report)})
    # The zones' stored host counts (random placement's range) against a
    # recount: each drifted zone is corrected and logged at WARNING.
    with database.transaction() as session:
        recount_zone_hosts(session)
    monitor = EventMonitor(database, drivers, crash_policy=crash_policy)
    monitor.watch()
    threads = [monitor.start_thread()]
    worker = Worker(database, drivers) if run_worker else None
    if worker is not None:
        threads.append(worker.start_thread())
    agent = HaAgent(database, drivers, ha) if ha is not None else None
    if agent is not None:
        agent.start()
    # The embedded worker stands for the worker processes: it watches capacity too.
    stop_capacity = start_capacity_watch(database) if run_worker else None
    stopping = threading.Event()

    def reconcile_loop() -> None:
        since_reconciliation = 0.0
        while not stopping.wait(WATCH_INTERVAL):
            since_reconciliation += WATCH_INTERVAL
            try:
                monitor.watch()  # hosts added since the last look
                if since_reconciliation >= RECONCILE_INTERVAL:
                    since_reconciliation = 0.0
                    run_reconciliation(database, drivers, crash_policy)
                if crash_policy is not None:
                    with database.transaction() as session:
                        submit_due_restarts(session, crash_policy)
            except Exception:
                log.exception("reconciliation failed; retrying at the next interval")

    reconciler = threading.Thread(target=reconcile_loop, name="concord-reconcile", daemon=True)
    reconciler.start()
    threads.append(reconciler)

    def stop() -> None:
        stopping.set()
        monitor.stop()
        if agent is not None:
            agent.stop()
        if stop_capacity is not None:
            stop_capacity()
        if worker is not None:
            worker.stop()
        for thread in threads:
            thread.join()

    return stop


def start_usage_schedule(database: Database, settings: Settings) -> Callable[[], None]:
    """Aggregate usage every ``usage_interval`` seconds in a thread (docs/usage.rst).

    Any number of processes may run the schedule against one database: each
    period is claimed by one of them (engine.usage.aggregate).

    :returns: a function that stops the thread and waits for it (a no-op
        when ``usage_interval`` is 0).
    """
    if settings.usage_interval <= 0:
        return lambda: None
    stopping = threading.Event()

    def loop() -> None:
        while True:
            try:
                report = run_aggregation(
                    database,
                    granularity=settings.usage_period,
                    settle_seconds=settings.usage_settle_seconds,
                    stopping=stopping.is_set,
                )
                if report.periods:
                    log.info("usage aggregated", extra={"report": str(report)})
            except Exception:
                log.exception("usage aggregation failed; retrying at the next interval")
            if stopping.wait(settings.usage_interval):
                return

    thread = threading.Thread(target=loop, name="concord-usage", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join()

    return stop


#: Seconds between two looks at the federation schedule's due turns.
FEDERATION_TICK = 30.0


def run_federation_turns(
    database: Database, settings: Settings, server_keys: ServerKeys, now: dt.datetime | None = None
) -> list[str]:
    """Take and run every federation turn that is due now; what was done, for the log.

    Image lists are synchronised every ``image_list_sync_interval`` seconds
    each, and the site's APEL records pushed or queued every
    ``accounting_push_interval`` seconds when a push URL or queue is set,
    and a registry's members' endpoints probed every
    ``federation_monitor_interval`` seconds (docs/federation.rst). Each
    turn is claimed in the database, so of several workers one runs it
    (engine.federation.schedule).
    """
    now = now or utcnow()
    done: list[str] = []
    if settings.image_list_sync_interval > 0:
        with database.transaction() as session:
            names = claim_due_lists(session, now, settings.image_list_sync_interval)
        timeout = float(settings.federation_http_timeout) * 6
        for name in names:
            outcome = sync_lists(
                database, server_keys, timeout, name, image_dir=settings.image_dir()
            ).get(name)
            verdict = outcome.refused if outcome and outcome.refused else "accepted"
            done.append(f"image list {name}: {verdict}")
            for image, error in outcome.fetched if outcome else ():
                done.append(f"image {image}: " + (f"not fetched: {error}" if error else "fetched"))
    pushing = settings.accounting_push_url or settings.accounting_queue
    if pushing and settings.accounting_push_interval > 0:
        with database.transaction() as session:
            due = claim_task(session, ACCOUNTING_PUSH, now, settings.accounting_push_interval)
        if due:
            sent = export_and_send(
                database,
                ApelSite(settings.site_name, settings.usage_compute_service),
                push_url=settings.accounting_push_url,
                token=settings.accounting_push_token,
                queue=settings.accounting_queue,
                timeout=float(settings.federation_http_timeout) * 6,
            )
            done.append(f"accounting: {sent.records} record(s) in {sent.messages} message(s)")
    if settings.federation_monitor_interval > 0:
        with database.transaction() as session:
            due = claim_task(session, FEDERATION_MONITOR, now, settings.federation_monitor_interval)
        if due:
            probed = monitor_members(
                database, server_keys, timeout=float(settings.federation_http_timeout) * 6
            )
            done += [f"monitor {p.member} {p.interface}: {p.health}" for p in probed]
    return done


def _scheduled(settings: Settings) -> bool:
    """Whether any federation turn is scheduled at all."""
    pushing = settings.accounting_push_url or settings.accounting_queue
    return (
        settings.image_list_sync_interval > 0
        or bool(pushing and settings.accounting_push_interval > 0)
        or settings.federation_monitor_interval > 0
    )


def start_federation_schedule(
    database: Database, settings: Settings, server_keys: ServerKeys
) -> Callable[[], None]:
    """Run :func:`run_federation_turns` every :data:`FEDERATION_TICK` seconds in a thread.

    :returns: a function that stops the thread and waits for it (a no-op
        when nothing is scheduled).
    """
    if not _scheduled(settings):
        return lambda: None
    stopping = threading.Event()

    def loop() -> None:
        while True:
            try:
                for line in run_federation_turns(database, settings, server_keys):
                    log.info("federation schedule: %s", line)
            except Exception:
                log.exception("a federation turn failed; retrying at its next turn")
            if stopping.wait(FEDERATION_TICK):
                return

    thread = threading.Thread(target=loop, name="concord-federation", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join()

    return stop
