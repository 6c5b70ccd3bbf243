"""Creating entities: a checked OCCI rendering becomes one engine creation call.

GFD.223 §3.7 and GFD.221 "instantiation": the Kind is given, Mixins must
apply, required attributes are present. Then, per Kind, the table's
``create`` keywords become the engine call's arguments:

* compute: ``ComputeService.create``; an OS template is the image, a resource
  template the offering, whose size wins over cores and memory given beside
  it (GFD.224 §3.5.2: the template "overrides"). Without a template and
  without a size, the smallest offering the caller sees is the provider's
  default configuration (GFD.224 §3.5.2). Inline links (GFD.223 §3.7: "MUST
  be created") are checked first, the compute is placed where their volumes
  are reached, and they become prepared attachments and interfaces,
  completed by the compute's creation job. A compute with no networkinterface
  link joins its owner's default network of the zone, if there is one
  (:mod:`engine.network.defaults`). Computes are created running: GFD.224's
  "initial -> inactive" is the instant before the provider starts them.
* storage: ``StorageService.create_volume`` (sizes rounded up to whole GiB).
* network: ``NetworkService.create_network``, up once created.
* storagelink / networkinterface: ``attach`` / ``attach_interface`` between
  the compute at ``occi.core.source`` and the target.

Attributes the engine takes no keyword for (an architecture, a share) are
checked against the created entity instead: a value Concord cannot honour
is refused (400) rather than silently dropped. An ``occi.core.id`` chooses
the new entity's id (:func:`check_chosen_id`); states in a creation request
are ignored; an inline link chooses its own id the same way (its ``self`` or its
``occi.core.id``). Tags among the Mixins are put on the new entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.catalog.models import ComputeOffering
from engine.errors import InvalidInput
from occi.categories import infrastructure as infra
from occi.mapping import placement, units, validate
from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.errors import occi_names
from occi.mapping.group_mixins import is_group_mixin
from occi.mapping.load import Loaded, load_one, location_of, parse_location
from occi.mapping.templates import HA
from occi.mapping.validate import Checked, same_value
from occi.mapping.zones import chosen_zone
from occi.model import ID, Entity, EntityRendering, LinkRendering

#: The Mixins every entity of a Kind carries without asking (see occi.mapping.render).
IMPLICIT = {
    t.NETWORK.term: (infra.IPNETWORK.type_id,),
    t.NETWORKINTERFACE.term: (infra.IPNETWORKINTERFACE.type_id,),
}


def check_rendering(ctx: OcciContext, table: t.KindTable, rendering: Entity) -> Checked:
    """Check a creation request for ``table``'s Kind (see :mod:`occi.mapping.validate`)."""
    if table in t.LINK_TABLES and not isinstance(rendering, LinkRendering):
        raise InvalidInput(
            f"a {table.term} is a link: give occi.core.source and occi.core.target",
            category=table.kind.type_id,
        )
    if table not in t.LINK_TABLES and not isinstance(rendering, EntityRendering):
        raise InvalidInput(
            f"a {table.term} is a resource: it has no occi.core.source or occi.core.target",
            category=table.kind.type_id,
        )
    checked = validate.check(
        ctx.registry_for(rendering.mixins),
        table,
        kind=rendering.kind,
        mixins=rendering.mixins,
        attributes=rendering.attributes,
        kind_required=True,
        extra_mixins=IMPLICIT.get(table.term, ()),
    )
    validate.check_required(checked)
    return checked


def check_chosen_id(table: t.KindTable, checked: Checked, chosen_id: str | None) -> str | None:
    """The id a creation request chooses, if any.

    A PUT at a new path chooses the path's id, and an ``occi.core.id`` beside
    it must name the same (GFD.221 §3.4). A POST chooses the id its
    ``occi.core.id`` names (``urn:uuid:<id>``, ``urn:concord:<kind>:<id>`` or a
    bare id, as IM's OCCI connector sends), so that an inline link in the same
    request can name the new compute as its source; the engine checks it
    (:mod:`engine.resources.ids`: valid, and free in the caller's account).
    """
    given = checked.values.get(ID)
    if given is None:
        return chosen_id
    if chosen_id is None:
        if not isinstance(given, str):
            raise InvalidInput("occi.core.id is a string", attribute=ID)
        return units.id_of_urn(table.term, given)
    if given not in (chosen_id, units.urn(table.term, chosen_id)):
        raise InvalidInput(
            f"occi.core.id {given!r} does not match the path's id {chosen_id!r}", attribute=ID
        )
    return chosen_id


def arguments(checked: Checked) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(engine keyword arguments, values to check afterwards)`` of a checked request."""
    kwargs: dict[str, Any] = {}
    later: dict[str, Any] = {}
    for name, value in checked.values.items():
        field = checked.table.field(name)
        if field is None or field.change is t.Change.SERVER:
            continue  # ids and states belong to the server (GFD.221 §3.2.2)
        if field.create is not None:
            kwargs[field.create] = field.to_engine(value)
        else:
            later[name] = value
    return kwargs, later


def _compute_size(
    ctx: OcciContext, checked: Checked, kwargs: dict[str, Any], later: dict[str, Any]
) -> None:
    for mixin in checked.templates(infra.OS_TPL):
        entry = ctx.catalog_templates.entry(mixin.type_id)
        if entry is not None:
            kwargs["image_id"] = entry[1]
    chosen = checked.templates(infra.RESOURCE_TPL)
    entry = ctx.catalog_templates.entry(chosen[0].type_id) if chosen else None
    if entry is not None:
        # GFD.224 §3.5.2: the template's size overrides the resource's.
        kwargs["offering_id"] = entry[1]
        for keyword in ("vcpus", "memory_mib"):
            kwargs.pop(keyword, None)
        later.pop("occi.compute.share", None)
        return
    if "vcpus" in kwargs and "memory_mib" in kwargs:
        return
    offerings = ctx.engine.catalog.list_entries(ctx.scope, ComputeOffering)
    if not offerings:
        return  # the engine explains what is missing
    default = min(offerings, key=lambda o: (o.vcpus, o.memory_mib, o.name))
    if "vcpus" not in kwargs and "memory_mib" not in kwargs:
        kwargs["offering_id"] = default.id
    else:
        kwargs.setdefault("vcpus", default.vcpus)
        kwargs.setdefault("memory_mib", default.memory_mib)


def _endpoint(
    reference: str | None, expected: t.KindTable, what: str, kind: str | None = None
) -> str:
    if reference is None:
        raise InvalidInput(f"a link needs {what}", attribute=what)
    parsed = parse_location(reference)
    if parsed is None or parsed[0] is not expected:
        raise InvalidInput(
            f"{what} must be the location of a {expected.term} here, not {reference[:200]!r}",
            attribute=what,
        )
    # A rendering that knows no better says core#resource (GFD.229 requires a rel).
    if kind is not None and not expected.kind.is_a(kind):
        raise InvalidInput(f"the kind of {what} is {expected.kind.type_id}, not {kind}")
    return parsed[1]


def _check_after(table: t.KindTable, facts: t.Facts, later: dict[str, Any]) -> None:
    for name, wanted in later.items():
        field = table.field(name)
        if field is None:
            continue
        actual = field.value(facts)
        if not same_value(actual, wanted):
            raise InvalidInput(
                f"{name} cannot be chosen here: the new {table.term} would have "
                f"{actual!r}, not {wanted!r}",
                attribute=name,
            )


def _tag(ctx: OcciContext, checked: Checked, resource_id: str) -> bool:
    """Assign the user mixins of *checked* as tags; whether there was any."""
    tagged = False
    for mixin in checked.mixins:
        tag = ctx.tag(mixin.type_id)
        # A group's Mixin in Concord's scheme is no saved tag: joining the
        # group is its membership (occi.mapping.group_mixins).
        if tag is not None and not is_group_mixin(tag):
            ctx.tags.assign(ctx.scope, tag, checked.table.engine_kind.value, resource_id)
            tagged = True
    return tagged


def create(
    ctx: OcciContext, table: t.KindTable, rendering: Entity, chosen_id: str | None = None
) -> Loaded:
    """Create an entity of ``table``'s Kind; return it loaded.

    :param chosen_id: the id from a PUT at a new path (GFD.223 §3.7).
    :raises InvalidInput: the rendering is not a valid creation request.
    """
    checked = check_rendering(ctx, table, rendering)
    chosen_id = check_chosen_id(table, checked, chosen_id)
    kwargs, later = arguments(checked)
    zone_id = chosen_zone(ctx.zones, checked.mixin_ids())
    if zone_id is not None:
        kwargs["zone_id"] = zone_id
    engine, scope = ctx.engine, ctx.scope
    row: Any
    linked = False  # whether the new resource got links in this request
    with occi_names(table):
        if table is t.COMPUTE and isinstance(rendering, EntityRendering):
            kwargs.setdefault("name", table.term)
            _compute_size(ctx, checked, kwargs, later)
            if HA.type_id in checked.mixin_ids():
                kwargs["ha_enabled"] = True  # else the offering's setting
            links = _resolve_inline_links(ctx, rendering.links)
            volumes = [link.target for link in links if link.table is t.STORAGELINK]
            kwargs.update(placement.creation_arguments(ctx, checked))
            row, _job = engine.compute.create(
                scope, compute_id=chosen_id, start=True, volumes=volumes, **kwargs
            )
            _inline_links(ctx, row, links)
            linked = bool(links)
            if not any(link.table is t.NETWORKINTERFACE for link in links):
                linked = engine.interfaces.join_default_network(scope, row) is not None or linked
            facts = t.Facts(row)
        elif table is t.STORAGE:
            kwargs.setdefault("name", table.term)
            row, _job = engine.storage.create_volume(scope, volume_id=chosen_id, **kwargs)
            facts = t.Facts(row)
        elif table is t.NETWORK:
            kwargs.setdefault("name", table.term)
            row, _job = engine.network.create_network(
                scope, network_id=chosen_id, start=True, **kwargs
            )
            facts = t.Facts(row)
        elif isinstance(rendering, LinkRendering):
            row, facts = _create_link(ctx, table, rendering, kwargs, chosen_id)
        else:  # check_rendering made sure resources and links are what their Kind says
            raise InvalidInput(f"not a {table.term} rendering")
    _check_after(table, facts, later)
    tagged = _tag(ctx, checked, row.id)
    if table in (t.COMPUTE, t.STORAGE, t.NETWORK) and not linked and not tagged:
        # Created in this transaction, which no other can see yet: it has no
        # links and no tags but those this request gave it, and it got none,
        # so reading them back would find nothing (three statements saved).
        return Loaded(table, facts, [], [])
    return load_one(ctx, table, row.id)


def _create_link(
    ctx: OcciContext,
    table: t.KindTable,
    rendering: LinkRendering,
    kwargs: dict[str, Any],
    chosen_id: str | None,
) -> tuple[Any, t.Facts]:
    engine, scope = ctx.engine, ctx.scope
    row: Any
    compute_id = _endpoint(rendering.source, t.COMPUTE, "occi.core.source", rendering.source_kind)
    target = t.LINK_TARGETS[table.term]
    target_id = _endpoint(rendering.target, target, "occi.core.target", rendering.target_kind)
    if table is t.STORAGELINK:
        row, _job = engine.attachments.attach(
            scope, compute_id=compute_id, volume_id=target_id, attachment_id=chosen_id, **kwargs
        )
        return row, t.Facts(row)
    row, _job = engine.interfaces.attach_interface(
        scope, compute_id=compute_id, network_id=target_id, nic_id=chosen_id, **kwargs
    )
    return row, t.Facts(row, gateway=engine.network.get(scope, target_id).gateway)


@dataclass(frozen=True)
class _InlineLink:
    """An inline link of a new compute, checked, with its target found."""

    index: int
    rendering: LinkRendering
    table: t.KindTable
    checked: Checked
    target: Any  # the engine's Volume or Network


def _resolve_inline_links(ctx: OcciContext, links: Sequence[LinkRendering]) -> list[_InlineLink]:
    """Check a new compute's inline links and find their targets, before it exists.

    The compute is then placed where its volumes are reached.
    """
    engine, scope = ctx.engine, ctx.scope
    resolved = []
    for index, link in enumerate(links):
        table = _link_table(link, index)
        target_table = t.LINK_TARGETS[table.term]
        target_id = _endpoint(link.target, target_table, "occi.core.target", link.target_kind)
        checked = validate.check(
            ctx.registry_for(link.mixins),
            table,
            kind=link.kind,
            mixins=link.mixins,
            attributes=link.attributes,
            kind_required=False,
            extra_mixins=IMPLICIT.get(table.term, ()),
        )
        with occi_names(table):
            service: Any = engine.storage if table is t.STORAGELINK else engine.network
            target = service.get(scope, target_id)
        resolved.append(_InlineLink(index, link, table, checked, target))
    return resolved


def _inline_links(ctx: OcciContext, compute: Any, links: Sequence[_InlineLink]) -> None:
    """Create a new compute's inline links (GFD.223 §3.7), completed by its creation job."""
    engine, scope = ctx.engine, ctx.scope
    for link in links:
        source = link.rendering.source
        if source is not None and source not in {
            location_of(t.COMPUTE, compute.id),
            location_of(t.COMPUTE, compute.public_id),
        }:
            raise InvalidInput(
                f"link {link.index + 1}: the source of an inline link is the new compute"
            )
        kwargs, later = arguments(link.checked)
        chosen = _inline_link_id(link)
        row: Any
        with occi_names(link.table):
            if link.table is t.STORAGELINK:
                row = engine.attachments.prepare_attachment(
                    scope, compute, link.target, attachment_id=chosen, **kwargs
                )
                facts = t.Facts(row)
            else:
                row = engine.interfaces.prepare_interface(
                    scope, compute, link.target, nic_id=chosen, **kwargs
                )
                facts = t.Facts(row, gateway=link.target.gateway)
        _check_after(link.table, facts, later)
        _tag(ctx, link.checked, row.id)


def _inline_link_id(link: _InlineLink) -> str | None:
    """The id an inline link chooses: its ``self`` location (GFD.229 §5.5.2) or its
    ``occi.core.id``, which must agree; None when it gives neither.

    A client names its links as it names the compute (IM's OCCI connector sends
    both, ``im-<uuid>``), and keeps them to delete them later: the id is honoured
    as a compute's is (free in the caller's account, :mod:`engine.resources.ids`).
    """
    location = link.rendering.location
    from_location = None
    if location is not None:
        parsed = parse_location(urlsplit(location).path)
        if parsed is None or parsed[0] is not link.table:
            raise InvalidInput(
                f"link {link.index + 1}: self must be a {link.table.term} location here "
                f"(/{link.table.term}/<id>), not {location[:200]!r}"
            )
        from_location = parsed[1]
    return check_chosen_id(link.table, link.checked, from_location)


def _link_table(link: LinkRendering, index: int) -> t.KindTable:
    if link.kind is not None:
        table = t.BY_TYPE_ID.get(link.kind)
        if table is None or table not in t.LINK_TABLES:
            raise InvalidInput(f"link {index + 1}: {link.kind} is not a link Kind here")
        return table
    parsed = parse_location(link.target)
    for term, target in t.LINK_TARGETS.items():
        if parsed is not None and parsed[0] is target:
            return t.TABLES[term]
    raise InvalidInput(
        f"link {index + 1}: give its Kind (storagelink or networkinterface), or a target "
        "that is a storage or a network here"
    )


__all__ = ["IMPLICIT", "arguments", "check_chosen_id", "check_rendering", "create"]
