"""Which live resources still use a row that a lower capability owns.

A guest boots an image and runs on a host, a volume lives in a pool: rows of
the catalog and the inventory are used by resources of capabilities above
them. Deleting a used row must be refused, yet the catalog and the
inventory must not import the capabilities above them (the package order).
So each resource model declares, beside its class, the columns by which it
refers down (:func:`refers_to`); the owner of the referred row asks
:func:`count_users` before a deletion.

The declarations are made when the resource models are imported, which
SQLAlchemy's mapper configuration requires of every model before the first
query anyway (relationships name each other); :mod:`engine.tables` imports
them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.lifecycle import State


@dataclass(frozen=True)
class Reference:
    """Rows of one model that use a row of ``table`` through ``column``.

    :param noun: what one such row is called in messages ("guest").
    :param column: the mapped column holding the used row's id; its model
        has a ``state`` column (rows in state ``deleted`` use nothing).
    """

    noun: str
    column: Any


_REFERENCES: dict[str, list[Reference]] = {}


def refers_to(table: str, noun: str, column: Any) -> None:
    """Declare that rows whose ``column`` holds an id of ``table`` use that row."""
    references = _REFERENCES.setdefault(table, [])
    if all(r.column is not column for r in references):
        references.append(Reference(noun, column))


def references_to(table: str) -> Sequence[Reference]:
    """What may use a row of ``table``, by noun (the order of the messages)."""
    return tuple(sorted(_REFERENCES.get(table, ()), key=lambda r: r.noun))


def count_users(session: Session, table: str, ids: Sequence[str]) -> list[tuple[str, int]]:
    """How many live rows use any of ``ids`` of ``table``, per kind of user.

    :returns: ``(noun, count)`` for each declared reference with a non-zero count.
    """
    found = []
    for reference in references_to(table):
        model = reference.column.class_
        count = session.scalar(
            sa.select(sa.func.count())
            .select_from(model)
            .where(reference.column.in_(ids), model.state != State.DELETED.value)
        )
        if count:
            found.append((reference.noun, count))
    return found


__all__ = ["Reference", "count_users", "references_to", "refers_to"]
