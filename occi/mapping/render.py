"""Engine entities as the neutral OCCI structures the renderers consume (:mod:`occi.model`).

Attributes come from the Kind's table (:mod:`occi.mapping.tables`); the
Mixins an entity carries follow from its rows: its OS and resource
templates (``image_id``, ``offering_id``), ``ssh_key`` and ``user_data``
when it has those values, Concord's ``ha`` when its HA flag is set,
``ipnetwork`` / ``ipnetworkinterface`` on every network and interface
(every engine network is an IP network), and its tags. Actions are those
its state allows now (GFD.223 §3.7).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from engine.lifecycle import Kind as EngineKind
from engine.lifecycle import State, allowed_actions
from occi.categories import infrastructure as infra
from occi.mapping import states, tables
from occi.mapping.load import Loaded, location_of
from occi.mapping.templates import HA, tag_type_id
from occi.model import (
    AttributeValue,
    Entity,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    trusted,
)


def implicit_mixins(entity: Loaded) -> list[str]:
    """The type identifiers of the provider Mixins an entity carries (not its tags)."""
    row, table = entity.row, entity.table
    if table is tables.COMPUTE:
        mixins = [*entity.template_ids, *entity.zone_ids]
        if row.ssh_public_key is not None:
            mixins.append(infra.SSH_KEY.type_id)
        if row.user_data is not None:
            mixins.append(infra.USER_DATA.type_id)
        if row.ha_enabled:
            mixins.append(HA.type_id)
        return mixins
    if table is tables.NETWORK:
        return [infra.IPNETWORK.type_id, *entity.zone_ids]
    if table is tables.STORAGE:
        return list(entity.zone_ids)
    if table is tables.NETWORKINTERFACE:
        return [infra.IPNETWORKINTERFACE.type_id]
    return []


def mixins_of(entity: Loaded) -> list[str]:
    """Every Mixin type identifier of an entity: provider Mixins, then tags."""
    return implicit_mixins(entity) + [tag_type_id(tag) for tag in entity.tags]


def attributes_of(entity: Loaded, mixins: Iterable[str] | None = None) -> dict[str, AttributeValue]:
    """The entity's attribute values: the Kind's, and its Mixins' (GFD.221 §3.2.4)."""
    present = set(implicit_mixins(entity) if mixins is None else mixins)
    values: dict[str, AttributeValue] = {}
    for field in entity.table.fields:
        if field.mixin is not None and field.mixin not in present:
            continue
        value = field.value(entity.facts)
        if value is not None:
            values[field.attribute] = value
    return values


def action_ids(entity: Loaded) -> tuple[str, ...]:
    """The Actions applicable to the entity now, as type identifiers."""
    return _action_ids(entity.table.term, str(entity.row.state))


# The lifecycle tables are fixed: a few Kinds times their states, computed
# once rather than for every entity of a listing.
@cache
def _action_ids(term: str, state: str) -> tuple[str, ...]:
    table = tables.TABLES[term]
    kind = table.engine_kind
    if kind not in states.ACTIONS:
        return ()
    allowed = allowed_actions(kind, State(state))
    by_term = {action.term: action.type_id for action in table.kind.actions}
    return tuple(by_term[term] for term in states.applicable_terms(kind, allowed))


def render_link(entity: Loaded) -> LinkRendering:
    """A link, on its own or inline in its compute (GFD.221 §3.4.2)."""
    row = entity.row
    target_table = tables.LINK_TARGETS[entity.table.term]
    target_id = row.network_id if entity.table is tables.NETWORKINTERFACE else row.volume_id
    source_id = row.compute_id
    if entity.endpoints is not None:
        source_id, target_id = entity.endpoints
    mixins = mixins_of(entity)
    # Built from engine rows: the unchecked constructor (occi.model.trusted).
    return trusted(
        LinkRendering,
        target=location_of(target_table, target_id),
        kind=entity.table.kind.type_id,
        mixins=tuple(mixins),
        attributes=attributes_of(entity, mixins),
        location=entity.location,
        target_kind=target_table.kind.type_id,
        source=location_of(tables.COMPUTE, source_id),
        source_kind=tables.COMPUTE.kind.type_id,
    )


def render_resource(entity: Loaded) -> EntityRendering:
    """A resource with its links (GFD.221 §3.4.1)."""
    mixins = mixins_of(entity)
    return trusted(
        EntityRendering,
        kind=entity.table.kind.type_id,
        mixins=tuple(mixins),
        attributes=attributes_of(entity, mixins),
        links=tuple(render_link(link) for link in entity.links),
        actions=action_ids(entity),
        location=entity.location,
    )


def render(entity: Loaded) -> Entity:
    """A resource or a link, by its table."""
    if entity.table.engine_kind in (EngineKind.NETWORK_INTERFACE, EngineKind.STORAGE_ATTACHMENT):
        return render_link(entity)
    return render_resource(entity)


def render_locations_only(entity: Loaded) -> Entity:
    """Just enough to be listed by location (text listings, GFD.229 §3.1.2)."""
    if entity.table in tables.LINK_TABLES:
        return LinkRendering(target="", location=entity.location)
    return EntityRendering(location=entity.location)


def collection(entities: Iterable[Loaded], *, full: bool = True) -> EntityCollection:
    """An entity collection (GFD.226 §3.4): full renderings, or locations only."""
    draw = render if full else render_locations_only
    return EntityCollection.of(draw(entity) for entity in entities)


__all__ = [
    "action_ids",
    "attributes_of",
    "collection",
    "implicit_mixins",
    "mixins_of",
    "render",
    "render_link",
    "render_locations_only",
    "render_resource",
]
