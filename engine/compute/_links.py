"""What volume attachments and network interfaces share: links of a compute.

A link joins a compute to a volume (:class:`~engine.storage.models.StorageAttachment`)
or to a network (:class:`~engine.network.models.NetworkInterface`). Both are
owned like the compute, read the same way, checked the same way before
they are made (same owner, same zone, both rows pinned in their states),
queued the same way (``<kind>.attach``, ``<kind>.detach``) and recorded
with the same events. :mod:`engine.compute.attachments` and
:mod:`engine.compute.interfaces` call these functions with their kind,
model and event recorder, and keep what is their own (devices and pools,
addresses and interface names).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine import lifecycle
from engine.compute.models import Compute
from engine.errors import Conflict, NotFound
from engine.jobs.models import Job
from engine.jobs.service import JobService
from engine.lifecycle import Action, Kind, State
from engine.network.models import Network, NetworkInterface
from engine.prepared import find_visible, prepared, visible
from engine.resources.emitters import ResourceEmitter
from engine.resources.state import DETACH_COMPUTE_STATES, change_state, pin, same_owner
from engine.scope import Owner, Scope
from engine.storage.models import StorageAttachment, Volume

#: A link between a compute and a volume or network.
L = TypeVar("L", StorageAttachment, NetworkInterface)


def find_link(session: Session, scope: Scope, model: type[L], kind: Kind, link_id: str) -> L:
    """The link ``link_id`` visible to ``scope``.

    :raises NotFound: no such link (or detached), or another tenant's.
    """
    link = find_visible(session, scope, model, link_id, include_deleted=True)
    if link is None:
        raise NotFound(f"no {kind.label} {link_id!r}", kind=kind.value, id=link_id)
    return link


def list_links(
    session: Session,
    scope: Scope,
    model: type[L],
    *,
    compute_id: str | None,
    target: tuple[InstrumentedAttribute[str], str | None],
    order: InstrumentedAttribute[str],
) -> list[L]:
    """Links visible to ``scope``, of one compute and/or target if given, by compute, ``order``.

    :param target: the column naming the linked volume or network, and its
        wanted value (``None``: any).
    """
    column, target_id = target
    shape = scope.visibility_shape

    def build() -> sa.Select[L]:
        query = sa.select(model).where(visible(model, shape))
        if compute_id is not None:
            query = query.where(model.compute_id == sa.bindparam("compute_id"))
        if target_id is not None:
            query = query.where(column == sa.bindparam("target_id"))
        return query.order_by(model.compute_id, order)

    key = ("links", model, column, order, compute_id is None, target_id is None, shape)
    parameters = {**scope.visibility_parameters(), "compute_id": compute_id}
    return list(session.scalars(prepared(key, build), {**parameters, "target_id": target_id}))


def check_pair(compute: Compute, target: Volume | Network, label: str) -> None:
    """Refuse a link between resources of different owners or zones.

    :param label: what ``target`` is, its Kind value (``"volume"``).
    :raises Conflict: they belong to different owners or are in different zones.
    """
    check_linkable(Owner.of(compute), compute.zone_id, target, label)


def check_linkable(owner: Owner, zone_id: str, target: Volume | Network, label: str) -> None:
    """Refuse to link ``target`` to a compute of ``owner`` in ``zone_id``, existing or about to.

    A compute of one of its account's projects may also join a network the
    account owns outside any project: the account's users see that network,
    and it is the account's default network of the zone
    (:mod:`engine.network.defaults`) that gives such a compute an address,
    as a project's network does in OpenStack. Volumes are the owner's only.

    :raises Conflict: another owner's, or in another zone.
    """
    shared = (
        isinstance(target, Network)
        and target.project_id is None
        and target.account_id == owner.account_id
    )
    if not (shared or same_owner(owner, Owner.of(target))):
        raise Conflict(
            f"the {label} and the compute belong to different owners",
            subject=label,
            reason="owner",
            other=Kind.COMPUTE.value,
        )
    if target.zone_id != zone_id:
        raise Conflict(
            f"the {label} is in another zone than the compute",
            subject=label,
            reason="zone",
            other=Kind.COMPUTE.value,
        )


def pin_pair(
    session: Session,
    compute: tuple[Compute, Collection[State], tuple[str, Kind]],
    target: tuple[Volume | Network, Collection[State], tuple[str, Kind]],
) -> None:
    """Pin a compute and the volume or network it is linked to in their states.

    Each is given as ``(row, allowed states, purpose)``; see
    :func:`~engine.resources.state.pin`.

    :raises InvalidTransition: one of them is in another state.
    """
    row, states, purpose = compute
    pin(session, Compute, row.id, states, Kind.COMPUTE, purpose)
    other, other_states, other_purpose = target
    if isinstance(other, Volume):
        pin(session, Volume, other.id, other_states, Kind.VOLUME, other_purpose)
    else:
        pin(session, Network, other.id, other_states, Kind.NETWORK, other_purpose)


def submit_attach(
    session: Session, scope: Scope, link: L, kind: Kind, emit: ResourceEmitter[L]
) -> Job:
    """Queue ``<kind>.attach`` for a new link and record ``<kind>.created``."""
    job = JobService(session).submit(
        scope,
        f"{kind.value}.attach",
        kind.value,
        link.id,
        Owner.of(link),
        {"previous": None},
    )
    emit(session, link, f"{kind.value}.created", previous_state=None, scope=scope, job_id=job.id)
    return job


def request_detach(
    session: Session,
    scope: Scope,
    link: L,
    kind: Kind,
    emit: ResourceEmitter[L],
    purpose: tuple[str, Kind],
) -> Job:
    """Start detaching ``link``: queue ``<kind>.detach`` and record ``<kind>.detach.requested``.

    :param purpose: what the compute is pinned for, ``("detach", link kind)``
        (:func:`~engine.resources.state.refuse`).
    :raises InvalidTransition: a job runs on the link, or its compute is not
        stopped, running or in error.
    """
    previous = State(link.state)
    transitional = lifecycle.begin(kind, previous, Action.DELETE, link.id)
    change_state(session, link, previous, transitional)
    pin(session, Compute, link.compute_id, DETACH_COMPUTE_STATES, Kind.COMPUTE, purpose)
    job = JobService(session).submit(
        scope,
        f"{kind.value}.detach",
        kind.value,
        link.id,
        Owner.of(link),
        {"previous": previous.value},
    )
    emit(
        session,
        link,
        f"{kind.value}.detach.requested",
        previous_state=previous.value,
        scope=scope,
        job_id=job.id,
    )
    return job


__all__ = [
    "check_pair",
    "find_link",
    "list_links",
    "pin_pair",
    "request_detach",
    "submit_attach",
]
