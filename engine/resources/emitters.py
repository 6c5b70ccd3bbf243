"""Event recorders of volumes, networks and their links, made from one pattern.

Every ``<kind>.*`` event of a resource carries the same facts about it (see
:func:`~engine.storage.state.volume_facts` and its siblings) plus
``previous_state`` and what the caller adds. :func:`resource_emitter` turns a
kind and its facts function into the recorder the services and handlers
call (:func:`~engine.storage.state.emit_volume`,
:func:`~engine.network.state.emit_network`, ...), so that the four
of them share one signature and one body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from engine.events.models import Event
from engine.lifecycle import Kind
from engine.resources.state import Resource, emit_resource
from engine.scope import Scope

#: The row type a recorder takes.
R = TypeVar("R", bound=Resource)
R_contra = TypeVar("R_contra", bound=Resource, contravariant=True)


class ResourceEmitter(Protocol[R_contra]):
    """Records a ``<kind>.*`` event about a row, in the caller's transaction."""

    def __call__(
        self,
        session: Session,
        row: R_contra,
        event_type: str,
        /,
        *,
        previous_state: str | None,
        scope: Scope | None = None,
        job_id: str | None = None,
        **extra: Any,
    ) -> Event:
        """Record ``event_type`` with the row's facts, ``previous_state`` and ``extra``."""
        ...


def resource_emitter(
    kind: Kind, facts: Callable[[Session, R], Mapping[str, Any]], doc: str
) -> ResourceEmitter[R]:
    """A recorder of ``kind`` events whose payload starts with ``facts(session, row)``.

    :param doc: the recorder's docstring.
    """

    def emit_event(
        session: Session,
        row: R,
        event_type: str,
        /,
        *,
        previous_state: str | None,
        scope: Scope | None = None,
        job_id: str | None = None,
        **extra: Any,
    ) -> Event:
        return emit_resource(
            session,
            kind,
            row,
            event_type,
            facts(session, row),
            previous_state=previous_state,
            scope=scope,
            job_id=job_id,
            **extra,
        )

    emit_event.__doc__ = doc
    return emit_event


__all__ = ["ResourceEmitter", "resource_emitter"]
