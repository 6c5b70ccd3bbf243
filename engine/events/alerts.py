"""Alerts: conditions an operator must act on, raised while they last and cleared after.

Capacity thresholds, hosts that cannot be fenced, a zone whose hosts fail in a
storm: each capability that watches something calls :func:`raise_alert` every
time it sees the condition and :func:`clear_alert` when it sees it gone. The
calls are idempotent (one active row per key), so a watcher needs no memory
of its own; each transition records an event (``alert.raised``,
``alert.cleared``) in the caller's transaction and a log line (WARNING when
raised, INFO when cleared), and :func:`active_counts` feeds the
``concord_alerts_active`` gauge of ``/metrics``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import utcnow
from engine.events.models import Alert
from engine.events.service import DomainEvent, emit
from engine.scope import Owner

log = logging.getLogger(__name__)

#: Severities, least to most urgent.
SEVERITIES = ("warning", "critical")

_SYSTEM = Owner(None, None, None)


@dataclass(frozen=True)
class AlertSubject:
    """What an alert is about: a zone, a cluster, a host, a pool...

    :param type: the kind of subject (``zone``, ``pod``, ``cluster``, ``host``, ``pool``).
    :param id: its id.
    """

    type: str
    id: str | None


def raise_alert(
    session: Session,
    *,
    key: str,
    source: str,
    subject: AlertSubject,
    message: str,
    severity: str = "warning",
) -> bool:
    """Make the alert ``key`` active with ``message``, in the caller's transaction.

    :param key: names the condition and its subject, e.g. ``capacity:cluster:c1:cpu``;
        at most one alert per key is active.
    :param source: the capability that watches the condition (a metrics label).
    :returns: True when the alert was not active before (a new episode), False
        when it was and only its message and time were refreshed.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    now = utcnow()
    if _refresh(session, key, message, severity, now):
        return False
    try:
        # A savepoint, so that losing the race to another process (the unique
        # active_key) rolls back only this insert, not the caller's work.
        with session.begin_nested():
            session.add(
                Alert(
                    key=key,
                    active_key=key,
                    source=source,
                    severity=severity,
                    subject_type=subject.type,
                    subject_id=subject.id,
                    message=message[:1024],
                    raised=now,
                    updated=now,
                )
            )
    except sa.exc.IntegrityError:
        # Another process raised it in the same instant: its row says the
        # same thing, and touching it now would only wait on that
        # process's lock (InnoDB reports such waits as deadlocks).
        return False
    payload = {"key": key, "source": source, "severity": severity, "message": message}
    emit(session, DomainEvent("alert.raised", subject.type, subject.id or "", _SYSTEM, payload))
    log.warning("alert raised [%s] %s: %s", source, key, message)
    return True


def _refresh(session: Session, key: str, message: str, severity: str, now: object) -> bool:
    result = session.execute(
        sa.update(Alert)
        .where(Alert.active_key == key)
        .values(message=message[:1024], severity=severity, updated=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def clear_alert(session: Session, *, key: str, message: str = "") -> bool:
    """End the active alert ``key``, if there is one, in the caller's transaction.

    :param message: why it cleared, recorded in the event and the log.
    :returns: True when an active alert was cleared.
    """
    alert = session.scalars(sa.select(Alert).where(Alert.active_key == key)).first()
    if alert is None:
        return False
    alert.active_key = None
    alert.cleared = utcnow()
    payload = {"key": key, "source": alert.source, "message": message}
    emit(
        session,
        DomainEvent("alert.cleared", alert.subject_type, alert.subject_id or "", _SYSTEM, payload),
    )
    log.info("alert cleared [%s] %s%s", alert.source, key, f": {message}" if message else "")
    return True


def active_alerts(session: Session, *, source: str | None = None) -> list[Alert]:
    """The active alerts, oldest first, optionally of one source."""
    query = sa.select(Alert).where(Alert.active_key.is_not(None))
    if source is not None:
        query = query.where(Alert.source == source)
    return list(session.scalars(query.order_by(Alert.raised, Alert.id)))


def alert_history(session: Session, *, source: str | None = None, limit: int = 100) -> list[Alert]:
    """The most recent alerts, active or cleared, newest first."""
    query = sa.select(Alert)
    if source is not None:
        query = query.where(Alert.source == source)
    return list(session.scalars(query.order_by(Alert.id.desc()).limit(limit)))


def active_counts(session: Session) -> dict[tuple[str, str], int]:
    """The number of active alerts by (source, severity)."""
    rows = session.execute(
        sa.select(Alert.source, Alert.severity, sa.func.count())
        .where(Alert.active_key.is_not(None))
        .group_by(Alert.source, Alert.severity)
    )
    return {(source, severity): count for source, severity, count in rows}
