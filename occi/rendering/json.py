"""The ``application/occi+json`` rendering (GFD.226), dispatched on the neutral structure.

:func:`render_json` returns plain JSON data (dicts and lists) that validates
against ``schemas/occi`` (the tests check every rendering); :func:`dumps`
serialises it.

* Entities (GFD.226 §3.1): ``id``, ``title`` and ``summary`` are members, and
  they are *also* kept in ``attributes`` as ``occi.core.*``: ooi dropped them
  from ``attributes`` and clients reading the flat attribute map broke
  (occi.md §8.2).
* Entity references (link ``source``/``target`` locations, JSON locations) are
  absolute URLs, as in the text renderings (occi.md §10 item 5).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import singledispatch
from typing import Any

from concord import compact_json
from occi.categories.types import Category, as_definition
from occi.model import (
    ID,
    SUMMARY,
    TITLE,
    ActionInvocation,
    AttributeDefinition,
    CategoryDefinition,
    CategoryDefinitions,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    Locations,
    absolute,
)

JSONData = dict[str, Any] | list[Any]

_COLLECTION_KEYS = {"kind": "kinds", "mixin": "mixins", "action": "actions"}


def dumps(data: object) -> str:
    """Serialise JSON data as compact text (no ASCII escaping; :mod:`concord.compact_json`)."""
    return compact_json.dumps(data).decode("utf-8")


def attribute_description(attribute: AttributeDefinition) -> dict[str, Any]:
    """An attribute description object (GFD.226 §4.4)."""
    description: dict[str, Any] = {"mutable": attribute.mutable, "required": attribute.required}
    if attribute.type is not None:
        description["type"] = attribute.type
    if attribute.pattern is not None:
        pattern = attribute.pattern
        description["pattern"] = pattern if isinstance(pattern, str) else dict(pattern)
    if attribute.default is not None:
        description["default"] = attribute.default
    if attribute.description is not None:
        description["description"] = attribute.description
    return description


def category_object(category: Category | CategoryDefinition) -> dict[str, Any]:
    """A Kind, Mixin or Action as a JSON object (GFD.226 §4.1–4.3)."""
    definition = as_definition(category)
    obj: dict[str, Any] = {"term": definition.term, "scheme": definition.scheme}
    if definition.title is not None:
        obj["title"] = definition.title
    if definition.attributes:
        obj["attributes"] = {a.name: attribute_description(a) for a in definition.attributes}
    if definition.parent is not None:
        obj["parent"] = definition.parent
    if definition.cls == "mixin":
        # GFD.226 §4.2: depends and applies are arrays, rendered even when empty.
        obj["depends"] = list(definition.depends)
        obj["applies"] = list(definition.applies)
    if definition.location is not None:
        obj["location"] = definition.location
    if definition.actions:
        obj["actions"] = list(definition.actions)
    return obj


def category_collection(categories: Iterable[Category | CategoryDefinition]) -> dict[str, Any]:
    """The query interface's ``{"kinds": [...], "mixins": [...], "actions": [...]}`` (§4.5)."""
    collection: dict[str, list[dict[str, Any]]] = {"kinds": [], "mixins": [], "actions": []}
    for category in categories:
        definition = as_definition(category)
        collection[_COLLECTION_KEYS[definition.cls]].append(category_object(definition))
    return {key: value for key, value in collection.items() if value}


def _endpoint(location: str, kind: str | None, base_url: str | None) -> dict[str, Any]:
    # GFD.226 §3.1.2: {"location": ..., "kind": ...}, kind only when known.
    endpoint: dict[str, Any] = {"location": absolute(base_url, location)}
    if kind is not None:
        endpoint["kind"] = kind
    return endpoint


def _entity_common(entity: EntityRendering | LinkRendering) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if entity.kind is not None:
        obj["kind"] = entity.kind
    if entity.mixins:
        obj["mixins"] = list(entity.mixins)
    if entity.attributes:
        obj["attributes"] = dict(entity.attributes)
    if entity.actions:
        obj["actions"] = list(entity.actions)
    identifier, title = entity.attributes.get(ID), entity.attributes.get(TITLE)
    if isinstance(identifier, str) and identifier:  # GFD.226: id is a non-empty String
        obj["id"] = identifier
    if isinstance(title, str):
        obj["title"] = title
    return obj


@singledispatch
def render_json(document: object, base_url: str | None = None) -> JSONData:
    """The GFD.226 JSON data of a neutral OCCI structure.

    :param base_url: makes entity references absolute (``http://host/prefix``).
    :raises TypeError: for an object that has no JSON rendering.
    """
    raise TypeError(f"no JSON rendering for {type(document).__name__}")


@render_json.register
def _(entity: EntityRendering, base_url: str | None = None) -> JSONData:
    obj = _entity_common(entity)
    summary = entity.attributes.get(SUMMARY)
    if isinstance(summary, str):
        obj["summary"] = summary
    if entity.links:
        obj["links"] = [render_json(link, base_url) for link in entity.links]
    return obj


@render_json.register
def _(link: LinkRendering, base_url: str | None = None) -> JSONData:
    obj = _entity_common(link)
    if link.source is not None:
        obj["source"] = _endpoint(link.source, link.source_kind, base_url)
    obj["target"] = _endpoint(link.target, link.target_kind, base_url)
    return obj


@render_json.register
def _(collection: EntityCollection, base_url: str | None = None) -> JSONData:
    # GFD.226 §3.4: {"resources": [...]} and {"links": [...]}; an empty
    # collection is {"resources": []} (occi.md §10 item 12).
    obj: dict[str, Any] = {}
    if collection.resources or not collection.links:
        obj["resources"] = [render_json(r, base_url) for r in collection.resources]
    if collection.links:
        obj["links"] = [render_json(link, base_url) for link in collection.links]
    return obj


@render_json.register
def _(locations: Locations, base_url: str | None = None) -> JSONData:
    # GFD.226 defines no JSON list of locations; a bare array of URLs is what
    # rOCCI renders (occi.md §5.3).
    return [absolute(base_url, location) for location in locations.locations]


@render_json.register
def _(invocation: ActionInvocation, base_url: str | None = None) -> JSONData:
    obj: dict[str, Any] = {"action": invocation.action}
    if invocation.attributes:
        obj["attributes"] = dict(invocation.attributes)
    return obj


@render_json.register
def _(definitions: CategoryDefinitions, base_url: str | None = None) -> JSONData:
    return category_collection(definitions.categories)


@render_json.register
def _(definition: CategoryDefinition, base_url: str | None = None) -> JSONData:
    return category_object(definition)


@render_json.register
def _(category: Category, base_url: str | None = None) -> JSONData:
    return category_object(category)
