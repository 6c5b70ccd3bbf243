"""Domain events: what changed, recorded in the same transaction as the change.

Services call :func:`emit` inside their unit of work. The event row is
persisted with the change (so consumers never see a rolled-back change),
and in-process subscribers registered with :func:`subscribe` are called at
once with the same session, so their reactions (usage records, HA work
items) commit or roll back together with the change too.

Consumers that run elsewhere (a usage server, an HA monitor in another
process) read the stream with :func:`read` and keep their position with
:func:`advance`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.events.models import ConsumerCursor, Event
from engine.scope import Owner, Scope


@dataclass(frozen=True)
class DomainEvent:
    """A change to record.

    :param type: dotted name, ``<resource>.<what>``, e.g. ``compute.started``.
    :param resource_type: ``compute``, ``volume``, ``network``...
    :param resource_id: the resource's id.
    :param owner: its owner.
    :param payload: the facts consumers need (offering, sizes, host, states).
    """

    type: str
    resource_type: str
    resource_id: str
    owner: Owner
    payload: Mapping[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Session, Event], None]
_subscribers: list[tuple[str, Subscriber]] = []
_lock = threading.Lock()


def subscribe(prefix: str, subscriber: Subscriber) -> Callable[[], None]:
    """Call ``subscriber(session, event)`` for every event whose type starts with ``prefix``.

    :returns: a function that removes the subscription.
    """
    entry = (prefix, subscriber)
    with _lock:
        _subscribers.append(entry)

    def unsubscribe() -> None:
        with _lock:
            if entry in _subscribers:
                _subscribers.remove(entry)

    return unsubscribe


def emit(
    session: Session,
    event: DomainEvent,
    scope: Scope | None = None,
    job_id: str | None = None,
) -> Event:
    """Record ``event`` in the caller's transaction and notify subscribers.

    :param scope: who caused it (None for the system: reconciliation, HA).
    :param job_id: the job that carried the change out, if any.
    """
    row = Event(
        type=event.type,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        account_id=event.owner.account_id,
        project_id=event.owner.project_id,
        domain_id=event.owner.domain_id,
        user_id=scope.user_id if scope else None,
        job_id=job_id,
        occurred=utcnow(),
        payload=dict(event.payload),
    )
    session.add(row)
    session.flush()
    with _lock:
        interested = [s for prefix, s in _subscribers if event.type.startswith(prefix)]
    for subscriber in interested:
        subscriber(session, row)
    return row


def read(session: Session, consumer: str, limit: int = 1000) -> list[Event]:
    """The next events after ``consumer``'s cursor, oldest first."""
    cursor = session.get(ConsumerCursor, consumer)
    after = cursor.last_seq if cursor else 0
    return list(
        session.scalars(sa.select(Event).where(Event.seq > after).order_by(Event.seq).limit(limit))
    )


def advance(session: Session, consumer: str, seq: int) -> None:
    """Move ``consumer``'s cursor to ``seq`` (in the caller's transaction)."""
    cursor = session.get(ConsumerCursor, consumer)
    if cursor is None:
        session.add(ConsumerCursor(consumer=consumer, last_seq=seq))
    elif seq > cursor.last_seq:
        cursor.last_seq = seq
    session.flush()
