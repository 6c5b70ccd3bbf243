"""Background work inside ``concord serve``: the worker, reconciliation, event monitor.

The embedded default runs one job worker thread and a reconciliation loop in
the API process; production deployments turn it off
(``CONCORD_EMBEDDED_WORKER=false``) and run ``concord worker`` processes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import engine.handlers  # noqa: F401  (registers every job handler)
from engine.compute.monitor import EventMonitor
from engine.compute.reconcile import run_reconciliation
from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.jobs.worker import Worker

log = logging.getLogger("concord.background")

#: Seconds between two reconciliation passes (Nova's power-state sync runs
#: every 600 s; simulated hosts are cheap to ask, so more often).
RECONCILE_INTERVAL = 60.0
#: Seconds between two looks for hosts added since (their events are watched
#: from then on); a cheap query.
WATCH_INTERVAL = 5.0


def start_background(
    database: Database, *, run_worker: bool, drivers: DriverCache | None = None
) -> Callable[[], None]:
    """Reconcile once, then start the event monitor, the periodic reconciler and
    (when ``run_worker``) a job worker.

    :param drivers: the process's driver cache, when it already has one.
    :returns: a function that stops them all and waits for them.
    """
    drivers = drivers or DriverCache()
    report = run_reconciliation(database, drivers)
    log.info("reconciled at start", extra={"report": str(report)})
    monitor = EventMonitor(database, drivers)
    monitor.watch()
    threads = [monitor.start_thread()]
    worker = Worker(database, drivers) if run_worker else None
    if worker is not None:
        threads.append(worker.start_thread())
    stopping = threading.Event()

    def reconcile_loop() -> None:
        since_reconciliation = 0.0
        while not stopping.wait(WATCH_INTERVAL):
            since_reconciliation += WATCH_INTERVAL
            try:
                monitor.watch()  # hosts added since the last look
                if since_reconciliation >= RECONCILE_INTERVAL:
                    since_reconciliation = 0.0
                    run_reconciliation(database, drivers)
            except Exception:
                log.exception("reconciliation failed; retrying at the next interval")

    reconciler = threading.Thread(target=reconcile_loop, name="concord-reconcile", daemon=True)
    reconciler.start()
    threads.append(reconciler)

    def stop() -> None:
        stopping.set()
        monitor.stop()
        if worker is not None:
            worker.stop()
        for thread in threads:
            thread.join()

    return stop
