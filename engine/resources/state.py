"""Recording the state of volumes, networks and their links: shared by services and handlers.

* :func:`change_state` is a conditional ``UPDATE ... WHERE state IN
  (expected)``: when two requests race on one resource, the second finds the
  state moved and gets a :class:`~engine.errors.Conflict`, on SQLite and
  MariaDB alike, so a resource never has two jobs in flight;
* :func:`pin` is the same update without a change: it makes sure a resource
  is (and, until the transaction ends, stays) in one of some states while
  something else is attached to it. On MariaDB the row stays locked until
  commit, so a concurrent delete waits and then sees the new link; on
  SQLite writers are serialised anyway;
* :func:`emit_resource` records a ``<kind>.<what>`` event with the facts the
  caller gives plus ``previous_state``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidTransition
from engine.events.models import Event
from engine.events.service import DomainEvent, emit
from engine.lifecycle import Kind, State
from engine.resources.models import OwnedResource, ZonedResource
from engine.scope import Owner, Scope

#: The rows this module records states of: volumes, networks and the links of
#: computes to them (any owned resource works the same way).
Resource = OwnedResource
#: Longest state_message the column holds.
MESSAGE_LENGTH = 1024
#: Compute states in which volumes and interfaces are attached: a guest that
#: is defined and not in a job (GFD.224 §3.4 links join existing resources).
#: libvirt hot-plugs into a paused QEMU guest as into a running one; a
#: suspended (saved) guest is shut off, so its definition takes the device and
#: the driver plugs it in when the guest is restored. Common OCCI test
#: sequences suspend a compute and then link storage to it (issue 17).
ATTACH_COMPUTE_STATES = frozenset({State.STOPPED, State.RUNNING, State.PAUSED, State.SUSPENDED})
#: Compute states in which links are detached: as above, plus ``error``
#: (cleaning up a broken guest must stay possible).
DETACH_COMPUTE_STATES = ATTACH_COMPUTE_STATES | {State.ERROR}


def iso(value: dt.datetime | None) -> str | None:
    """A timestamp as ISO 8601 text, for event payloads (JSON)."""
    return None if value is None else value.isoformat()


def change_state(
    session: Session,
    row: Resource,
    expected: State | Collection[State],
    new: State,
    *,
    message: str | None = None,
    **values: Any,
) -> None:
    """Move ``row`` from ``expected`` to ``new`` (and set ``values``) atomically.

    :param message: the new ``state_message`` (cleared by default).
    :raises Conflict: the row is no longer in ``expected``.
    """
    model = type(row)
    states = [expected] if isinstance(expected, State) else list(expected)
    result = session.execute(
        sa.update(model)
        .where(model.id == row.id, model.state.in_([s.value for s in states]))
        .values(state=new.value, state_message=message, **values)
        .execution_options(synchronize_session="fetch")
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise Conflict(
            "the resource changed state meanwhile; read it again and retry",
            expected=[s.value for s in states],
        )


def pin(
    session: Session,
    model: type[ZonedResource],
    row_id: str,
    states: Collection[State],
    kind: Kind,
    purpose: tuple[str, Kind],
) -> None:
    """Make sure a compute, volume or network is in one of ``states`` until commit.

    :param purpose: what needs it: ``(operation, link kind)``, as for :func:`refuse`.
    :raises InvalidTransition: it is in another state (it moved meanwhile).
    """
    result = session.execute(
        sa.update(model)
        .where(model.id == row_id, model.state.in_([s.value for s in states]))
        .values(state=model.state)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        current = session.scalar(sa.select(model.state).where(model.id == row_id))
        raise refuse(kind, current or State.DELETED.value, purpose, states, row_id)


#: The operations :func:`refuse` names: making a link, preparing one for a
#: compute being created, and removing one.
OPERATIONS = frozenset({"attach", "prepare", "detach"})


def refuse(
    kind: Kind,
    state: str,
    purpose: tuple[str, Kind],
    allowed: Collection[State],
    resource_id: str | None = None,
) -> InvalidTransition:
    """The error for a resource whose state does not allow ``purpose`` now.

    :param purpose: ``(operation, link kind)``: the operation (one of
        :data:`OPERATIONS`) on a link of that kind that needs the resource in
        one of ``allowed``. The error carries them as engine values
        (``operation``, ``link``, ``kind``, ``state``, ``expected``, ``id``),
        from which each rendering writes its own message.
    """
    operation, link = purpose
    wanted = " or ".join(sorted(s.value for s in allowed))
    return InvalidTransition(
        f"cannot {operation} a {link.label}: the {kind.label} is {state}, not {wanted}",
        kind=kind.value,
        state=state,
        operation=operation,
        link=link.value,
        expected=sorted(s.value for s in allowed),
        **({"id": resource_id} if resource_id else {}),
    )


def same_owner(a: Owner, b: Owner) -> bool:
    """Whether two resources belong to the same account and project."""
    return (a.account_id, a.project_id) == (b.account_id, b.project_id)


def emit_resource(
    session: Session,
    kind: Kind,
    row: Resource,
    event_type: str,
    facts: Mapping[str, Any],
    *,
    previous_state: str | None,
    scope: Scope | None = None,
    job_id: str | None = None,
    **extra: Any,
) -> Event:
    """Record an event about ``row`` with ``facts``, ``previous_state`` and ``extra``."""
    payload = {**facts, "previous_state": previous_state, **extra}
    return emit(
        session,
        DomainEvent(event_type, kind.value, row.id, Owner.of(row), payload),
        scope,
        job_id,
    )


__all__ = [
    "ATTACH_COMPUTE_STATES",
    "DETACH_COMPUTE_STATES",
    "MESSAGE_LENGTH",
    "OPERATIONS",
    "Resource",
    "change_state",
    "emit_resource",
    "iso",
    "pin",
    "refuse",
    "same_owner",
]
