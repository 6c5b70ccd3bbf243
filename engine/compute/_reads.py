"""Reading computes: what :class:`~engine.compute.service.ComputeService` shows a scope.

A compute is visible to a scope through :meth:`engine.scope.Scope.owner_filter`
(its account's users, its project's members, administrators of its domain and
above); anything else, and a ``deleted`` compute unless asked for, is
:class:`~engine.errors.NotFound`, never a permission error.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.compute.models import Compute
from engine.errors import InvalidInput, NotFound
from engine.lifecycle import Kind, State
from engine.prepared import find_visible, list_states
from engine.resources.paging import count_rows, excluding, seek_page
from engine.scope import Scope


class ComputeReads:
    """The reading half of :class:`~engine.compute.service.ComputeService`.

    :param session: the unit of work.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, scope: Scope, compute_id: str, *, include_deleted: bool = False) -> Compute:
        """A compute visible to ``scope``.

        :param include_deleted: also find ``deleted`` computes (kept for usage
            history); they are otherwise gone.
        :raises NotFound: no such compute, deleted, or another tenant's.
        """
        compute = find_visible(
            self.session, scope, Compute, compute_id, include_deleted=include_deleted
        )
        if compute is None:
            raise NotFound(f"no compute {compute_id!r}", kind=Kind.COMPUTE.value, id=compute_id)
        return compute

    def list(
        self,
        scope: Scope,
        *,
        name: str | None = None,
        state: State | str | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_deleted: bool = False,
        where: sa.ColumnElement[bool] | None = None,
        order_by: Sequence[sa.ColumnElement[Any]] = (),
    ) -> builtins.list[Compute]:
        """Computes visible to ``scope``, oldest first.

        :param name: only computes with exactly this name.
        :param state: only computes in this state.
        :param limit: at most this many (all by default).
        :param offset: skip this many first.
        :param where: a further condition on the ``computes`` columns (a
            rendering's query language compiled to SQL).
        :param order_by: sort keys that come before the oldest-first order.
        """
        if (limit is not None and limit < 0) or offset < 0:
            raise InvalidInput("limit and offset must not be negative")
        query = self._filtered(scope, name, state, include_deleted)
        if where is not None:
            query = query.where(where)
        query = query.order_by(*order_by, Compute.created, Compute.id)
        return builtins.list(self.session.scalars(query.offset(offset).limit(limit)))

    def list_states(self, scope: Scope) -> builtins.list[sa.Row[tuple[str, str]]]:
        """``(id, state)`` of the computes :meth:`list` returns, without loading them."""
        return list_states(self.session, scope, Compute)

    def list_columns(
        self,
        scope: Scope,
        columns: Sequence[Any],
        *,
        where: sa.ColumnElement[bool] | None = None,
        order_by: Sequence[sa.ColumnElement[Any]] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> builtins.list[sa.Row[Any]]:
        """Only *columns* of the computes :meth:`list` returns, as rows: no object is built.

        :param columns: ``computes`` columns or labelled expressions over them;
            a row answers each by its name.
        """
        if (limit is not None and limit < 0) or offset < 0:
            raise InvalidInput("limit and offset must not be negative")
        query = self._visible(scope, False)
        if where is not None:
            query = query.where(where)
        query = query.order_by(*order_by, Compute.created, Compute.id).offset(offset).limit(limit)
        return builtins.list(self.session.execute(query.with_only_columns(*columns)))

    def count(
        self,
        scope: Scope,
        *,
        name: str | None = None,
        state: State | str | None = None,
        include_deleted: bool = False,
        where: sa.ColumnElement[bool] | None = None,
        exclude_states: Iterable[str] = (),
    ) -> int:
        """How many computes :meth:`list` would return without ``limit``/``offset``.

        :param exclude_states: leave out computes in these states too.
        """
        query = self._filtered(scope, name, state, include_deleted)
        if where is not None:
            query = query.where(where)
        return count_rows(self.session, query.where(excluding(Compute, exclude_states)), Compute)

    def page(
        self,
        scope: Scope,
        *,
        skip: int,
        limit: int,
        where: sa.ColumnElement[bool] | None = None,
        exclude_states: Iterable[str] = (),
    ) -> builtins.list[Compute]:
        """The computes ``skip + 1 .. skip + limit`` of :meth:`list`, by seeking on its order.

        Reads only the page's rows (:func:`engine.resources.paging.seek_page`).

        :param where: a further condition on the ``computes`` columns.
        :param exclude_states: leave out computes in these states too.
        """
        query = self._visible(scope, False).where(excluding(Compute, exclude_states))
        if where is not None:
            query = query.where(where)
        return seek_page(self.session, query, Compute, skip=skip, limit=limit)

    def _visible(self, scope: Scope, include_deleted: bool) -> sa.Select[Compute]:
        query = sa.select(Compute).where(
            scope.owner_filter(Compute.account_id, Compute.project_id, Compute.domain_id)
        )
        if not include_deleted:
            query = query.where(Compute.state != State.DELETED.value)
        return query

    def _filtered(
        self, scope: Scope, name: str | None, state: State | str | None, include_deleted: bool
    ) -> sa.Select[Compute]:
        query = self._visible(scope, include_deleted)
        if name is not None:
            query = query.where(Compute.name == name)
        if state is not None:
            if state not in lifecycle.states(Kind.COMPUTE):
                raise InvalidInput(
                    f"'{state}' is not a state of a compute", field="state", reason="unknown"
                )
            query = query.where(Compute.state == str(state))
        return query


__all__ = ["ComputeReads"]
