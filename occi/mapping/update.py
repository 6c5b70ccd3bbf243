"""Updating entities: partial (POST) and full (PUT) updates, and Mixin association.

GFD.223 §3.7: POST on an entity is a partial update, PUT with an existing
entity a full one; "Any OCCI Links associated with an existing OCCI
Resource MUST be left intact", so links in a PUT are ignored. Attribute by
attribute (the ``change`` of the Kind's table, :mod:`occi.mapping.tables`):

==============================  =============================================================
what the request does           answer
==============================  =============================================================
gives the current value         nothing to do (also for immutable attributes: a client that
                                sends back what it read is not changing anything)
changes an immutable one        400 naming it, nothing changes: states, their messages and
                                ``occi.core.id`` included (GFD.185 said 403 for "attempt to
                                modify an immutable attribute"; a refusal of the value the
                                client sent is a 400 like every other, and a silent 200 would
                                let the client believe it happened)
changes an ``update`` field     the service's ``update``
changes a ``resize`` field      the service's ``resize``; the engine resizes a compute only
                                when it is stopped (409 otherwise) and grows volumes only (400)
changes a ``fixed`` field       409: Concord cannot change it once the entity exists
==============================  =============================================================

A full update also clears the optional values it leaves out (summary,
hostname, label: "missing information is deleted if allowed", GFD.185) and
makes the request's tags the entity's tags; provider Mixins it leaves out
(templates, ``ssh_key``...) stay, since they cannot be taken off.

Mixins: a new resource template resizes the compute to it (GFD.224 §3.5.2:
"MUST replace the old template"); a new OS template is refused (409: Concord
cannot rebuild a guest, which GFD.224 §3.5.1 allows); ``ssh_key`` and
``user_data`` are given at creation only (GFD.224 §3.5.4: user data "cannot
be updated"); tags are added (partial) or replaced (full).
"""

from __future__ import annotations

from typing import Any

from engine.errors import Conflict, InvalidInput
from occi.categories import infrastructure as infra
from occi.categories.types import Mixin
from occi.mapping import placement, validate
from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.create import IMPLICIT
from occi.mapping.errors import occi_names
from occi.mapping.group_mixins import is_group_mixin
from occi.mapping.load import Loaded, load_one
from occi.mapping.render import attributes_of, implicit_mixins, render_link
from occi.mapping.templates import HA
from occi.mapping.validate import Checked, same_value
from occi.mapping.zones import chosen_zone
from occi.model import Entity, EntityRendering, LinkRendering


def _check_shape(entity: Loaded, rendering: Entity) -> None:
    table = entity.table
    if table in t.LINK_TABLES and isinstance(rendering, EntityRendering) and rendering.links:
        raise InvalidInput("a link rendering cannot contain links (GFD.185)")
    if table not in t.LINK_TABLES and isinstance(rendering, LinkRendering):
        raise InvalidInput(
            f"a {table.term} is a resource: it has no occi.core.source or occi.core.target"
        )
    if isinstance(rendering, LinkRendering):
        now = render_link(entity)
        for name, given, current in (
            ("occi.core.source", rendering.source, now.source),
            ("occi.core.target", rendering.target, now.target),
        ):
            if given is not None and given != current:
                raise Conflict(
                    f"{name} cannot be changed once the {table.term} exists", attribute=name
                )


def _attribute_changes(
    entity: Loaded, checked: Checked, full: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(update keywords, resize keywords)`` of a request's attributes."""
    table = entity.table
    current = attributes_of(entity)
    update: dict[str, Any] = {}
    resize: dict[str, Any] = {}
    for name, value in checked.values.items():
        field = table.field(name)
        if field is None:
            raise Conflict(f"{name} cannot be set on this {table.term}", attribute=name)
        if same_value(current.get(name), value):
            continue
        if field.change is t.Change.SERVER or not checked.definitions[name].mutable:
            # Refused, not dropped: a client whose change vanished with a 200 believes
            # it happened (issue 17). 400, as for any other value the server refuses.
            raise InvalidInput(
                f"{name} is immutable (GFD.221 §3.2.2): it is {current.get(name)!r}; "
                "send the current value or leave it out",
                attribute=name,
            )
        if field.change is t.Change.FIXED:
            raise Conflict(f"{name} cannot be changed once the {table.term} exists", attribute=name)
        keyword = field.create or name
        target = update if field.change is t.Change.UPDATE else resize
        target[keyword] = field.to_engine(value)
    if full:
        for field in table.fields:
            given = field.attribute in checked.values
            if field.clearable and not given and current.get(field.attribute) is not None:
                update[field.create or field.attribute] = None
    return update, resize


def _template_changes(
    ctx: OcciContext, entity: Loaded, checked: Checked, resize: dict[str, Any]
) -> None:
    current = set(implicit_mixins(entity))
    for mixin in checked.templates(infra.OS_TPL):
        if mixin.type_id not in current:
            raise Conflict(
                "the OS template of a compute is chosen at creation; Concord cannot rebuild "
                "a guest from another one (GFD.224 §3.5.1)",
                category=mixin.type_id,
            )
    for mixin in checked.templates(infra.RESOURCE_TPL):
        entry = ctx.catalog_templates.entry(mixin.type_id)
        if mixin.type_id not in current and entry is not None:
            # GFD.224 §3.5.2: the new template replaces the old one and its size wins.
            resize["offering_id"] = entry[1]
            resize.pop("vcpus", None)
            resize.pop("memory_mib", None)
    for mixin in (infra.SSH_KEY, infra.USER_DATA, HA):
        if mixin.type_id in checked.mixin_ids() and mixin.type_id not in current:
            raise Conflict(
                f"{mixin.type_id} is given when the compute is created, not later",
                category=mixin.type_id,
            )


def _tag_changes(ctx: OcciContext, entity: Loaded, checked: Checked, full: bool) -> None:
    kind = entity.table.engine_kind.value
    wanted = {m.type_id for m in checked.mixins if ctx.tag(m.type_id) is not None}
    carried = {tag.namespace + tag.name for tag in entity.tags}
    for mixin in checked.mixins:
        tag = ctx.tag(mixin.type_id)
        if tag is not None:
            if mixin.type_id not in carried:
                placement.refuse_membership_change(tag, mixin.type_id)
            if not is_group_mixin(tag):  # a group's Mixin of Concord's scheme: no saved tag
                ctx.tags.assign(ctx.scope, tag, kind, entity.id)
    if full:
        for tag in entity.tags:
            if tag.namespace + tag.name not in wanted:
                placement.refuse_membership_change(tag, tag.namespace + tag.name)
                ctx.tags.unassign(ctx.scope, tag, entity.id)


def update(ctx: OcciContext, entity: Loaded, rendering: Entity, *, full: bool) -> Loaded:
    """Apply a partial (``full`` False) or full update; return the entity reloaded."""
    table = entity.table
    _check_shape(entity, rendering)
    checked = validate.check(
        ctx.registry,
        table,
        kind=rendering.kind,
        mixins=rendering.mixins,
        attributes=rendering.attributes,
        kind_required=full,
        extra_mixins=(*implicit_mixins(entity), *IMPLICIT.get(table.term, ())),
    )
    moved = chosen_zone(ctx.zones, checked.mixin_ids() - set(entity.zone_ids))
    if moved is not None:
        raise Conflict(
            f"the availability zone of a {table.term} is chosen when it is created; "
            "Concord does not move resources between zones",
            category=ctx.zones[moved].type_id,
        )
    update_kw, resize_kw = _attribute_changes(entity, checked, full)
    if table is t.COMPUTE:
        _template_changes(ctx, entity, checked, resize_kw)
    engine, scope = ctx.engine, ctx.scope
    with occi_names(table):
        if update_kw:
            if table is t.COMPUTE:
                engine.compute.update(scope, entity.id, **update_kw)
            elif table is t.STORAGE:
                engine.storage.update(scope, entity.id, **update_kw)
            elif table is t.NETWORK:
                engine.network.update(scope, entity.id, **update_kw)
            else:
                raise Conflict(f"a {table.term} cannot be changed once it exists")
        if resize_kw and table is t.COMPUTE:
            engine.compute.resize(scope, entity.id, **resize_kw)
        elif resize_kw and table is t.STORAGE:
            engine.storage.resize(scope, entity.id, resize_kw["size_gib"])
    _tag_changes(ctx, entity, checked, full)
    return load_one(ctx, table, entity.id)


def associate(ctx: OcciContext, mixin: Mixin, entity: Loaded) -> None:
    """Associate a Mixin with an entity, as a partial update naming it (GFD.223 §3.7)."""
    update(ctx, entity, EntityRendering(mixins=(mixin.type_id,)), full=False)


__all__ = ["associate", "update"]
