"""Recovery: fence a failed host, then restart its HA guests elsewhere.

:class:`Recovery` claims HA items (:mod:`engine.ha.queue`) and moves each one
step by step; every step commits with the item's history, so a process that
dies mid-recovery leaves items another process resumes where they stopped.

A host item:

``detected`` -> ``fencing``
    its fencer (the host's :class:`~engine.ha.models.FenceConfig`, by default
    ``libvirt``) runs, with a deadline of ``fence_timeout``;
``fencing`` -> ``fenced``
    only when the fencer *confirms* that nothing of the host runs any more;
    then, in the same transaction, every guest of the host that was meant to
    run is handled: an HA guest gets a guest item, a guest without HA
    becomes ``error`` with a state message saying why;
``fencing`` -> ``awaiting_operator``
    when the fence is unconfirmed: the alert ``ha:fence:<host id>`` is raised
    and nothing is restarted until the fence is confirmed, either by an
    operator (``concord host fence HOST --confirm``,
    :func:`engine.ha.operator.confirm_fenced`) or by a later attempt: the
    fencer is tried again after ``fence_retry_first`` seconds, then twice as
    long after each failure, up to ``fence_retry_max``;
``fenced`` -> ``done``
    once every guest item has ended.

The guest items of a fenced host are worked on by the holder of the host's
item, all of them at a time (:mod:`engine.ha.restart`, :mod:`engine.ha.starts`):

``queued`` -> ``restarting``
    in one transaction for the whole host, in priority order (``ha_priority``,
    higher first): each guest is placed through the allocation pipeline
    (with ``for_ha`` so HA-reserved hosts may take it, avoiding the failed
    host, next to its volumes), its capacity moves from the failed host to
    the new one, and a ``compute.start`` job is queued and claimed by this
    process;
``restarting`` -> ``restarted`` or ``failed``
    the start jobs run: the guests are brought up in parallel (a bounded
    pool per target host), then every job and guest item is recorded in one
    transaction. A guest that no host can take, or whose start fails, ends
    ``error`` (or ``stopped``, if the start job failed) with the reason in
    its state message.

Quota is untouched (the guest is the same guest); host capacity moves with
the guest in the transaction that moves it, so the counters always equal a
recount of the rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from engine.db import Database, utcnow
from engine.drivers.base import HypervisorDriver
from engine.drivers.fencing.base import FenceOutcome, FenceResult, FenceTarget
from engine.drivers.fencing.registry import build_fencer
from engine.events.alerts import AlertSubject, raise_alert
from engine.events.service import DomainEvent, emit
from engine.ha import queue
from engine.ha.config import HaConfig
from engine.ha.fenced import SYSTEM, fence_attempts, fence_key, fence_target, mark_fenced
from engine.ha.models import HaItem, HaItemKind, HaStep
from engine.ha.restart import RESTARTABLE, claim_jobs, follow_guests, place_guests
from engine.ha.starts import beating, bring_up_all, record_starts
from engine.inventory.models import Host
from engine.jobs.worker import default_worker_id

log = logging.getLogger("engine.ha.recovery")

#: The most guests placed in one transaction of a recovery.
RESTART_BATCH = 100


class Recovery:
    """Claims HA items and carries them out until none is left to do.

    :param database: where the queue is.
    :param drivers: the driver of a host by URI (fencers reach hosts through it).
    :param config: timeouts and the stale-claim limit.
    :param worker_id: this process's name in claims.
    :param fencers: builds a fencer by name (tests give their own).
    """

    def __init__(
        self,
        database: Database,
        drivers: Callable[[str], HypervisorDriver],
        config: HaConfig,
        worker_id: str | None = None,
        fencers: Callable[[str, Callable[[str], HypervisorDriver]], object] = build_fencer,
    ) -> None:
        self.database = database
        self.drivers = drivers
        self.config = config
        self.worker_id = worker_id or default_worker_id()
        self.fencers = fencers

    def run_once(self) -> int:
        """Work on every claimable item once; return how many were worked on.

        The items stay claimed until the round ends, so that one waiting for
        its guests' jobs is not taken again in the same round.
        """
        seen: list[str] = []
        try:
            while True:
                with self.database.transaction() as session:
                    item = queue.claim(session, self.worker_id, self.config.stale, seen)
                    if item is None:
                        return len(seen)
                    seen.append(item.id)
                try:
                    self.handle(seen[-1])
                except Exception:
                    log.exception("HA item %s failed; it will be tried again", seen[-1])
        finally:
            if seen:
                with contextlib.suppress(Exception), self.database.transaction() as session:
                    queue.release(session, seen, self.worker_id)

    def handle(self, item_id: str) -> None:
        """Take one claimed host item one step (or several) further."""
        with self.database.transaction() as session:
            item = session.get(HaItem, item_id)
            if item is None or item.kind is not HaItemKind.HOST:
                return
            step: HaStep | None = item.step
        if step in (HaStep.DETECTED, HaStep.FENCING, HaStep.AWAITING_OPERATOR):
            step = self._fence(item_id)
        if step is HaStep.FENCED:
            self._restart_guests(item_id)
            self._finish_host(item_id)

    # -- guests ----------------------------------------------------------------

    def _restart_guests(self, item_id: str) -> None:
        """Restart the fenced host's guests, :data:`RESTART_BATCH` at a time."""
        while self._restart_batch(item_id):
            pass

    def _restart_batch(self, item_id: str) -> bool:
        """Place up to a batch of queued guests and run the start jobs this process may claim.

        Batches keep each transaction short (the host item's claim is
        refreshed between them). True when a whole batch was placed, so more
        may be queued.
        """
        began = time.monotonic()
        with self.database.transaction() as session:
            item = session.get(HaItem, item_id)
            if item is None or not queue.still_held(session, item_id, self.worker_id):
                return False
            placed = place_guests(session, item, RESTART_BATCH)
            jobs = claim_jobs(session, item, self.worker_id, self.config.stale)
            follow_guests(session, item)  # those whose jobs others ran
        if not jobs:
            return placed == RESTART_BATCH
        placing = time.monotonic() - began
        with beating(
            self.database,
            self.worker_id,
            [job.job_id for job in jobs],
            item_id,
            self.config.stale_after / 4,
        ):
            errors = bring_up_all(
                self.database,
                self.drivers,
                jobs,
                per_host=self.config.restarts_per_host,
                max_workers=self.config.restart_threads,
            )
            starting = time.monotonic() - began - placing
            record_starts(self.database, self.drivers, jobs, self.worker_id)
        log.info(
            "HA placed %d guest(s) in %.2f s, started %d in %.2f s (%d failed), recorded "
            "them in %.2f s",
            placed,
            placing,
            len(jobs),
            starting,
            sum(1 for error in errors.values() if error),
            time.monotonic() - began - placing - starting,
        )
        return placed == RESTART_BATCH

    # -- host items ------------------------------------------------------------

    def _fence(self, item_id: str) -> HaStep | None:
        """Run the host's fencer; return the item's step after it (None: no longer ours).

        An unconfirmed fence waits for an operator, and is tried again after
        a back-off (``fence_retry_first`` doubling up to ``fence_retry_max``):
        a BMC that was unreachable for a while, or a host that answers again,
        may confirm a later attempt.
        """
        with self.database.transaction() as session:
            item = session.get(HaItem, item_id)
            if item is None or not queue.still_held(session, item_id, self.worker_id):
                return None
            host = session.get(Host, item.host_id)
            if host is None:
                return None
            name, target = fence_target(session, host)
            attempt = fence_attempts(session, item_id) + 1
            how = f"fencing with {name} ({self.worker_id})"
            if attempt > 1:
                how += f", attempt {attempt}"
            queue.record(session, item, HaStep.FENCING, how)
            item.retry_at = None
            emit(session, DomainEvent("host.fencing", "host", host.id, SYSTEM, {"fencer": name}))
        result = self._run_fencer(name, target)
        with self.database.transaction() as session:
            item = session.get(HaItem, item_id)
            if item is None or not queue.still_held(session, item_id, self.worker_id):
                return None
            if item.step is not HaStep.FENCING:
                return item.step  # an operator confirmed it meanwhile
            if result.confirmed:
                mark_fenced(session, item, f"fenced by {name}: {result.detail}")
                return HaStep.FENCED
            delay = self.config.fence_retry_delay(attempt)
            message = (
                f"host {target.name} is down but fencing with {name} is unconfirmed "
                f"({result.detail}); its guests are not restarted until an operator makes "
                f"sure it is off and runs 'concord host fence {target.name} --confirm' "
                f"(the fence is tried again in {delay:g} s)"
            )
            queue.record(session, item, HaStep.AWAITING_OPERATOR, message)
            item.retry_at = utcnow() + dt.timedelta(seconds=delay)
            emit(
                session,
                DomainEvent(
                    "host.fence_unconfirmed",
                    "host",
                    target.host_id,
                    SYSTEM,
                    {"fencer": name, "detail": result.detail, "attempt": attempt},
                ),
            )
            raise_alert(
                session,
                key=fence_key(target.host_id),
                source="ha",
                subject=AlertSubject("host", target.host_id),
                message=message,
                severity="critical",
            )
            return HaStep.AWAITING_OPERATOR

    def _run_fencer(self, name: str, target: FenceTarget) -> FenceResult:
        try:
            fencer = self.fencers(name, self.drivers)
        except KeyError:
            return FenceResult(FenceOutcome.UNCONFIRMED, f"no fencer {name!r} is installed")
        with self._beating(target.host_id):
            try:
                return fencer.fence(target, self.config.fence_timeout)  # type: ignore[attr-defined,no-any-return]
            except Exception as exc:  # a fencer must not raise; if it does, nothing is known
                log.exception("fencer %s failed on host %s", name, target.name)
                return FenceResult(FenceOutcome.UNCONFIRMED, f"the fencer failed: {exc}")

    @contextlib.contextmanager
    def _beating(self, host_id: str) -> Iterator[None]:
        """Refresh the claims of this process's items while a long step runs."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.config.stale_after / 4):
                with contextlib.suppress(Exception), self.database.transaction() as session:
                    session.execute(
                        sa.update(HaItem)
                        .where(HaItem.claimed_by == self.worker_id, HaItem.host_id == host_id)
                        .values(heartbeat=utcnow())
                    )

        thread = threading.Thread(target=beat, name="ha-beat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _finish_host(self, item_id: str) -> None:
        with self.database.transaction() as session:
            item = session.get(HaItem, item_id)
            if item is None or not queue.still_held(session, item_id, self.worker_id):
                return
            children = session.execute(
                sa.select(HaItem.step, sa.func.count())
                .where(HaItem.parent_id == item_id)
                .group_by(HaItem.step)
            ).all()
            counts = {HaStep(step): count for step, count in children}
            if any(not step.is_final for step in counts):
                return
            restarted = counts.get(HaStep.RESTARTED, 0)
            failed = counts.get(HaStep.FAILED, 0)
            # Recovery ends when the last guest did, not when this pass noticed.
            last = session.scalar(
                sa.select(sa.func.max(HaItem.finished)).where(HaItem.parent_id == item_id)
            )
            queue.record(
                session,
                item,
                HaStep.DONE,
                f"{restarted} guest(s) restarted, {failed} failed",
                last or utcnow(),
            )
            emit(
                session,
                DomainEvent(
                    "host.recovered",
                    "host",
                    item.host_id,
                    SYSTEM,
                    {"restarted": restarted, "failed": failed},
                ),
            )


__all__ = ["RESTARTABLE", "Recovery"]
