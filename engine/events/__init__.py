"""Events: the engine's durable record of what happened.

Every lifecycle change records a :class:`~engine.events.service.DomainEvent`
in the transaction that makes the change, so the record and the change
commit or vanish together; consumers (usage accounting, monitors) read the
log with cursors of their own.

Entry points:
    :func:`~engine.events.service.emit`, :func:`~engine.events.service.read`,
    :func:`~engine.events.service.advance`, :func:`~engine.events.service.subscribe`;
    alerts, :func:`~engine.events.alerts.raise_alert` and
    :func:`~engine.events.alerts.clear_alert`; the tables in
    :mod:`~engine.events.models`.

Uses: no other capability (the base modules only: an event names its owner
by ids).
"""
