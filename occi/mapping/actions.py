"""Invoking actions on an entity or on every member of a collection (GFD.223 §3.7).

The query's ``action`` is the Action's term; the body's invocation gives its
scheme and parameters (occi.md §10 item 24). Without an invocation in the
body, the term alone is enough when it names exactly one Action of the
target's Kind (a convenience for ``curl -X POST '...?action=start'``).

Refusals: an Action the target's Kind does not define, a term that differs
from the body's, parameters the Action does not define or values it refuses
are 400 (GFD.185: "unavailable action"); an Action the entity's state does
not allow now is the engine's :class:`~engine.errors.InvalidTransition`, 409.
Without a ``method``, an Action means the first engine action of its
defaults (:data:`occi.mapping.states.DEFAULTS`) the state allows, so every
Action an entity renders can be invoked as rendered.

On a collection (a Kind's or a Mixin's) the Action must be one of every
member's Kind (GFD.221 §3.2.5). It is applied to every member on which it can
apply; members already in the state it leads to (or on their way there) are
left alone, so ``start`` on ``/compute/`` with some computes running is 200.
A member in a state from which the Action cannot apply (``start`` of a
compute being deleted, ``stop`` of one in error) makes the request a 409
naming it, checked before anything is queued: all members or none.

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

from engine import lifecycle
from engine.catalog.models import Image
from engine.errors import InvalidInput, InvalidTransition
from engine.lifecycle import Action as EngineAction
from engine.lifecycle import State
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
    collection: bool = False,
) -> Outcome:
    """Invoke an Action on every entity of ``entities`` (see the module docstring).

    :param tables: the Kinds the target may hold, to check the Action against
        when the collection is empty (otherwise the members' Kinds are used).
    :param collection: the target is a collection: members already where the
        Action leads are skipped, and a member it cannot apply to is a 409
        before anything is queued.
    """
    kinds = list(dict.fromkeys(e.table for e in entities))
    if not kinds:
        # An empty collection: the Action must still be one of a Kind it may hold.
        kinds = [k for k in tables if any(a.term == term for a in k.kind.actions)][:1]
        if not kinds:
            raise InvalidInput(f"{term!r} is not an action of what this collection holds")
    action, values = check_invocation(kinds, term, invocation)
    given = values.get("method")
    method = given if isinstance(given, str) else None
    plan: list[tuple[Loaded, EngineAction]] = []
    for entity in entities:
        kind = entity.table.engine_kind
        state = State(entity.row.state)
        allowed = lifecycle.allowed_actions(kind, state)
        engine_action = states.engine_action(kind, term, method, allowed)
        if engine_action is None:
            raise InvalidInput(f"{action.type_id} with method {method!r} is not supported")
        if collection and engine_action not in allowed:
            meant = states.candidates(kind, term, method)
            if any(state in lifecycle.reached_by(kind, a) for a in meant):
                continue  # already where the Action leads: nothing to do
            offered = states.applicable_terms(kind, allowed)
            raise InvalidTransition(
                f"cannot {term} {entity.location}: it is {states.occi_state(kind, state)} "
                f"(its applicable actions: {', '.join(offered) or 'none'}); "
                "nothing was done to the collection",
                kind=str(kind),
                id=entity.id,
                state=str(state),
                action=str(engine_action),
                allowed=sorted(str(a) for a in allowed),
            )
        plan.append((entity, engine_action))
    images: list[str] = []
    for entity, engine_action in plan:
        image_id = _invoke(ctx, entity, engine_action, values)
        if image_id is not None:
            images.append(image_id)
    if term == "save" and images:
        ctx.forget_registry()  # the catalog grew: terms are made over what the caller sees
        found = ctx.catalog_templates.by_entry
        made = [
            found.get(i) or os_template(ctx.engine.catalog.get_entry(ctx.scope, Image, i))
            for i in images
        ]
        return Outcome(templates=CategoryDefinitions(tuple(m.definition() for m in made)))
    return Outcome(tuple(load_one(ctx, e.table, e.id) for e in entities))


__all__ = ["Outcome", "check_invocation", "find_action", "perform"]
