"""Positional pages of a listing read by seeking on its order (issue 15).

Listings are ordered oldest first: ``(created, id)``, the order every
rendering shows. A page given by position (OCCI's ``page`` and ``number``,
GFD.223 §3.4) is read in two statements: the ``(created, id)`` of the row
just before the page, found on the owner's ``(account_id, created, id,
project_id, state)`` index without reading any row (migration 0031), then the page's
rows themselves by seeking past that key, ``LIMIT`` the page size. No row
before the page is loaded or decoded. The standard's paging is by position,
so the database still steps over the index entries before the page; a
client that had the last key could skip even that, but GFD.223 gives it no
way to send one.

A row inserted while a client pages sorts after every row that existed
(its ``created`` is later), so the pages already read keep their members.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

#: The mapped rows a page holds.
R = TypeVar("R")


def seek_page(
    session: Session,
    query: sa.Select[R],
    model: Any,
    *,
    skip: int,
    limit: int,
) -> builtins.list[R]:
    """The rows ``skip + 1 .. skip + limit`` of *query* in ``(created, id)`` order.

    :param query: ``select(model)`` with the listing's conditions, unordered.
    :param model: the mapped class (its ``created`` and ``id`` columns).
    :param skip: how many rows come before the page (0 for the first page).
    :param limit: the page size.
    """
    if limit <= 0 or skip < 0:
        return []
    order = (model.created, model.id)
    if skip > 0:
        keys = query.with_only_columns(*order).order_by(*order).offset(skip - 1).limit(1)
        boundary = session.execute(keys).first()
        if boundary is None:
            return []  # the page starts past the end
        created, row_id = boundary
        query = query.where(
            sa.or_(model.created > created, sa.and_(model.created == created, model.id > row_id))
        )
    return builtins.list(session.scalars(query.order_by(*order).limit(limit)))


def excluding(model: Any, states: Iterable[str]) -> sa.ColumnElement[bool]:
    """Rows of *model* in none of *states* (always true when there are none)."""
    codes = sorted(states)
    return model.state.not_in(codes) if codes else sa.true()


def count_rows(session: Session, query: sa.Select[Any], model: Any) -> int:
    """How many rows *query* (``select(model)`` with conditions) selects."""
    counted = query.with_only_columns(model.id).subquery()
    return int(session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0)


__all__ = ["count_rows", "excluding", "seek_page"]
