"""What the volume and network services share: reading, changing and queueing jobs.

A volume and a network are both *owned resources*: rows with an owner
(account, project, domain), a zone, a lifecycle state and the fields every
tenant may change at any time (``name``, ``description``, ``properties``).
:class:`OwnedResources` holds the operations that are the same for both:

* :meth:`~OwnedResources.list` and the lookup behind ``get`` (a deleted
  resource keeps its row but is gone for both unless asked for);
* :meth:`~OwnedResources._change` for ``update``: check what is given, keep
  what differs, set it and record ``<kind>.updated``;
* :meth:`~OwnedResources._begin` and :meth:`~OwnedResources._submit`: move
  the resource to the transitional state of an action, then queue the job
  ``<kind>.<action>`` and record ``<kind>.<action>.requested``.

The services keep their own ``get``, ``update``, ``perform`` and ``delete``
(their parameters are named after the resource) and say what is particular
to them.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.errors import InvalidInput, NotFound
from engine.jobs.models import Job
from engine.jobs.service import JobService
from engine.lifecycle import Action, Kind, State
from engine.prepared import find_visible, list_states
from engine.resources import checks
from engine.resources.checks import Unset
from engine.resources.emitters import ResourceEmitter
from engine.resources.models import ZonedResource
from engine.resources.paging import count_rows, excluding, seek_page
from engine.resources.state import change_state
from engine.scope import Owner, Scope

#: The resource a service owns.
R = TypeVar("R", bound=ZonedResource)


class OwnedResources(Generic[R]):
    """The operations a service of owned resources of one kind shares with the others.

    A subclass sets :attr:`model`, :attr:`kind` and :meth:`_emit`.
    """

    session: Session
    #: The mapped class of the resource.
    model: type[R]
    #: Its lifecycle kind: its states, its jobs' and events' prefix.
    kind: Kind

    # -- reading ---------------------------------------------------------------

    def list(
        self,
        scope: Scope,
        *,
        name: str | None = None,
        state: State | str | None = None,
        zone_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_deleted: bool = False,
        where: sa.ColumnElement[bool] | None = None,
        order_by: Sequence[sa.ColumnElement[Any]] = (),
    ) -> builtins.list[R]:
        """Resources of this kind visible to ``scope``, oldest first, optionally filtered.

        :param where: a further condition on the model's columns (a
            rendering's query language compiled to SQL).
        :param order_by: sort keys that come before the oldest-first order.
        """
        if (limit is not None and limit < 0) or offset < 0:
            raise InvalidInput("limit and offset must not be negative")
        model = self.model
        query = self._visible(scope, include_deleted)
        if where is not None:
            query = query.where(where)
        if name is not None:
            query = query.where(model.name == name)
        if zone_id is not None:
            query = query.where(model.zone_id == zone_id)
        if state is not None:
            if state not in lifecycle.states(self.kind):
                raise InvalidInput(
                    f"'{state}' is not a state of a {self.kind.label}",
                    field="state",
                    reason="unknown",
                )
            query = query.where(model.state == str(state))
        query = query.order_by(*order_by, model.created, model.id).offset(offset).limit(limit)
        return builtins.list(self.session.scalars(query))

    def count(
        self,
        scope: Scope,
        *,
        where: sa.ColumnElement[bool] | None = None,
        exclude_states: Iterable[str] = (),
    ) -> int:
        """How many resources :meth:`list` returns with *where* and no ``limit``/``offset``.

        :param exclude_states: leave out resources in these states too.
        """
        query = self._visible(scope, False).where(excluding(self.model, exclude_states))
        if where is not None:
            query = query.where(where)
        return count_rows(self.session, query, self.model)

    def page(
        self,
        scope: Scope,
        *,
        skip: int,
        limit: int,
        where: sa.ColumnElement[bool] | None = None,
        exclude_states: Iterable[str] = (),
    ) -> builtins.list[R]:
        """The resources ``skip + 1 .. skip + limit`` of :meth:`list`, by seeking on its order.

        Reads only the page's rows (:func:`engine.resources.paging.seek_page`).

        :param where: a further condition on the model's columns.
        :param exclude_states: leave out resources in these states too.
        """
        query = self._visible(scope, False).where(excluding(self.model, exclude_states))
        if where is not None:
            query = query.where(where)
        return seek_page(self.session, query, self.model, skip=skip, limit=limit)

    def list_states(self, scope: Scope) -> builtins.list[sa.Row[tuple[str, str]]]:
        """``(id, state)`` of the resources :meth:`list` returns, without loading them."""
        return list_states(self.session, scope, self.model)

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
        """Only *columns* of the resources :meth:`list` returns, as rows: no object is built.

        :param columns: the model's columns or labelled expressions over them;
            a row answers each by its name.
        """
        if (limit is not None and limit < 0) or offset < 0:
            raise InvalidInput("limit and offset must not be negative")
        model = self.model
        query = self._visible(scope, False)
        if where is not None:
            query = query.where(where)
        query = query.order_by(*order_by, model.created, model.id).offset(offset).limit(limit)
        return builtins.list(self.session.execute(query.with_only_columns(*columns)))

    def _find(self, scope: Scope, resource_id: str, include_deleted: bool) -> R:
        """The resource ``resource_id`` visible to ``scope``.

        :raises NotFound: no such resource, deleted, or another tenant's.
        """
        row = find_visible(
            self.session, scope, self.model, resource_id, include_deleted=include_deleted
        )
        if row is None:
            raise NotFound(
                f"no {self.kind.label} {resource_id!r}", kind=self.kind.value, id=resource_id
            )
        return row

    def _visible(self, scope: Scope, include_deleted: bool) -> sa.Select[R]:
        model = self.model
        query = sa.select(model).where(
            scope.owner_filter(model.account_id, model.project_id, model.domain_id)
        )
        if not include_deleted:
            query = query.where(model.state != State.DELETED.value)
        return query

    # -- changing --------------------------------------------------------------

    @staticmethod
    def _field_changes(
        name: str | Unset,
        description: str | Unset | None,
        properties: Mapping[str, str] | Unset,
        **texts: str | Unset | None,
    ) -> dict[str, Any]:
        """The fields given, checked: ``name``, ``description``, ``texts``, ``properties``.

        :param texts: further optional text fields of up to 255 characters.
        :raises InvalidInput: a value is malformed.
        """
        changes: dict[str, Any] = {}
        if not isinstance(name, Unset):
            checks.check_text("name", name, 255, required=True)
            changes["name"] = name
        if not isinstance(description, Unset):
            checks.check_text("description", description, 1024)
            changes["description"] = description
        for field, value in texts.items():
            if not isinstance(value, Unset):
                checks.check_text(field, value, 255)
                changes[field] = value
        if not isinstance(properties, Unset):
            checks.check_properties(properties)
            changes["properties"] = dict(properties)
        return changes

    def _change(self, scope: Scope, row: R, changes: Mapping[str, Any]) -> R:
        """Set the ``changes`` that differ from ``row`` and record ``<kind>.updated``."""
        changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if not changed:
            return row
        for key, value in changed.items():
            setattr(row, key, value)
        self.session.flush()
        self._emit(
            row,
            f"{self.kind.value}.updated",
            previous_state=row.state,
            scope=scope,
            changed=sorted(changed),
        )
        return row

    def _begin(self, row: R, action: Action) -> State:
        """Move ``row`` to the transitional state of ``action``; return the state it had.

        :raises InvalidTransition: its state forbids the action.
        :raises Conflict: it changed state meanwhile.
        """
        previous = State(row.state)
        transitional = lifecycle.begin(self.kind, previous, action, row.id)
        change_state(self.session, row, previous, transitional)
        return previous

    def _submit(
        self,
        scope: Scope,
        row: R,
        action: Action,
        previous: State,
        parameters: Mapping[str, Any] | None = None,
    ) -> Job:
        """Queue ``<kind>.<action>`` on ``row`` and record ``<kind>.<action>.requested``.

        :param parameters: the job's parameters, also recorded in the event.
        """
        parameters = dict(parameters or {})
        # 'previous' lets the handler's failed() restore the state the job began from.
        job = JobService(self.session).submit(
            scope,
            f"{self.kind.value}.{action.value}",
            self.kind.value,
            row.id,
            Owner.of(row),
            {**parameters, "previous": previous.value},
        )
        self._emit(
            row,
            f"{self.kind.value}.{action.value}.requested",
            previous_state=previous.value,
            scope=scope,
            job_id=job.id,
            **parameters,
        )
        return job

    def _emit(
        self,
        row: R,
        event_type: str,
        *,
        previous_state: str | None,
        scope: Scope | None = None,
        job_id: str | None = None,
        **extra: Any,
    ) -> None:
        """Record a ``<kind>.*`` event about ``row`` (see :attr:`emitter`)."""
        self.emitter(
            self.session,
            row,
            event_type,
            previous_state=previous_state,
            scope=scope,
            job_id=job_id,
            **extra,
        )

    @property
    def emitter(self) -> ResourceEmitter[R]:
        """The kind's event recorder (:func:`~engine.storage.state.emit_volume`...)."""
        raise NotImplementedError


__all__ = ["OwnedResources"]
