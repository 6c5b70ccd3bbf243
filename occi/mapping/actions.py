"""Invoking actions on an entity or on every member of a collection (GFD.223 §3.7).

The query's ``action`` is the Action's term; the body's invocation gives its
scheme and parameters (occi.md §10 item 24). Without an invocation in the
body, the term alone is enough when it names exactly one Action of the
target's Kind (a convenience for ``curl -X POST '...?action=start'``).

Refusals: an Action the target's Kind does not define, a term that differs
from the body's, parameters the Action does not define or values it refuses
are 400 (GFD.185: "unavailable action"); an Action the entity's state does
not allow now is the engine's :class:`~engine.errors.InvalidTransition`, 409.
On a collection the Action must be one of every member's Kind (GFD.221
§3.2.5), and it is applied to all members or to none: one refusal rolls the
whole request back.

``save`` (GFD.224 §3.1) is the engine's capture, which needs a stopped
compute; its answer is the new OS template ("MUST lead to a response
containing the rendering of the newly created OS Template").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.catalog.models import Image
from engine.errors import InvalidInput
from engine.lifecycle import Action as EngineAction
from occi.categories.types import Action
from occi.mapping import states
from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.load import Loaded, load_one
from occi.mapping.templates import os_template
from occi.model import ActionInvocation, AttributeValue, CategoryDefinitions, split_type_id

_IMAGE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._@+-]")


@dataclass(frozen=True)
class Outcome:
    """What an invocation did: the entities after it, or the templates ``save`` made."""

    entities: tuple[Loaded, ...] = ()
    templates: CategoryDefinitions | None = None


def find_action(table: t.KindTable, term: str, type_id: str | None) -> Action:
    """The Action ``term`` (of type ``type_id`` when given) of ``table``'s Kind.

    :raises InvalidInput: the Kind defines no such Action.
    """
    for action in table.kind.actions:
        if action.term == term and (type_id is None or action.type_id == type_id):
            return action
    named = type_id or term
    if not table.kind.actions:
        raise InvalidInput(f"a {table.term} has no actions (GFD.224 defines none); not {named}")
    offered = ", ".join(a.type_id for a in table.kind.actions)
    raise InvalidInput(f"{named} is not an action of a {table.term} (its actions: {offered})")


def check_invocation(
    tables: Sequence[t.KindTable], term: str, invocation: ActionInvocation | None
) -> tuple[Action, dict[str, AttributeValue]]:
    """The Action invoked on entities of ``tables``, and its coerced parameters."""
    type_id = None
    attributes: dict[str, AttributeValue] = {}
    if invocation is not None:
        type_id = invocation.action
        if split_type_id(type_id)[1] != term:
            raise InvalidInput(
                f"the query names the action {term!r} but the body invokes {type_id} "
                "(GFD.223 §3.7: the action key is the Action's term)"
            )
        attributes = dict(invocation.attributes)
    actions = {find_action(table, term, type_id) for table in tables}
    if len(actions) > 1:
        raise InvalidInput(f"{term!r} names different Actions for the collection's members")
    action = actions.pop()
    known = {attribute.name: attribute for attribute in action.attributes}
    values: dict[str, AttributeValue] = {}
    for name, value in attributes.items():
        definition = known.get(name)
        if definition is None:
            raise InvalidInput(f"{action.type_id} has no parameter {name!r}", attribute=name)
        try:
            values[name] = definition.coerce(value)
        except ValueError as exc:
            raise InvalidInput(str(exc), attribute=name) from None
    return action, values


def _image_name(compute: Any, wanted: AttributeValue | None) -> str:
    if isinstance(wanted, str) and wanted:
        return wanted
    base = _IMAGE_NAME_CHARS.sub("-", compute.name).strip("-._@+")[:40] or "compute"
    return f"{base}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"


def _invoke(
    ctx: OcciContext, entity: Loaded, action: EngineAction, values: dict[str, AttributeValue]
) -> str | None:
    """Queue the engine action; return the id of the image a capture makes."""
    engine, scope, table = ctx.engine, ctx.scope, entity.table
    if table is t.COMPUTE:
        params: dict[str, Any] = {}
        if action is EngineAction.CAPTURE:
            params["image_name"] = _image_name(entity.row, values.get("name"))
        job = engine.compute.perform(scope, entity.id, action, **params)
        image_id = job.parameters.get("image_id") if action is EngineAction.CAPTURE else None
        return str(image_id) if image_id else None
    if table is t.STORAGE:
        engine.storage.perform(scope, entity.id, action)
    else:
        engine.network.perform(scope, entity.id, action)
    return None


def perform(
    ctx: OcciContext,
    entities: Sequence[Loaded],
    term: str,
    invocation: ActionInvocation | None,
    *,
    tables: Sequence[t.KindTable] = (),
) -> Outcome:
    """Invoke an Action on every entity of ``entities`` (see the module docstring).

    :param tables: the Kinds the target may hold, to check the Action against
        when the collection is empty (otherwise the members' Kinds are used).
    """
    kinds = list(dict.fromkeys(e.table for e in entities))
    if not kinds:
        # An empty collection: the Action must still be one of a Kind it may hold.
        kinds = [k for k in tables if any(a.term == term for a in k.kind.actions)][:1]
        if not kinds:
            raise InvalidInput(f"{term!r} is not an action of what this collection holds")
    action, values = check_invocation(kinds, term, invocation)
    method = values.get("method")
    images: list[str] = []
    for entity in entities:
        engine_action = states.engine_action(
            entity.table.engine_kind, term, method if isinstance(method, str) else None
        )
        if engine_action is None:
            raise InvalidInput(f"{action.type_id} with method {method!r} is not supported")
        image_id = _invoke(ctx, entity, engine_action, values)
        if image_id is not None:
            images.append(image_id)
    if term == "save" and images:
        made = [os_template(ctx.engine.catalog.get_entry(ctx.scope, Image, i)) for i in images]
        return Outcome(templates=CategoryDefinitions(tuple(m.definition() for m in made)))
    return Outcome(tuple(load_one(ctx, e.table, e.id) for e in entities))


__all__ = ["Outcome", "check_invocation", "find_action", "perform"]
