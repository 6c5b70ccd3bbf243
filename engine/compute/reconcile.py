"""Reconciliation: make the records agree with what the hypervisors report.

Run at start-up (a crash at any moment loses nothing: the engine re-reads
the hosts) and periodically after that, as Nova's ``_sync_power_states``
does (reference/engine.md §3.3). For every host that is up (or was
disconnected, to notice that it is back):

* each compute placed there whose state disagrees with its guest's power
  state is moved to the observed state with :func:`engine.lifecycle.observe`
  (a guest shut off behind our back is ``stopped``; one that crashed, is
  shut off because it crashed while it was meant to run, or is missing is
  ``error`` with a ``state_message``), and every compute gets its
  ``power_state`` and ``power_state_seen``;
* a compute left in a transitional state with no queued or running job
  (its job was cancelled, or ended without recording its result) is taken
  back to what its guest shows, forcing the lifecycle;
* engine guests (``concord-<uuid>``) that no compute on that host accounts
  for are *reported* and logged, never destroyed: they may be the only copy
  of someone's data, and an operator decides;
* root disks (``concord-root-<uuid>``) of computes that are deleted, or
  whose creation failed before recording them, are deleted and their pool
  claims given back (:mod:`engine.compute.root_disks`): the owner is done
  with them; one whose compute the database has never known is left alone,
  like an unknown guest;
* a host whose driver cannot be reached becomes ``disconnected`` (and
  ``up`` again once it answers); HA decides whether it is down.

A guest missing from its host is recorded as ``error`` ("the guest vanished
from its host"). On a simulated ``test:///`` host this is what happens to
every guest when the server process restarts, since such a host lives in the
process's memory: it is treated like a host that rebooted and lost its
guests. The owner brings the compute back with ``force_stop`` (which defines
the guest again from the database, stopped) and ``start``, or deletes it.

``error`` computes are left alone (only their power state is recorded): the
error is the owner's to read and clear. Computes with a job in flight are
not touched at all: the job owns them. Jobs whose worker died are the
worker's business (:meth:`engine.jobs.worker.Worker.recover` requeues or fails
them, periodically); reconciliation only repairs computes whose job is gone.

Every change is a conditional update on the state read *before* the host was
asked (:func:`~engine.compute.state.change_state`), so a job that
changes a compute meanwhile always wins, and running reconciliation again
changes nothing more: it is safe to run at any time, from any process.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.compute.crash_restart import CrashRestartPolicy, note_crash, record_note
from engine.compute.models import Compute
from engine.compute.root_disks import remove_orphan_root_disks
from engine.compute.state import change_state, emit_compute
from engine.db import Database, utcnow
from engine.drivers.specs import PowerState
from engine.errors import Conflict, DriverError, DriverUnavailable, PermissionDenied
from engine.events.service import DomainEvent, emit
from engine.inventory.models import Host, HostState
from engine.jobs.service import targets_with_pending_jobs
from engine.jobs.worker import DriverFactory
from engine.lifecycle import Kind, State
from engine.scope import Owner, Scope

log = logging.getLogger(__name__)

#: What each power state says about a compute; None: in passing, look again next time.
OBSERVED: dict[PowerState, State | None] = {
    PowerState.RUNNING: State.RUNNING,
    PowerState.BLOCKED: State.RUNNING,
    PowerState.PAUSED: State.PAUSED,
    # Suspended by the guest itself (ACPI S3): memory kept, vCPUs idle.
    PowerState.PMSUSPENDED: State.PAUSED,
    PowerState.SHUTOFF: State.STOPPED,
    PowerState.SUSPENDED: State.SUSPENDED,
    PowerState.CRASHED: State.ERROR,
    PowerState.ABSENT: State.ERROR,
    PowerState.SHUTDOWN_IN_PROGRESS: None,
    PowerState.NOSTATE: None,
}
#: Recorded states in which the guest is meant to be alive, so that finding it
#: shut off by a crash is an error rather than a stop.
MEANT_TO_RUN = frozenset({State.RUNNING, State.PAUSED})
MESSAGES = {
    PowerState.ABSENT: "the guest vanished from its host",
    PowerState.CRASHED: "the guest crashed",
}
#: Hosts reconciliation looks at.
_CHECKED_HOSTS = (HostState.UP, HostState.DISCONNECTED)


@dataclass(frozen=True)
class Correction:
    """A compute whose recorded state was changed to what its host reports."""

    compute_id: str
    host_id: str
    previous_state: str
    state: str
    power_state: str
    #: True when a transitional state was overridden (its job was gone).
    forced: bool = False


@dataclass(frozen=True)
class UnknownGuest:
    """An engine guest on a host that no compute placed there accounts for."""

    host_id: str
    guest_id: str
    power_state: str
    #: ``no compute``, ``compute deleted`` or ``compute on another host``.
    reason: str


@dataclass
class ReconcileReport:
    """What one reconciliation pass saw and did."""

    hosts_checked: int = 0
    computes_checked: int = 0
    #: Computes left alone because a job is working on them.
    busy: int = 0
    corrected: list[Correction] = field(default_factory=list)
    unknown_guests: list[UnknownGuest] = field(default_factory=list)
    #: Hosts whose driver could not be reached (now ``disconnected``).
    unreachable_hosts: list[str] = field(default_factory=list)
    #: Disconnected hosts that answered again (now ``up``).
    reconnected_hosts: list[str] = field(default_factory=list)
    #: Hosts that answered with an error other than "unreachable" (id, message).
    host_errors: list[tuple[str, str]] = field(default_factory=list)
    #: Computes whose orphan root disks were removed (engine.compute.root_disks).
    root_disks_removed: list[str] = field(default_factory=list)

    def merge(self, other: ReconcileReport) -> None:
        """Add another pass's findings to this report."""
        self.hosts_checked += other.hosts_checked
        self.computes_checked += other.computes_checked
        self.busy += other.busy
        self.corrected += other.corrected
        self.unknown_guests += other.unknown_guests
        self.unreachable_hosts += other.unreachable_hosts
        self.reconnected_hosts += other.reconnected_hosts
        self.host_errors += other.host_errors
        self.root_disks_removed += other.root_disks_removed


def reconcile(
    session: Session,
    drivers: DriverFactory,
    scope: Scope | None = None,
    *,
    host_ids: Collection[str] | None = None,
    crash_policy: CrashRestartPolicy | None = None,
) -> ReconcileReport:
    """Reconcile the computes of every checked host with its hypervisor, in ``session``.

    The caller commits. Changes are recorded with events as the system
    (``scope`` None) or as the root administrator ``scope``.

    :param host_ids: only these hosts (default: every up or disconnected host).
    :param crash_policy: schedules restarts in place of the guests it wants
        back when they crash (:mod:`engine.compute.crash_restart`); None: a
        crash only makes the compute ``error``.
    :raises PermissionDenied: ``scope`` is not a root administrator.
    """
    if scope is not None and not scope.is_root_admin:
        raise PermissionDenied("only root administrators reconcile the cloud")
    query = sa.select(Host).where(Host.state.in_(_CHECKED_HOSTS)).order_by(Host.created, Host.id)
    if host_ids is not None:
        query = query.where(Host.id.in_(list(host_ids)))
    report = ReconcileReport()
    for host in session.scalars(query).all():
        _reconcile_host(session, drivers, scope, host, report, crash_policy)
    return report


def run_reconciliation(
    database: Database, drivers: DriverFactory, crash_policy: CrashRestartPolicy | None = None
) -> ReconcileReport:
    """Reconcile every host, one transaction per host (what the periodic task calls).

    A transaction per host keeps row locks short and lets one host's
    failure leave the others' corrections committed.
    """
    with database.transaction() as session:
        host_ids = list(
            session.scalars(
                sa.select(Host.id).where(Host.state.in_(_CHECKED_HOSTS)).order_by(Host.created)
            )
        )
    report = ReconcileReport()
    for host_id in host_ids:
        with database.transaction() as session:
            report.merge(reconcile(session, drivers, host_ids=[host_id], crash_policy=crash_policy))
    return report


def _reconcile_host(
    session: Session,
    drivers: DriverFactory,
    scope: Scope | None,
    host: Host,
    report: ReconcileReport,
    crash_policy: CrashRestartPolicy | None,
) -> None:
    # Read the records *before* asking the host, and change them only if
    # they still hold what was read: a job that acts in between wins.
    computes = session.scalars(
        sa.select(Compute)
        .where(Compute.host_id == host.id, Compute.state != State.DELETED.value)
        .execution_options(populate_existing=True)
    ).all()
    seen = {compute.id: (State(compute.state), compute.updated) for compute in computes}
    # The host knows guests by their guest ids (Compute.guest_id), never by compute ids.
    guest_of = {compute.id: compute.guest_id for compute in computes}
    try:
        driver = drivers(host.uri)
        guests = driver.list_guests()
        # Why a guest is off matters only for a compute meant to run: ask the
        # host (another listing) only when there is one.
        suspects = any(
            guests.get(guest_of[compute_id]) is PowerState.SHUTOFF and state in MEANT_TO_RUN
            for compute_id, (state, _updated) in seen.items()
        )
        crashed = driver.crashed_guests() if suspects else frozenset()
    except DriverUnavailable:
        report.unreachable_hosts.append(host.id)
        _set_host_state(session, scope, host, HostState.DISCONNECTED)
        return
    except DriverError as exc:
        report.host_errors.append((host.id, exc.message))
        log.warning("reconciliation could not list the guests of host %s: %s", host.id, exc)
        return
    report.hosts_checked += 1
    if host.state is HostState.DISCONNECTED:
        report.reconnected_hosts.append(host.id)
        _set_host_state(session, scope, host, HostState.UP)
    host.last_seen = utcnow()
    working = targets_with_pending_jobs(session, seen)
    for compute in computes:
        report.computes_checked += 1
        if compute.id in working:
            report.busy += 1
            continue
        state, updated = seen[compute.id]
        power = guests.get(compute.guest_id, PowerState.ABSENT)
        if power is PowerState.SHUTOFF and compute.guest_id in crashed and state in MEANT_TO_RUN:
            # The engine's guests are destroyed when they crash (on_crash=destroy,
            # or QEMU died under them), so a crash looks like a stop but for the
            # reason libvirt keeps. It is news only for a compute that was meant
            # to run: one recorded stopped since (a forced stop out of ``error``)
            # stays stopped, though the guest still carries the old reason.
            power = PowerState.CRASHED
        try:
            _reconcile_compute(
                session, scope, host, compute, state, updated, power, report, crash_policy
            )
        except Conflict:
            continue  # changed since we read it (a job ran): the change knows better
    _report_unknown(session, host, guests, list(guest_of.values()), report)
    try:
        report.root_disks_removed += remove_orphan_root_disks(session, driver)
    except DriverError as exc:
        report.host_errors.append((host.id, exc.message))
    session.flush()


def _reconcile_compute(
    session: Session,
    scope: Scope | None,
    host: Host,
    compute: Compute,
    state: State,
    updated: dt.datetime,
    power: PowerState,
    report: ReconcileReport,
    crash_policy: CrashRestartPolicy | None = None,
) -> None:
    observed = OBSERVED[power]
    stuck = not lifecycle.is_stable(Kind.COMPUTE, state)
    power_values = {"power_state": power.value, "power_state_seen": utcnow()}
    if observed is None or observed == state or (state is State.ERROR and not stuck):
        if not stuck:
            # Only what the host said: not a change of the resource, so
            # 'updated' (which clients see) keeps its value.
            change_state(
                session,
                compute,
                state,
                state,
                message=compute.state_message,
                unchanged_since=updated,
                updated=Compute.updated,
                **power_values,
            )
        return
    new = lifecycle.observe(Kind.COMPUTE, state, observed, force=stuck)
    message = MESSAGES.get(power)
    if stuck:
        message = "its job ended without recording a result; state taken from the host"
    note = None
    if (
        power is PowerState.CRASHED
        and new is State.ERROR
        and crash_policy is not None
        and crash_policy.wants_restart(compute)
    ):
        note = note_crash(session, compute, crash_policy)
        message = note.message
    change_state(
        session, compute, state, new, message=message, unchanged_since=updated, **power_values
    )
    report.corrected.append(
        Correction(compute.id, host.id, state.value, new.value, power.value, stuck)
    )
    log.warning(
        "compute %s on host %s was %s but its guest is %s: now %s",
        compute.id,
        host.id,
        state.value,
        power.value,
        new.value,
    )
    emit_compute(
        session,
        compute,
        "compute.observed",
        previous_state=state.value,
        scope=scope,
        power_state=power.value,
        forced=stuck,
        message=message,
    )
    if note is not None:
        record_note(session, compute, note, scope)


def _report_unknown(
    session: Session,
    host: Host,
    guests: dict[str, PowerState],
    placed: Collection[str],
    report: ReconcileReport,
) -> None:
    strangers = sorted(set(guests) - set(placed))
    if not strangers:
        return
    rows = {
        row.guest_id: row
        for row in session.execute(
            sa.select(Compute.guest_id, Compute.state, Compute.host_id).where(
                Compute.guest_id.in_(strangers)
            )
        )
    }
    for guest_id in strangers:
        row = rows.get(guest_id)
        if row is None:
            reason = "no compute"
        elif row.state == State.DELETED:
            reason = "compute deleted"
        else:
            reason = "compute on another host"
        report.unknown_guests.append(
            UnknownGuest(host.id, guest_id, guests[guest_id].value, reason)
        )
        log.warning(
            "host %s has guest concord-%s (%s) that no compute there accounts for (%s); "
            "left in place for an operator",
            host.id,
            guest_id,
            guests[guest_id].value,
            reason,
        )


def _set_host_state(session: Session, scope: Scope | None, host: Host, state: HostState) -> None:
    if host.state is state:
        return
    previous, host.state = host.state, state
    log.warning("host %s (%s) is now %s", host.id, host.name, state.value)
    event = "host.disconnected" if state is HostState.DISCONNECTED else "host.reconnected"
    emit(
        session,
        DomainEvent(
            event,
            "host",
            host.id,
            Owner(None, None, None),
            {
                "name": host.name,
                "cluster_id": host.cluster_id,
                "state": state.value,
                "previous_state": previous.value,
            },
        ),
        scope,
    )


__all__ = [
    "MESSAGES",
    "OBSERVED",
    "Correction",
    "ReconcileReport",
    "UnknownGuest",
    "reconcile",
    "run_reconciliation",
]
