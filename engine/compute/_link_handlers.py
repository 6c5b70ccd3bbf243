"""What the handlers of volume attachments and network interfaces share.

Both are *links* between a compute and a volume or network, and both can be
*prepared* with a new compute (recorded ``attaching`` without a job of their
own): the ``compute.create`` handler completes them once the guest is
defined with their devices, or fails them with the compute. The functions
here do that for either kind, and end a detach (:func:`delete_link`,
:func:`fail_detach`); :mod:`engine.compute._attachment_handlers` and
:mod:`engine.compute._interface_handlers` name the kind, its event recorder and the
order of its devices. :func:`register_handlers` is what each handler module's
``register`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine import lifecycle
from engine.compute.models import Compute
from engine.errors import EngineError
from engine.jobs.worker import JobContext
from engine.lifecycle import Action, Kind, State
from engine.network.models import NetworkInterface
from engine.resources.emitters import ResourceEmitter
from engine.resources.state import MESSAGE_LENGTH, change_state
from engine.storage.models import StorageAttachment

#: A link between a compute and a volume or network.
L = TypeVar("L", StorageAttachment, NetworkInterface)


def prepared_links(
    session: Session, compute: Compute, model: type[L], order: InstrumentedAttribute[str]
) -> list[L]:
    """The links of ``compute`` still ``attaching`` (prepared with it), by ``order``."""
    query = sa.select(model).where(
        model.compute_id == compute.id,
        model.state == State.ATTACHING.value,
    )
    return list(session.scalars(query.order_by(order)))


def complete_links(
    session: Session,
    links: Iterable[L],
    kind: Kind,
    emit: ResourceEmitter[L],
    job_id: str | None,
) -> int:
    """Mark prepared ``links`` ``attached``, record ``<kind>.attached`` for each; count them."""
    count = 0
    for link in links:
        new = lifecycle.complete_creation(kind, State.ATTACHING, started=True)
        change_state(session, link, State.ATTACHING, new)
        emit(
            session,
            link,
            f"{kind.value}.attached",
            previous_state="attaching",
            job_id=job_id,
            prepared=True,
        )
        count += 1
    return count


def fail_links(
    session: Session,
    links: Iterable[L],
    kind: Kind,
    emit: ResourceEmitter[L],
    message: str,
    job_id: str | None,
) -> int:
    """Record that attaching each of ``links`` failed (see :func:`fail_link`); count them."""
    count = 0
    for link in links:
        fail_link(session, link, kind, emit, message, job_id)
        count += 1
    return count


def fail_link(
    session: Session,
    link: L,
    kind: Kind,
    emit: ResourceEmitter[L],
    message: str,
    job_id: str | None,
) -> None:
    """Record that attaching ``link`` failed with ``message``.

    A link still ``attaching`` goes where the lifecycle puts a failed
    creation, with a ``<kind>.attach.failed`` event; one in another state
    (it moved meanwhile) only keeps the message.
    """
    message = message[:MESSAGE_LENGTH]
    if link.state != State.ATTACHING:
        link.state_message = message
        session.flush()
        return
    new = lifecycle.fail_creation(kind, State.ATTACHING)
    change_state(session, link, State.ATTACHING, new, message=message)
    emit(
        session,
        link,
        f"{kind.value}.attach.failed",
        previous_state="attaching",
        job_id=job_id,
        message=message,
    )


def fail_detach(
    ctx: JobContext, model: type[L], kind: Kind, emit: ResourceEmitter[L], message: str
) -> None:
    """Record that the job's ``<kind>.detach`` failed with ``message``.

    The link goes where the lifecycle puts a failed detach from the state the
    job began in (``job.parameters['previous']``), with a
    ``<kind>.detach.failed`` event; when that cannot be worked out it only
    keeps the message, and a link that is gone already is left alone.
    """
    link = ctx.session.get(model, ctx.job.target_id, populate_existing=True)
    if link is None:
        return
    message = message[:MESSAGE_LENGTH]
    try:
        previous = State(ctx.job.parameters["previous"])
        new = lifecycle.fail(kind, State(link.state), Action.DELETE, previous)
    except (EngineError, KeyError, ValueError):
        link.state_message = message
        ctx.session.flush()
        return
    change_state(ctx.session, link, State.DETACHING, new, message=message)
    emit(
        ctx.session,
        link,
        f"{kind.value}.detach.failed",
        previous_state="detaching",
        job_id=ctx.job.id,
        message=message,
    )


def delete_link(ctx: JobContext, link: L, kind: Kind, emit: ResourceEmitter[L]) -> None:
    """End a detach job's ``link``: record ``<kind>.deleted``, then delete its row.

    Deleting frees the link's unique keys (device, address, MAC); the event
    keeps the record.
    """
    emit(
        ctx.session,
        link,
        f"{kind.value}.deleted",
        previous_state=ctx.job.parameters.get("previous"),
        job_id=ctx.job.id,
        state=State.DELETED.value,
    )
    ctx.session.delete(link)
    ctx.session.flush()


__all__ = [
    "complete_links",
    "delete_link",
    "fail_detach",
    "fail_link",
    "fail_links",
    "prepared_links",
]
