"""Statements built once per caller shape, for the hot read paths.

Building a SQLAlchemy statement and its cache key costs more than running it
on SQLite or over a local MariaDB connection (a lookup by id took about
225 µs built per call against 60 µs prepared; bench/RESULTS.md). The reads every request makes
(one resource by id, a compute's links, tags of a few resources) are therefore
built once per *shape* of the caller (:attr:`engine.scope.Scope.visibility_shape`)
with bound parameters, and executed with the caller's
:meth:`~engine.scope.Scope.visibility_parameters`. The visibility rule itself
is the one of :meth:`~engine.scope.Scope.owner_filter` (both come from
:func:`engine.scope.owner_condition`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.lifecycle import State
from engine.scope import Scope, prepared_owner_filter

S = TypeVar("S")

# Keys are (purpose, model, options..., shape): a few dozen entries at most.
_STATEMENTS: dict[Hashable, Any] = {}


def prepared(key: Hashable, build: Callable[[], S]) -> S:
    """The statement cached under ``key``, built by ``build`` on first use.

    Two threads may both build it the first time; either result is the same.
    """
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS.setdefault(key, build())
    return statement  # type: ignore[no-any-return]


def visible(model: Any, shape: Any) -> sa.ColumnElement[bool]:
    """The prepared owner filter of an owned model's table."""
    return prepared_owner_filter(shape, model.account_id, model.project_id, model.domain_id)


def find_visible(
    session: Session, scope: Scope, model: type[S], resource_id: str, *, include_deleted: bool
) -> S | None:
    """The row of ``model`` with ``resource_id`` if ``scope`` sees it (None otherwise).

    ``resource_id`` is the row's id or the id its owner chose
    (:mod:`engine.resources.ids`); a chosen id is unique in its account, so a
    tenant finds one row at most. A scope that sees several accounts (an
    administrator) may see two tenants' rows answering to one chosen id: the
    row whose own id it is comes first, then the oldest.

    :param include_deleted: also find a row in the ``deleted`` state.
    """
    shape = scope.visibility_shape
    owned: Any = model

    def build() -> sa.Select[Any]:
        row_id: sa.BindParameter[str] = sa.bindparam("row_id")
        query = sa.select(owned).where(
            visible(owned, shape), sa.or_(owned.id == row_id, owned.chosen_id == row_id)
        )
        if not include_deleted:
            query = query.where(owned.state != State.DELETED.value)
        return query.order_by(sa.case((owned.id == row_id, 0), else_=1), owned.created).limit(1)

    statement = prepared(("find", model, include_deleted, shape), build)
    found: S | None = session.scalar(
        statement, {**scope.visibility_parameters(), "row_id": resource_id}
    )
    return found


def list_states(session: Session, scope: Scope, model: Any) -> list[sa.Row[tuple[str, str]]]:
    """``(public id, state)`` of every live row of ``model`` visible to ``scope``, oldest first.

    What a listing by location needs, without loading (and decoding) the rows:
    a thousand computes read this way cost a tenth of loading them.
    """
    shape = scope.visibility_shape

    def build() -> sa.Select[str, str]:
        # The id clients see (engine.resources.models.OwnedResource.public_id).
        public_id = sa.func.coalesce(model.chosen_id, model.id).label("id")
        return (
            sa.select(public_id, model.state)
            .where(visible(model, shape), model.state != State.DELETED.value)
            .order_by(model.created, model.id)
        )

    statement = prepared(("states", model, shape), build)
    return list(session.execute(statement, scope.visibility_parameters()))


__all__ = ["find_visible", "list_states", "prepared", "visible"]
