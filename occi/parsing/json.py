"""The ``application/occi+json`` parser (GFD.226; ``application/json`` is an alias).

A body is decoded strictly (UTF-8, no duplicate keys, no NaN or infinities;
its depth, its number of values and the members of each object bounded by
:mod:`occi.parsing.limits`), validated against the schema for what the view
expects (:mod:`occi.schemas`), then turned into the neutral structures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from concord.limits import check_json_shape
from occi.model import (
    ID,
    SUMMARY,
    TITLE,
    ActionInvocation,
    AttributeDefinition,
    CategoryDefinition,
    CategoryDefinitions,
    Entity,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    Locations,
    relative,
)
from occi.parsing.common import (
    ENDPOINT_NAMES,
    Endpoints,
    build,
    checked_definition,
    make_link,
    make_resource,
    merge,
    pop_endpoints,
)
from occi.parsing.errors import ParseError
from occi.parsing.limits import Limits
from occi.parsing.message import Message
from occi.schemas import first_error

_CLASSES = {"kinds": "kind", "mixins": "mixin", "actions": "action"}


def _object_hook(limits: Limits) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """Build each object from its members: a name once, at most ``max_attributes`` members."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(pairs) > limits.max_attributes:
            raise limits.too_many_members()
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise ParseError(f"member {key[:80]!r} appears twice in one object")
            obj[key] = value
        return obj

    return build


def _constant(name: str) -> Any:
    raise ParseError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ParseError(f"number out of range: {text[:40]}")
    return number


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ParseError(f"number too long ({len(text)} digits)") from None


def _path(parts: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _check_shape(data: Any, limits: Limits) -> None:
    """Refuse a document deeper than ``max_depth`` or with more than ``max_elements`` values."""
    check_json_shape(data, limits)


def load(message: Message, schema: str) -> Any:
    """The body's JSON data, valid against ``schema``.

    :raises ParseError: for invalid JSON (with line and column) or a schema
        violation (with the JSON path of the offending member).
    """
    text = message.text()
    limits = message.limits
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object_hook(limits),
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise limits.too_deep() from None
    _check_shape(data, limits)
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("a string contains an unpaired surrogate escape") from None
    error = first_error(schema, data)
    if error is not None:
        message_text = error.message if len(error.message) <= 300 else error.message[:300] + "…"
        raise ParseError(message_text, _path(error.absolute_path))
    return data


def _attributes(
    data: dict[str, Any], members: tuple[tuple[str, str], ...], where: str
) -> dict[str, Any]:
    """``attributes`` with the ``id``/``title``/``summary`` members merged in."""
    attributes = dict(data.get("attributes", {}))
    for member, name in members:
        merge(attributes, name, data.get(member), f"{where}.{member}")
    return attributes


def _is_link(data: dict[str, Any]) -> bool:
    # A link has a source or target, as members (GFD.226) or attributes (GFD.229 names).
    attributes = data.get("attributes", {})
    return "source" in data or "target" in data or any(n in attributes for n in ENDPOINT_NAMES)


def entity_from_json(data: dict[str, Any], base_url: str | None, where: str = "$") -> Entity:
    """A link when it has a source or target, else a resource."""
    if _is_link(data):
        return link_from_json(data, base_url, where)
    return resource_from_json(data, base_url, where)


def resource_from_json(data: dict[str, Any], base_url: str | None, where: str) -> EntityRendering:
    """A resource (GFD.226 §3.1.1) with its inline links.

    :raises ParseError: when the object is a link.
    """
    if _is_link(data):
        raise ParseError("this entity has a source or target: it is a link, not a resource", where)
    return make_resource(
        kind=data.get("kind"),
        mixins=tuple(data.get("mixins", ())),
        attributes=_attributes(data, (("id", ID), ("title", TITLE), ("summary", SUMMARY)), where),
        links=tuple(
            link_from_json(link, base_url, f"{where}.links[{index}]")
            for index, link in enumerate(data.get("links", ()))
        ),
        actions=tuple(data.get("actions", ())),
        location=_location(data, base_url),
        where=where,
    )


def link_from_json(data: dict[str, Any], base_url: str | None, where: str) -> LinkRendering:
    """A link (GFD.226 §3.1.2), inline or on its own."""
    for member in ("links", "summary"):
        if member in data:
            raise ParseError(f"a link has no {member!r} member", where)
    attributes = _attributes(data, (("id", ID), ("title", TITLE)), where)
    endpoints = _member_endpoints(data, base_url)
    pop_endpoints(attributes, endpoints, base_url, f"{where}.attributes")
    return _link(data, attributes, endpoints, base_url, where)


def _member_endpoints(data: dict[str, Any], base_url: str | None) -> Endpoints:
    source, target = data.get("source") or {}, data.get("target") or {}
    return Endpoints(
        target=relative(base_url, target["location"]) if "location" in target else None,
        # The GFD.226 appendix also allows "rel", the target's kind.
        target_kind=target.get("kind") or data.get("rel"),
        source=relative(base_url, source["location"]) if "location" in source else None,
        source_kind=source.get("kind"),
    )


def _link(
    data: dict[str, Any],
    attributes: dict[str, Any],
    endpoints: Endpoints,
    base_url: str | None,
    where: str,
) -> LinkRendering:
    return make_link(
        endpoints=endpoints,
        kind=data.get("kind"),
        mixins=tuple(data.get("mixins", ())),
        attributes=attributes,
        actions=tuple(data.get("actions", ())),
        location=_location(data, base_url),
        where=where,
    )


def _location(data: dict[str, Any], base_url: str | None) -> str | None:
    # Not GFD.226: MartServer adds "location"; Concord reads it when present.
    location = data.get("location")
    return relative(base_url, location) if location else None


def _attribute_definition(name: str, description: dict[str, Any]) -> AttributeDefinition:
    return AttributeDefinition(
        name=name,
        # GFD.226 §4.4 defaults: mutable false, required false, type string.
        type=description.get("type", "string"),
        mutable=description.get("mutable", False),
        required=description.get("required", False),
        default=description.get("default"),
        pattern=description.get("pattern"),
        description=description.get("description"),
    )


def _definition(
    data: dict[str, Any], cls: str, base_url: str | None, where: str
) -> CategoryDefinition:
    location = data.get("location")
    definition = build(
        where,
        lambda: CategoryDefinition(
            term=data["term"],
            scheme=data["scheme"],
            cls=cls,
            title=data.get("title"),
            parent=data.get("parent"),
            depends=tuple(data.get("depends", ())),
            applies=tuple(data.get("applies", ())),
            location=relative(base_url, location) if location else None,
            attributes=tuple(
                _attribute_definition(name, description)
                for name, description in data.get("attributes", {}).items()
            ),
            actions=tuple(data.get("actions", ())),
        ),
    )
    return checked_definition(definition, where)


class JsonParser:
    """``application/occi+json`` and ``application/json`` (GFD.226)."""

    media_types: tuple[str, ...] = ("application/occi+json", "application/json")

    def entity(self, message: Message) -> Entity:
        """One resource or link (GFD.226 §3.1)."""
        return entity_from_json(load(message, "entity"), message.base_url)

    def entities(self, message: Message) -> EntityCollection:
        """One entity, or ``{"resources": [...], "links": [...]}`` (GFD.226 §3.4)."""
        data = load(message, "entities")
        base_url = message.base_url
        # A resource's inline links are a "links" member too; a collection has no kind.
        if "kind" in data or ("resources" not in data and "links" not in data):
            return EntityCollection.of((entity_from_json(data, base_url),))
        resources = tuple(
            resource_from_json(item, base_url, f"$.resources[{index}]")
            for index, item in enumerate(data.get("resources", ()))
        )
        links = tuple(
            link_from_json(item, base_url, f"$.links[{index}]")
            for index, item in enumerate(data.get("links", ()))
        )
        return EntityCollection(resources=resources, links=links)

    def action(self, message: Message) -> ActionInvocation:
        """``{"action": "<type id>", "attributes": {...}}`` (GFD.226 §3.2)."""
        data = load(message, "action-invocation")
        return build("$", lambda: ActionInvocation(data["action"], data.get("attributes", {})))

    def locations(self, message: Message) -> Locations:
        """A JSON array of URLs (rOCCI's form; GFD.226 has none)."""
        return Locations(
            tuple(relative(message.base_url, uri) for uri in load(message, "locations"))
        )

    def categories(self, message: Message) -> CategoryDefinitions:
        """``{"kinds": [...], "mixins": [...], "actions": [...]}`` (GFD.226 §4.5)."""
        data = load(message, "category-collection")
        return CategoryDefinitions(
            tuple(
                _definition(item, cls, message.base_url, f"$.{key}[{index}]")
                for key, cls in _CLASSES.items()
                for index, item in enumerate(data.get(key, ()))
            )
        )
