"""Reading a :class:`~occi.parsing.headers.TextDocument` as one of the GFD.229 renderings.

* resource_rendering: Categories, Links (inline links and ActionLinks), Attributes.
* link_rendering: Categories, ActionLinks and Attributes including
  ``occi.core.target`` (that attribute is what makes an entity a Link).
* action_definition: exactly one action Category and its Attributes.
* entity_collection_rendering: X-OCCI-Location values.
* category collection: full Category values (``POST``/``DELETE /-/``).
"""

from __future__ import annotations

import re

from occi.model import (
    ATTRIBUTE_NAME,
    ActionInvocation,
    AttributeDefinition,
    AttributeValue,
    CategoryDefinition,
    CategoryDefinitions,
    Entity,
    LinkRendering,
    Locations,
    relative,
)
from occi.parsing.common import (
    Endpoints,
    build,
    checked_definition,
    make_link,
    make_resource,
    pop_endpoints,
)
from occi.parsing.errors import ParseError
from occi.parsing.headers import ParsedCategory, ParsedLink, TextDocument

# GFD.229 attribute-def: name, optionally {immutable required}; group 3 is garbage.
_ATTRIBUTE_DEF = re.compile(r"([^\s{}]+)(?:\{([^{}]*)\})?|(\S+)")
_PROPERTIES = ("immutable", "required")


def _attributes(document: TextDocument) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    for attribute in document.attributes:
        if attribute.name in attributes:
            raise ParseError(f"attribute {attribute.name!r} given twice", attribute.where)
        attributes[attribute.name] = attribute.value
    return attributes


def to_entity(document: TextDocument, base_url: str | None) -> Entity:
    """A resource or link rendering (GFD.229 §3.1.2).

    The Kind may be absent (a partial update); at most one Kind is allowed.

    :raises ParseError: for action categories, two Kinds, two values of one
        attribute, or Links inside a link rendering.
    """
    kind: str | None = None
    mixins: list[str] = []
    for category in document.categories:
        if category.ref.cls == "action":
            raise ParseError(
                "an entity rendering cannot contain an action category", category.where
            )
        if category.ref.cls == "mixin":
            mixins.append(category.ref.type_id)
        elif kind is not None:
            raise ParseError("an entity has exactly one kind", category.where)
        else:
            kind = category.ref.type_id
    actions = tuple(_action(link) for link in document.links if _is_action(link))
    links = [link for link in document.links if not _is_action(link)]
    attributes = _attributes(document)
    endpoints = Endpoints()
    where = document.attributes[0].where if document.attributes else "request"
    if pop_endpoints(attributes, endpoints, base_url, where):
        if links:
            raise ParseError("a link rendering cannot contain links", links[0].where)
        return make_link(
            endpoints=endpoints,
            kind=kind,
            mixins=tuple(mixins),
            attributes=attributes,
            actions=actions,
            location=None,
            where=where,
        )
    return make_resource(
        kind=kind,
        mixins=tuple(mixins),
        attributes=attributes,
        links=tuple(_inline_link(link, base_url) for link in links),
        actions=actions,
        location=None,
        where=where,
    )


def _is_action(link: ParsedLink) -> bool:
    # GFD.229 ActionLink: action-uri = URI "?" "action=" term.
    query = link.uri.partition("?")[2].partition("#")[0]
    return any(part.partition("=")[0] == "action" for part in re.split("[&;]", query))


def _action(link: ParsedLink) -> str:
    if len(link.rel) != 1:
        raise ParseError("an action link's rel is one action type identifier", link.where)
    return link.rel[0]


def _inline_link(link: ParsedLink, base_url: str | None) -> LinkRendering:
    """A Link header that is not an ActionLink: a link owned by the resource."""
    attributes = dict(link.attributes)
    endpoints = Endpoints(
        target=relative(base_url, link.uri), target_kind=link.rel[0] if link.rel else None
    )
    pop_endpoints(attributes, endpoints, base_url, link.where)
    kind = link.categories[0] if link.categories else None
    mixins = link.categories[1:]
    location = relative(base_url, link.self_location) if link.self_location else None
    return make_link(
        endpoints=endpoints,
        kind=kind,
        mixins=tuple(mixins),
        attributes=attributes,
        actions=(),
        location=location,
        where=link.where,
    )


def to_action(document: TextDocument) -> ActionInvocation:
    """An action_definition: one action Category and its parameters (GFD.229 §3.1.2)."""
    if len(document.categories) != 1 or document.categories[0].ref.cls != "action":
        where = document.categories[1].where if len(document.categories) > 1 else None
        raise ParseError("an action invocation has exactly one category, of class action", where)
    if document.links:
        raise ParseError("an action invocation cannot contain links", document.links[0].where)
    category = document.categories[0]
    attributes = _attributes(document)
    return build(category.where, lambda: ActionInvocation(category.ref.type_id, attributes))


def to_locations(document: TextDocument, base_url: str | None) -> Locations:
    """An entity_collection_rendering: the X-OCCI-Location values, as paths where possible.

    GFD.229 §3.6's entity_collection_rendering is X-OCCI-Location lines only:
    a Category, Link or attribute beside them means the client sent an entity
    where a list was expected, and reading only the locations would act on a
    list it never meant (an empty one replaces a Mixin's members with none).

    :raises ParseError: the rendering carries anything but locations.
    """
    strays = [
        (what, found[0].where)
        for what, found in (
            ("Category", document.categories),
            ("Link", document.links),
            ("X-OCCI-Attribute", document.attributes),
        )
        if found
    ]
    if strays:
        what, where = strays[0]
        raise ParseError(f"a list of locations carries X-OCCI-Location only, not {what}", where)
    return Locations(tuple(relative(base_url, uri) for uri, _where in document.locations))


def to_categories(document: TextDocument, base_url: str | None) -> CategoryDefinitions:
    """Full Category renderings, e.g. user mixins for ``POST /-/`` (GFD.223 §3.4.1)."""
    return CategoryDefinitions(
        tuple(_definition(category, base_url) for category in document.categories)
    )


def _definition(category: ParsedCategory, base_url: str | None) -> CategoryDefinition:
    params = category.params
    rel = tuple(params.get("rel", "").split())
    location = params.get("location", "").strip() or None
    # GFD.229 §3.1.1: a Kind's rel is its parent. A Mixin's rel is its depends;
    # rOCCI also lists the Kinds it applies to there, which text cannot tell
    # apart (occi.md §10 item 7): every rel value is read as a dependency.
    is_kind = category.ref.cls == "kind"
    definition = build(
        category.where,
        lambda: CategoryDefinition(
            term=category.ref.term,
            scheme=category.ref.scheme,
            cls=category.ref.cls or "",
            title=params.get("title"),
            parent=rel[0] if is_kind and rel else None,
            depends=rel if category.ref.cls == "mixin" else (),
            location=relative(base_url, location) if location else None,
            attributes=_attribute_definitions(params.get("attributes", ""), category.where),
            actions=tuple(params.get("actions", "").split()),
        ),
    )
    return checked_definition(definition, category.where)


def _attribute_definitions(text: str, where: str) -> tuple[AttributeDefinition, ...]:
    """A GFD.229 attribute-list: ``name{immutable required} name …``."""
    definitions: list[AttributeDefinition] = []
    for match in _ATTRIBUTE_DEF.finditer(text):
        name, properties_text, garbage = match.groups()
        if garbage is not None or not ATTRIBUTE_NAME.fullmatch(name):
            raise ParseError(f"invalid attribute list near {match.group(0)[:40]!r}", where)
        properties = (properties_text or "").split()
        unknown = [p for p in properties if p not in _PROPERTIES]
        if unknown:
            raise ParseError(f"unknown attribute property {unknown[0][:40]!r}", where)
        definitions.append(
            AttributeDefinition(
                name=name,
                mutable="immutable" not in properties,
                required="required" in properties,
            )
        )
    return tuple(definitions)
