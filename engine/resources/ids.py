"""Resource identifiers: generated, or chosen by the client (OCCI ``PUT`` at a new path).

GFD.223 §3.7 lets a client create an entity by ``PUT`` at a path of its
choosing; the last segment of that path becomes the resource's id. A chosen
id must fit the id columns (36 characters) and be safe in a URL path, and
must never have been used: deleted resources keep their rows (and ids) for
usage history.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.orm import Session

from engine.db import new_id
from engine.errors import AlreadyExists, InvalidInput

#: Letters, digits, '.', '_' and '-', starting with a letter or digit: a UUID,
#: or a name such as ``web-1``. At most 36 characters (the id columns).
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,35}")


def choose_id(
    session: Session, model: type[Any], chosen: str | None, *, uuid_only: bool = False
) -> str:
    """A new id for a row of ``model``: ``chosen`` if given and free, else a fresh UUID.

    :param uuid_only: the id must be a UUID (a compute's id is its guest's UUID
        on the hypervisor); it is kept in canonical lower-case form.
    :raises InvalidInput: ``chosen`` is not a valid id.
    :raises AlreadyExists: a row of ``model`` has (or had) that id.
    """
    if chosen is None:
        return new_id()
    if not isinstance(chosen, str) or not ID_PATTERN.fullmatch(chosen):
        raise InvalidInput(
            "an id is 1 to 36 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="id",
        )
    if uuid_only:
        try:
            chosen = str(uuid.UUID(chosen))
        except ValueError:
            raise InvalidInput(
                "this id must be a UUID (it is the guest's UUID on its host)", field="id"
            ) from None
    if session.get(model, chosen) is not None:
        raise AlreadyExists(f"the id {chosen!r} is taken (ids are never reused)", id=chosen)
    return chosen


__all__ = ["ID_PATTERN", "choose_id"]
