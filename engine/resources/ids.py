"""Resource identifiers: generated, or chosen by the client (OCCI ``PUT`` at a new path,
or ``occi.core.id`` in a ``POST``).

GFD.223 §3.7 lets a client create an entity at a path of its choosing; the
last segment of that path becomes the resource's id. A chosen id is at most
64 characters (IM's OCCI connector chooses ``im-<uuid>``, 39) and safe in a
URL path.

A chosen id belongs to its owner's account, not to the whole cloud: it is
stored as the row's ``chosen_id``, unique per account and table, and the
renderings show it as the resource's id (:attr:`OwnedResource.public_id`).
The row's own ``id`` (the primary key, a compute's guest UUID on its host)
is the chosen id when that is free across the cloud and fits (a UUID for a
compute), and a fresh random UUID otherwise. So two tenants may choose the
same id, and whether another tenant has already chosen it changes nothing a
client can see: a taken id is a 409 only within the caller's own account
(an id is never reused there, even after deletion: deleted resources keep
their rows for usage history). Lookups by id find a row by its ``id`` or its
``chosen_id`` among the rows the caller sees
(:func:`engine.prepared.find_visible`).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import new_id
from engine.errors import AlreadyExists, InvalidInput
from engine.lifecycle import Kind

#: Letters, digits, '.', '_' and '-', starting with a letter or digit: a UUID,
#: or a name such as ``web-1``. At most 64 characters (the ``chosen_id`` columns).
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: The longest row id (the ``id`` columns): a longer chosen id gets a fresh row id.
ROW_ID_LENGTH = 36


def check_chosen_id(chosen: object) -> str:
    """``chosen`` if it is a valid id (see :data:`ID_PATTERN`).

    :raises InvalidInput: it is not.
    """
    if not isinstance(chosen, str) or not ID_PATTERN.fullmatch(chosen):
        raise InvalidInput(
            "an id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="id",
            reason="identifier",
            maximum=64,
        )
    return chosen


#: The Kind of each table's rows, as the subject of an id clash (engine.errors).
_SUBJECTS = {
    "computes": Kind.COMPUTE.value,
    "volumes": Kind.VOLUME.value,
    "networks": Kind.NETWORK.value,
    "network_interfaces": Kind.NETWORK_INTERFACE.value,
    "storage_attachments": Kind.STORAGE_ATTACHMENT.value,
}


def choose_id(
    session: Session,
    model: type[Any],
    chosen: str | None,
    *,
    account_id: str | None,
    uuid_only: bool = False,
) -> tuple[str, str | None]:
    """``(row id, chosen id)`` for a new row of ``model`` owned by ``account_id``.

    Without ``chosen``: a fresh UUID and no chosen id. With it: the chosen id
    (a UUID in canonical lower-case form, when it is one), and as row id the
    chosen id itself if no row of ``model`` has that id and it fits, else a
    fresh UUID (see the module docstring).

    :param uuid_only: the row id must be a UUID (a compute's id is its guest's
        UUID on the hypervisor); a chosen id that is not one gets a fresh row id.
    :raises InvalidInput: ``chosen`` is not a valid id.
    :raises AlreadyExists: a row of ``model`` in the same account has (or had)
        that id, chosen or not.
    """
    if chosen is None:
        return new_id(), None
    chosen = check_chosen_id(chosen)
    try:
        chosen = str(uuid.UUID(chosen)) if len(chosen) in (32, 36) else chosen
        is_uuid = len(chosen) == 36
    except ValueError:
        is_uuid = False
    taken = session.scalar(
        sa.select(model.id)
        .where(model.account_id == account_id)
        .where(sa.or_(model.id == chosen, model.chosen_id == chosen))
        .limit(1)
    )
    if taken is not None:
        raise AlreadyExists(
            f"the id {chosen!r} is taken in this account (ids are never reused)",
            subject=_SUBJECTS.get(model.__tablename__, "resource"),
            id=chosen,
        )
    fits = is_uuid or (not uuid_only and len(chosen) <= ROW_ID_LENGTH)
    row_id = chosen if fits and session.get(model, chosen) is None else new_id()
    return row_id, chosen


__all__ = ["ID_PATTERN", "ROW_ID_LENGTH", "check_chosen_id", "choose_id"]
