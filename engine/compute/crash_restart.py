"""Restart in place a guest that crashed on a healthy host, with exponential back-off and a cap.

A guest whose QEMU died while its host kept answering is found by
reconciliation (:mod:`engine.compute.reconcile`, usually right after
libvirt's event, :mod:`engine.compute.monitor`) and recorded as ``error``
("the guest crashed"). When the :class:`CrashRestartPolicy` wants the guest
back (:meth:`CrashRestartPolicy.wants_restart`: by default the guests whose
HA flag is set), that same transaction records the crash in a
:class:`~engine.compute.models.CrashRestart` row and schedules a restart
after a delay that doubles with each attempt (``first_delay``, 2x, 4x...,
at most ``max_delay``). :func:`submit_due_restarts`, run periodically by
every server, queues a ``compute.restart_in_place`` job for each restart that
is due; its handler (:class:`RestartInPlaceHandler`) starts the guest again
on the same host and records it ``running``.

A guest that crashes ``max_attempts`` times within ``window`` seconds of the
first crash is left in ``error`` with a message that says so: a guest that
crashes at every boot would otherwise loop forever (CloudStack's
``max.retries`` and ``time.between.failures``, reference/engine.md §1.4).
A crash after the window starts a new series.

Everything is persisted (the schedule in the row, the restart as a job), so
a server restart resumes where it was; two servers never queue the same
restart (the row is claimed with a conditional update). The owner keeps
control: a compute that is no longer ``error`` when its restart is due (the
owner force-stopped or deleted it) is not restarted.

Events: ``compute.crash_restart.scheduled`` (attempt, delay, due time),
``compute.crash_restart.abandoned`` (the cap was reached),
``compute.crash_restarted`` (back to running), and
``compute.restart_in_place.failed``.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.compute._guest import bring_up, check_power
from engine.compute._handler_base import (
    MESSAGE_LENGTH,
    load_compute,
    placed_host,
    power_values,
    spec_factory,
)
from engine.compute.models import Compute, CrashRestart
from engine.compute.state import change_state, emit_compute
from engine.db import utcnow
from engine.errors import Conflict
from engine.inventory.models import Host, HostState
from engine.jobs.service import JobService, targets_with_pending_jobs
from engine.jobs.worker import JobContext
from engine.lifecycle import Kind, State
from engine.scope import Owner, Scope
from engine.tenancy.service import TenancyService

#: The job that restarts a crashed guest in place.
ACTION = "compute.restart_in_place"


class RestartCrashed(enum.StrEnum):
    """Which crashed guests are restarted in place (the ``restart_crashed_guests`` setting)."""

    HA = "ha"  #: guests whose HA flag is set (from their offering or at creation)
    ALL = "all"  #: every guest
    NONE = "none"  #: none: a crash leaves the guest in error for its owner


@dataclass(frozen=True)
class CrashRestartPolicy:
    """When and how often crashed guests are restarted in place.

    :param which: which guests.
    :param first_delay: seconds before the first restart of a series.
    :param max_delay: the longest delay between two restarts.
    :param max_attempts: restarts tried in one series before giving up.
    :param window: seconds a series lasts, from its first crash; a crash
        after that starts a new series.
    """

    which: RestartCrashed = RestartCrashed.HA
    first_delay: float = 5.0
    max_delay: float = 300.0
    max_attempts: int = 5
    window: float = 3600.0

    def wants_restart(self, compute: Compute) -> bool:
        """Whether ``compute`` is restarted in place when it crashes.

        The one place that decides it: the HA flag of the guest by default.
        """
        if self.which is RestartCrashed.ALL:
            return True
        if self.which is RestartCrashed.HA:
            return bool(compute.ha_enabled)
        return False

    def delay(self, attempt: int) -> float:
        """Seconds to wait before restart number ``attempt`` (1-based) of a series."""
        return float(min(self.first_delay * 2 ** max(attempt - 1, 0), self.max_delay))


@dataclass(frozen=True)
class CrashNote:
    """What a crash under a restart policy leads to, for reconciliation to record.

    :param message: the compute's new ``state_message``.
    :param event: the event to emit once the compute is ``error``.
    :param facts: the event's own facts.
    """

    message: str
    event: str
    facts: dict[str, Any]


def note_crash(
    session: Session, compute: Compute, policy: CrashRestartPolicy, now: dt.datetime | None = None
) -> CrashNote:
    """Record a crash of ``compute`` and schedule its next restart, or give up at the cap.

    Called by reconciliation in the transaction that records the compute as ``error``.
    """
    now = now or utcnow()
    row = session.get(CrashRestart, compute.id, populate_existing=True, with_for_update=True)
    if row is None:
        row = CrashRestart(compute_id=compute.id, first_crash=now, attempts=0, crashes=0)
        session.add(row)
    elif (now - row.first_crash).total_seconds() > policy.window:
        row.first_crash, row.attempts, row.crashes, row.gave_up = now, 0, 0, False
    row.crashes += 1
    row.last_crash = now
    return _schedule(session, row, policy, now, cause="the guest crashed")


def _schedule(
    session: Session, row: CrashRestart, policy: CrashRestartPolicy, now: dt.datetime, cause: str
) -> CrashNote:
    if row.attempts >= policy.max_attempts:
        row.gave_up, row.next_attempt = True, None
        session.flush()
        return CrashNote(
            f"{cause}; no more restarts in place: {row.attempts} tried since "
            f"{row.first_crash:%Y-%m-%d %H:%M:%S} UTC (at most {policy.max_attempts} "
            f"within {policy.window:g} s)",
            "compute.crash_restart.abandoned",
            {"attempts": row.attempts, "crashes": row.crashes},
        )
    attempt = row.attempts + 1
    delay = policy.delay(attempt)
    row.next_attempt = now + dt.timedelta(seconds=delay)
    session.flush()
    return CrashNote(
        f"{cause}; restart in place {attempt} of {policy.max_attempts} in {delay:g} s",
        "compute.crash_restart.scheduled",
        {"attempt": attempt, "delay": delay, "due": row.next_attempt.isoformat()},
    )


def record_note(
    session: Session, compute: Compute, note: CrashNote, scope: Scope | None = None
) -> None:
    """Emit the note's event for ``compute`` (after its state was recorded)."""
    emit_compute(
        session,
        compute,
        note.event,
        previous_state=compute.state,
        scope=scope,
        message=note.message,
        **note.facts,
    )


def submit_due_restarts(
    session: Session, policy: CrashRestartPolicy, now: dt.datetime | None = None
) -> list[str]:
    """Queue a ``compute.restart_in_place`` job for every restart that is due; return their ids.

    A restart is due when its time has come, its compute is still ``error``
    on a host that is ``up`` (HA, not this, handles guests of a host that
    failed) and no other job works on it. A due restart of a compute that is
    no longer ``error`` is dropped. Each row is claimed with a conditional
    update, so two servers running this at once queue one job.
    """
    now = now or utcnow()
    rows = session.execute(
        sa.select(CrashRestart.compute_id, CrashRestart.next_attempt, Compute.state, Host.state)
        .join(Compute, Compute.id == CrashRestart.compute_id)
        .outerjoin(Host, Host.id == Compute.host_id)
        .where(CrashRestart.next_attempt.is_not(None), CrashRestart.next_attempt <= now)
        .order_by(CrashRestart.next_attempt)
    ).all()
    busy = targets_with_pending_jobs(session, [row.compute_id for row in rows])
    submitted: list[str] = []
    system: Scope | None = None
    for compute_id, due, compute_state, host_state in rows:
        if due is None:
            continue
        if compute_state != State.ERROR:
            _claim(session, compute_id, due, attempts=None)  # the owner took over
            continue
        if host_state is not HostState.UP or compute_id in busy:
            continue
        row = session.get(CrashRestart, compute_id)
        if row is None:
            continue
        attempt = row.attempts + 1
        if not _claim(session, compute_id, due, attempts=attempt):
            continue  # another server queued it
        compute = session.get(Compute, compute_id)
        if compute is None:
            continue
        system = system or Scope.system(TenancyService(session).root())
        job = JobService(session).submit(
            system,
            ACTION,
            "compute",
            compute_id,
            Owner.of(compute),
            {
                "previous": State.ERROR.value,
                "attempt": attempt,
                "max_attempts": policy.max_attempts,
                "next_delay": policy.delay(attempt + 1),
            },
        )
        submitted.append(job.id)
    return submitted


def _claim(session: Session, compute_id: str, due: dt.datetime, attempts: int | None) -> bool:
    values: dict[str, Any] = {"next_attempt": None}
    if attempts is not None:
        values["attempts"] = attempts
    result = session.execute(
        sa.update(CrashRestart)
        .where(CrashRestart.compute_id == compute_id, CrashRestart.next_attempt == due)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


class RestartInPlaceHandler:
    """``compute.restart_in_place``: start a crashed guest again on its own host."""

    action = ACTION

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Start the guest; the compute goes from ``error`` to ``running``.

        :raises Conflict: the compute left ``error`` meanwhile, or its host is not up.
        """
        compute = load_compute(ctx)
        if compute.state != State.ERROR:
            raise Conflict(
                f"the compute is {compute.state}, no longer in error",
                kind=Kind.COMPUTE.value,
                state=compute.state,
                expected=[State.ERROR.value],
            )
        host = placed_host(ctx.session, compute)
        if host.state is not HostState.UP:
            raise Conflict(
                f"its host {host.name} is {host.state.value}", subject="host", reason="state"
            )
        driver = ctx.drivers(host.uri)
        bring_up(driver, compute.guest_id, spec_factory(ctx.session, compute, driver))
        power = check_power(driver, compute.guest_id, State.RUNNING)
        attempt = int(ctx.job.parameters.get("attempt", 1))
        limit = int(ctx.job.parameters.get("max_attempts", attempt))
        message = f"restarted in place after a crash (restart {attempt} of at most {limit})"
        change_state(
            ctx.session, compute, State.ERROR, State.RUNNING, message=message, **power_values(power)
        )
        emit_compute(
            ctx.session,
            compute,
            "compute.crash_restarted",
            previous_state=State.ERROR.value,
            job_id=ctx.job.id,
            attempt=attempt,
            host_id=host.id,
        )
        return {"state": State.RUNNING.value, "host_id": host.id, "attempt": attempt}

    def failed(self, ctx: JobContext, message: str) -> None:
        """Leave the compute in ``error``, say why, and schedule the next attempt (or give up)."""
        compute = ctx.session.get(Compute, ctx.job.target_id, populate_existing=True)
        row = ctx.session.get(CrashRestart, ctx.job.target_id, populate_existing=True)
        if compute is None or row is None or compute.state != State.ERROR:
            return  # the owner took over: nothing to restart any more
        parameters = ctx.job.parameters
        policy = CrashRestartPolicy(
            first_delay=float(parameters.get("next_delay", 5.0)),
            max_delay=float(parameters.get("next_delay", 5.0)),
            max_attempts=int(parameters.get("max_attempts", row.attempts)),
        )
        note = _schedule(
            ctx.session,
            row,
            policy,
            utcnow(),
            cause=f"restart in place {row.attempts} failed: {message}",
        )
        compute.state_message = note.message[:MESSAGE_LENGTH]
        ctx.session.flush()
        emit_compute(
            ctx.session,
            compute,
            f"{ACTION}.failed",
            previous_state=State.ERROR.value,
            job_id=ctx.job.id,
            message=message,
        )
        record_note(ctx.session, compute, note)


__all__ = [
    "ACTION",
    "CrashNote",
    "CrashRestartPolicy",
    "RestartCrashed",
    "RestartInPlaceHandler",
    "note_crash",
    "record_note",
    "submit_due_restarts",
]
