"""Turns of the workers' federation schedule: image lists, accounting push, members' monitoring.

Any number of ``concord worker`` processes (and the embedded worker) run the
schedule against one database, and each turn must be taken by one of them:
a worker takes a turn by moving its due time forward with a conditional
UPDATE (``... SET due = now + interval WHERE due IS NULL OR due <= now``).
The database applies the UPDATEs one after the other, so only the first
finds the row still due and counts one row changed; the others change none
and leave the turn alone. The work itself runs after the claim is committed,
outside its transaction; a worker that dies mid-turn leaves it to the next
turn (a synchronisation, a push and a monitoring probe are all idempotent).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.federation.models import ImageListSubscription, ScheduledTask

#: The task name of the accounting push.
ACCOUNTING_PUSH = "accounting-push"
#: The task name of a registry's monitoring of its members' endpoints.
FEDERATION_MONITOR = "federation-monitor"


def claim_due_lists(session: Session, now: dt.datetime, interval: float) -> list[str]:
    """Claim the turn of every subscribed list that is due; their names.

    A new subscription is due at once.
    """
    subscriptions = cast(sa.Table, ImageListSubscription.__table__)
    due = sa.or_(subscriptions.c.sync_due.is_(None), subscriptions.c.sync_due <= now)
    candidates = session.execute(sa.select(subscriptions.c.id, subscriptions.c.name).where(due))
    following = now + dt.timedelta(seconds=interval)
    claimed = []
    for subscription_id, name in candidates.all():
        changed = session.execute(
            sa.update(subscriptions)
            .where(subscriptions.c.id == subscription_id, due)
            .values(sync_due=following)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(name)
    return sorted(claimed)


def claim_task(session: Session, name: str, now: dt.datetime, interval: float) -> bool:
    """Claim the turn of task ``name`` if it is due (a task never run is due); True if taken."""
    tasks = cast(sa.Table, ScheduledTask.__table__)
    following = now + dt.timedelta(seconds=interval)
    changed = session.execute(
        sa.update(tasks).where(tasks.c.name == name, tasks.c.due <= now).values(due=following)
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if session.scalar(sa.select(tasks.c.name).where(tasks.c.name == name)) is not None:
        return False
    try:
        with session.begin_nested():  # another worker may be inserting it too
            session.execute(sa.insert(tasks).values(name=name, due=following))
    except sa.exc.IntegrityError:
        return False
    return True


__all__ = ["ACCOUNTING_PUSH", "FEDERATION_MONITOR", "claim_due_lists", "claim_task"]
