"""The persisted HA work queue: items claimed like jobs, each step kept in its history.

One :class:`~engine.ha.models.HaItem` per failed host (opened by the monitor
when it declares the host down) and, once the host is fenced, one per guest
to restart elsewhere. Any number of processes run HA
(:class:`~engine.ha.recovery.Recovery`); a host item, and with it its guest
items, is worked on by one at a time:

* :func:`claim` takes an item with a conditional ``UPDATE ... WHERE
  claimed_by IS NULL OR heartbeat < cutoff``: of two processes racing for one
  item exactly one updates the row (the pattern of :mod:`engine.jobs.service`);
* the holder refreshes ``heartbeat`` while it works (:func:`beat`) and checks
  it still holds the item in the transaction that records each step
  (:func:`still_held`, a conditional write, so a takeover cannot slip in);
* an item whose holder died (no heartbeat for ``stale_after``) is claimed
  again by anyone, and its step says where to resume: every step is
  idempotent (fencing a fenced host confirms again; a guest already placed
  has its start job, which the next holder or the job queue resumes).

Items held by the storm guard (``held``) are not claimable; those waiting for
an operator after an unconfirmed fence (``awaiting_operator``) are, once
their ``retry_at`` has passed: the fence is tried again. :func:`record` moves
an item to a step and appends the step to :class:`~engine.ha.models.HaHistory`
in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.ha.models import HaHistory, HaItem, HaItemKind, HaStep

#: Steps in which a host item is waiting for a process to work on it (its
#: guest items are worked on by whoever holds it, engine.ha.restart).
CLAIMABLE = (HaStep.DETECTED, HaStep.FENCING, HaStep.FENCED)
#: Steps of an open host item.
OPEN_HOST_STEPS = (
    HaStep.DETECTED,
    HaStep.FENCING,
    HaStep.AWAITING_OPERATOR,
    HaStep.HELD,
    HaStep.FENCED,
)
#: How many candidates one claim tries before giving up for this round.
_CLAIM_ATTEMPTS = 8


def host_key(host_id: str) -> str:
    """The ``active_key`` of a host's open item: one open item per host."""
    return f"host:{host_id}"


def record(
    session: Session,
    item: HaItem,
    step: HaStep,
    detail: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Move ``item`` to ``step`` and add the step to its history, in the caller's transaction.

    A final step (:attr:`HaStep.is_final`) also stamps ``finished`` and frees
    the host's key, so the host may fail (and be recovered) again later.
    """
    at = at or utcnow()
    item.step = step
    item.message = detail[:1024] if detail else item.message
    if step.is_final:
        item.finished = at
        item.active_key = None
    session.add(HaHistory(item_id=item.id, step=step.value, at=at, detail=(detail or "")[:1024]))
    session.flush()


def note(
    session: Session, item: HaItem, label: str, detail: str, at: dt.datetime | None = None
) -> None:
    """Add a line to an item's history without moving it (``suspect``, ``fence-attempt``...)."""
    session.add(HaHistory(item_id=item.id, step=label, at=at or utcnow(), detail=detail[:1024]))
    session.flush()


def history_of(session: Session, item_id: str) -> list[HaHistory]:
    """An item's steps, oldest first."""
    return list(
        session.scalars(
            sa.select(HaHistory).where(HaHistory.item_id == item_id).order_by(HaHistory.id)
        )
    )


def open_host_item(session: Session, item: HaItem) -> bool:
    """Add a host item unless the host already has an open one; True when added.

    A savepoint, so that losing the race to another monitor (the unique
    ``active_key``) rolls back only this insert.
    """
    item.active_key = host_key(item.host_id)
    if session.scalar(sa.select(HaItem.id).where(HaItem.active_key == item.active_key)):
        return False
    try:
        with session.begin_nested():
            session.add(item)
    except sa.exc.IntegrityError:
        return False
    return True


def claim(
    session: Session, worker_id: str, stale_after: dt.timedelta, exclude: Collection[str] = ()
) -> HaItem | None:
    """Claim the most urgent claimable item (not one of ``exclude``), or return None.

    Only host items are claimed: their guests are worked on by whoever holds
    them, in batches (:mod:`engine.ha.restart`). Oldest first. The caller
    commits at once so that the claim is seen by the others before the work
    starts.
    """
    now = utcnow()
    free = sa.or_(
        HaItem.claimed_by.is_(None),
        HaItem.heartbeat < now - stale_after,
    )
    # An unconfirmed fence is tried again when its back-off has passed.
    due = sa.or_(
        HaItem.step.in_(CLAIMABLE),
        sa.and_(HaItem.step == HaStep.AWAITING_OPERATOR, HaItem.retry_at <= now),
    )
    query = (
        sa.select(HaItem.id)
        .where(HaItem.kind == HaItemKind.HOST, due, free, HaItem.id.not_in(list(exclude)))
        .order_by(HaItem.created, HaItem.id)
        .limit(_CLAIM_ATTEMPTS)
    )
    for item_id in list(session.scalars(query)):
        result = session.execute(
            sa.update(HaItem)
            .where(HaItem.id == item_id, due, free)
            .values(claimed_by=worker_id, heartbeat=now, attempts=HaItem.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return session.get(HaItem, item_id, populate_existing=True)
    return None


def still_held(session: Session, item_id: str, worker_id: str) -> bool:
    """Whether ``worker_id`` still holds the item; refreshes its heartbeat if so.

    A conditional write (see :meth:`engine.jobs.service.JobService.still_held`):
    call it in the transaction that records the outcome of a step.
    """
    result = session.execute(
        sa.update(HaItem)
        .where(HaItem.id == item_id, HaItem.claimed_by == worker_id)
        .values(heartbeat=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def beat(session: Session, item_id: str, worker_id: str) -> bool:
    """Refresh the heartbeat of an item being worked on (the same write as :func:`still_held`)."""
    return still_held(session, item_id, worker_id)


def release(session: Session, item_ids: Collection[str], worker_id: str) -> None:
    """Let go of items (to be claimed again, by anyone, later)."""
    session.execute(
        sa.update(HaItem)
        .where(HaItem.id.in_(list(item_ids)), HaItem.claimed_by == worker_id)
        .values(claimed_by=None, heartbeat=None)
        .execution_options(synchronize_session=False)
    )


__all__ = [
    "CLAIMABLE",
    "OPEN_HOST_STEPS",
    "beat",
    "claim",
    "history_of",
    "host_key",
    "note",
    "open_host_item",
    "record",
    "release",
    "still_held",
]
