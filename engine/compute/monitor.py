"""Hypervisor events to engine states: reconcile a host as soon as it reports a change.

libvirt tells its subscribers when a guest starts, stops, crashes, pauses or
resumes. Waiting for the next periodic reconciliation to notice a guest that
crashed or was shut down from inside would leave the records wrong for
minutes; the monitor instead reconciles the host that reported the event,
right away.

Events arrive on libvirt's event thread, which must never block, so the
callback only notes the host; a thread of the monitor's own does the
database work. Events are debounced per host: a burst (a reboot is a stop
and a start) costs one reconciliation, which reads the guest's state *at
that moment* rather than trusting each event, so a reboot is not mistaken
for a stop (Nova delays STOPPED events for the same reason;
reference/engine.md §3.3). Reconciliation never overrides a compute whose
job is in flight, so the events the engine's own jobs cause change nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa

from engine.compute.crash_restart import CrashRestartPolicy
from engine.compute.reconcile import ReconcileReport, reconcile
from engine.db import Database
from engine.drivers.specs import LifecycleEvent
from engine.inventory.models import Host, HostState
from engine.jobs.worker import DriverFactory

log = logging.getLogger("engine.monitor")

_WATCHED = (HostState.UP, HostState.DISCONNECTED)


class EventMonitor:
    """Subscribes to every host's lifecycle events and reconciles the reporting host.

    :param database: where the computes are.
    :param drivers: the driver factory (the same one the workers use).
    :param debounce: seconds to wait after an event for more from the same host.
    :param crash_policy: restarts in place of crashed guests (see
        :func:`~engine.compute.reconcile.reconcile`).
    """

    def __init__(
        self,
        database: Database,
        drivers: DriverFactory,
        debounce: float = 1.0,
        crash_policy: CrashRestartPolicy | None = None,
    ) -> None:
        self.database = database
        self.drivers = drivers
        self.debounce = debounce
        self.crash_policy = crash_policy
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._subscriptions: dict[str, Callable[[], None]] = {}
        self.reconciled = 0

    def watch(self) -> int:
        """Subscribe to the hosts not watched yet; return how many are watched now.

        Call it again after hosts are added (the periodic reconciliation does).
        A host that cannot be reached is skipped and tried at the next call.
        """
        with self.database.transaction() as session:
            uris = list(session.scalars(sa.select(Host.uri).where(Host.state.in_(_WATCHED))))
        for uri in uris:
            if uri in self._subscriptions:
                continue
            try:
                self._subscriptions[uri] = self.drivers(uri).subscribe(self._on_event)
            except Exception:
                log.warning("cannot watch host events yet", extra={"uri": uri})
        return len(self._subscriptions)

    def _on_event(self, event: LifecycleEvent) -> None:
        # On libvirt's event thread: note the host and return at once.
        with self._lock:
            self._pending.add(event.host_uri)
        self._wakeup.set()

    def run_once(self) -> ReconcileReport:
        """Reconcile every host that reported events since the last call."""
        with self._lock:
            uris, self._pending = self._pending, set()
        report = ReconcileReport()
        if not uris:
            return report
        with self.database.transaction() as session:
            host_ids = list(session.scalars(sa.select(Host.id).where(Host.uri.in_(sorted(uris)))))
            report.merge(
                reconcile(session, self.drivers, host_ids=host_ids, crash_policy=self.crash_policy)
            )
        self.reconciled += len(host_ids)
        return report

    def run_forever(self) -> None:
        """Handle events until :meth:`stop`."""
        while not self._stop.is_set():
            self._wakeup.wait()
            self._wakeup.clear()
            if self._stop.wait(self.debounce):
                break
            try:
                self.run_once()
            except Exception:
                log.exception("event-driven reconciliation failed; the periodic pass will retry")

    def start_thread(self) -> threading.Thread:
        """Run :meth:`run_forever` in a daemon thread."""
        thread = threading.Thread(target=self.run_forever, name="concord-monitor", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Cancel every subscription and stop the thread."""
        self._stop.set()
        self._wakeup.set()
        for cancel in self._subscriptions.values():
            cancel()
        self._subscriptions.clear()
