"""Host monitoring: a heartbeat per host, the health machine, and declaring hosts down.

Every ``check_interval`` seconds :meth:`HostMonitor.check_once` asks each
watched host (``up``, ``disconnected`` or ``alert``) for its guest list
through the process's shared connection, whose libvirt keepalive (5 s x 3,
:mod:`engine.drivers.libvirt.client`) also closes a connection that went
silent between calls. All hosts are asked in parallel, each call in a thread
of its own with a deadline of ``probe_timeout``; a host whose previous
heartbeat is still blocked counts as not answering (no thread piles up
behind a stuck one).

A host silent for ``down_after`` seconds is asked once more through an
independent path, a fresh connection of its own
(:func:`~engine.drivers.libvirt.probe.probe_fresh_connection`); only if that
fails too is it declared down (:mod:`engine.ha.health`). Then, in one
transaction, the host becomes ``down`` in the inventory (no placement, no
reconciliation), an event ``host.down`` is recorded, and the host's HA work
item is opened (:mod:`engine.ha.queue`) with its history: suspect since when,
detected when, last heard of when. ``suspect`` is HA's own state (events
``host.suspect`` and ``host.up``): the inventory is not touched, so a host that
is only slow under load keeps taking guests; only ``down`` takes it out.

Several processes may run monitors on one database: state changes are
conditional updates on the state read, and a host has at most one open item
(a unique key), so they agree without talking to each other.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import Database, utcnow
from engine.drivers.base import HypervisorDriver
from engine.drivers.libvirt.probe import probe_fresh_connection
from engine.drivers.timed import call_with_timeout
from engine.events.alerts import AlertSubject, raise_alert
from engine.events.service import DomainEvent, emit
from engine.ha import queue
from engine.ha.config import HaConfig
from engine.ha.health import HealthRecord, Observation, needs_witness, step
from engine.ha.models import HaHealth, HaItem, HaItemKind, HaStep, HostHealth
from engine.ha.storm import in_storm, storm_key
from engine.inventory.models import Cluster, Host, HostState, Pod
from engine.scope import Owner

log = logging.getLogger("engine.ha.monitor")

#: Inventory states whose hosts are watched.
WATCHED = (HostState.UP, HostState.DISCONNECTED, HostState.ALERT)
_SYSTEM = Owner(None, None, None)


@dataclass(frozen=True)
class Watched:
    """A host as the monitor sees it."""

    id: str
    name: str
    uri: str
    zone_id: str


def watched_hosts(session: Session) -> list[Watched]:
    """The hosts to check, with their zones."""
    rows = session.execute(
        sa.select(Host.id, Host.name, Host.uri, Pod.zone_id)
        .join(Cluster, Host.cluster_id == Cluster.id)
        .join(Pod, Cluster.pod_id == Pod.id)
        .where(Host.state.in_(WATCHED))
        .order_by(Host.name)
    )
    return [Watched(*row) for row in rows]


class HostMonitor:
    """Checks every watched host and moves it through the health machine.

    :param database: where hosts and their health are.
    :param drivers: the driver of a host by URI (the process's driver cache).
    :param config: the thresholds.
    :param witness: the independent second check (raises when the host does
        not answer); a fresh libvirt connection by default.
    """

    def __init__(
        self,
        database: Database,
        drivers: Callable[[str], HypervisorDriver],
        config: HaConfig,
        witness: Callable[[str], None] = probe_fresh_connection,
    ) -> None:
        self.database = database
        self.drivers = drivers
        self.config = config
        self.witness = witness
        self._inflight: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    # -- checks ----------------------------------------------------------------

    def _parallel(self, hosts: list[Watched], check: Callable[[Watched], None]) -> dict[str, bool]:
        """Run ``check`` on every host at once; which answered within ``probe_timeout``."""
        results: dict[str, bool] = {}
        threads = []
        for host in hosts:
            with self._lock:
                busy = self._inflight.get(host.id)
                if busy is not None and not busy.is_set():
                    results[host.id] = False  # still stuck in an earlier check
                    continue
                done = self._inflight[host.id] = threading.Event()

            def run(host: Watched = host, done: threading.Event = done) -> None:
                try:
                    check(host)
                    results[host.id] = True
                except Exception:
                    results[host.id] = False
                finally:
                    done.set()

            thread = threading.Thread(target=run, name=f"ha-check-{host.name}", daemon=True)
            thread.start()
            threads.append((host, thread))
        deadline = self.config.probe_timeout
        start = dt.datetime.now(dt.UTC)
        for host, thread in threads:
            left = deadline - (dt.datetime.now(dt.UTC) - start).total_seconds()
            thread.join(max(left, 0))
            results.setdefault(host.id, False)
        return {host_id: results.get(host_id, False) for host_id in results}

    def _heartbeat(self, host: Watched) -> None:
        self.drivers(host.uri).list_guests()

    def _second_check(self, host: Watched) -> None:
        call_with_timeout(lambda: self.witness(host.uri), self.config.probe_timeout)

    def check_once(self, now: dt.datetime | None = None) -> dict[str, HaHealth]:
        """Check every watched host once; return each one's health after the check."""
        with self.database.transaction() as session:
            hosts = watched_hosts(session)
        if not hosts:
            return {}
        answered = self._parallel(hosts, self._heartbeat)
        at = now or utcnow()
        with self.database.transaction() as session:
            records = self._records(session, hosts, at)
        hosts = [host for host in hosts if host.id in records]
        silent = [
            h
            for h in hosts
            if not answered[h.id] and needs_witness(records[h.id], at, self.config.policy)
        ]
        witness = self._parallel(silent, self._second_check) if silent else {}
        result: dict[str, HaHealth] = {}
        with self.database.transaction() as session:
            for host in hosts:
                seen = Observation(at, answered[host.id], witness.get(host.id))
                result[host.id] = self._apply(session, host, records[host.id], seen)
        return result

    # -- persistence -----------------------------------------------------------

    @staticmethod
    def _records(
        session: Session, hosts: list[Watched], at: dt.datetime
    ) -> dict[str, HealthRecord]:
        rows = {
            row.host_id: row
            for row in session.scalars(
                sa.select(HostHealth).where(HostHealth.host_id.in_([h.id for h in hosts]))
            )
        }
        records = {}
        for host in hosts:
            row = rows.get(host.id)
            if row is None:
                # First sight (or after an operator brought it back): the
                # clock starts now, so an old silence never counts.
                try:
                    with session.begin_nested():
                        row = HostHealth(host_id=host.id, state=HaHealth.UP, last_ok=at, since=at)
                        session.add(row)
                except sa.exc.IntegrityError:
                    found = session.get(HostHealth, host.id, populate_existing=True)
                    if found is None:  # added and removed meanwhile: look next time
                        continue
                    row = found
            elif row.state is HaHealth.DOWN and not session.scalar(
                sa.select(HaItem.id).where(HaItem.active_key == queue.host_key(host.id))
            ):
                # Down, its recovery over, and watched again: an operator
                # brought it back (``concord host enable``). A new life.
                row.state, row.last_ok, row.since = HaHealth.UP, at, at
                session.flush()
            records[host.id] = HealthRecord(row.state, row.last_ok, row.since)
        return records

    def _apply(
        self, session: Session, host: Watched, old: HealthRecord, seen: Observation
    ) -> HaHealth:
        new = step(old, seen, self.config.policy)
        detail = _detail(seen)
        result = session.execute(
            sa.update(HostHealth)
            .where(
                HostHealth.host_id == host.id,
                HostHealth.state == old.state,
                HostHealth.since == old.since,
            )
            .values(
                state=new.state,
                last_ok=new.last_ok,
                since=new.since,
                last_check=seen.at,
                detail=detail,
            )
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return old.state  # another monitor moved it meanwhile: its word stands
        if new.state is not old.state:
            self._transition(session, host, old, new, detail)
        return new.state

    def _transition(
        self, session: Session, host: Watched, old: HealthRecord, new: HealthRecord, detail: str
    ) -> None:
        payload = {
            "name": host.name,
            "zone_id": host.zone_id,
            "previous": old.state.value,
            "last_ok": new.last_ok.isoformat(),
            "detail": detail,
        }
        emit(session, DomainEvent(f"host.{new.state.value}", "host", host.id, _SYSTEM, payload))
        log.warning(
            "host %s is %s (was %s): %s", host.name, new.state.value, old.state.value, detail
        )
        # ``suspect`` is HA's own: the inventory state stays as it is, so a host
        # that is only slow keeps taking guests until it is declared down.
        if new.state is HaHealth.DOWN:
            session.execute(
                sa.update(Host)
                .where(Host.id == host.id, Host.state.in_(WATCHED))
                .values(state=HostState.DOWN)
                .execution_options(synchronize_session=False)
            )
            self._open_item(session, host, old, new, detail)

    def _open_item(
        self, session: Session, host: Watched, old: HealthRecord, new: HealthRecord, detail: str
    ) -> None:
        item = HaItem(
            kind=HaItemKind.HOST,
            host_id=host.id,
            zone_id=host.zone_id,
            step=HaStep.DETECTED,
            last_ok=new.last_ok,
            created=new.since,
        )
        if not queue.open_host_item(session, item):
            return
        if old.state is HaHealth.SUSPECT:
            queue.note(session, item, "suspect", "the heartbeat stopped answering", old.since)
        silence = (new.since - new.last_ok).total_seconds()
        queue.record(
            session,
            item,
            HaStep.DETECTED,
            f"declared down after {silence:.1f} s of silence; {detail}",
            new.since,
        )
        storm, failed, total = in_storm(
            session, host.zone_id, self.config.storm_share, self.config.storm_window, new.since
        )
        if storm:
            message = (
                f"{failed} of the zone's {total} hosts failed within "
                f"{self.config.storm_window:g} s: automatic fencing and recovery are stopped "
                "in the zone; fence hosts with 'concord host fence HOST --confirm' or "
                "release the zone with 'concord ha resume ZONE'"
            )
            queue.record(session, item, HaStep.HELD, "storm guard: " + message)
            raise_alert(
                session,
                key=storm_key(host.zone_id),
                source="ha",
                subject=AlertSubject("zone", host.zone_id),
                message=message,
                severity="critical",
            )


def _detail(seen: Observation) -> str:
    if seen.answered:
        return "the heartbeat answered"
    if seen.witness is None:
        return "the heartbeat did not answer"
    if seen.witness:
        return "the heartbeat did not answer; a second connection did"
    return "neither the heartbeat nor a second connection answered"


__all__ = ["WATCHED", "HostMonitor", "Watched", "watched_hosts"]
