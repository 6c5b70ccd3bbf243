"""The header-based text rendering (GFD.229 §3, the ABNF in occi.md §4.1).

Everything here produces ``(header name, value)`` pairs; :mod:`occi.rendering.text`
puts the same pairs into a ``text/plain`` body and the views into ``text/occi``
response headers, so the ABNF is implemented once. :func:`render_headers`
dispatches on the neutral structure's type (:mod:`occi.model`).

Entity references (X-OCCI-Location, Link targets, ``self``, action URIs and the
``occi.core.source``/``occi.core.target`` values) are made absolute with the
base URL (occi.md §10 item 5); a Category's ``location`` stays a path.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import singledispatch

from occi.categories.types import Attribute, Category, as_definition
from occi.model import (
    SOURCE,
    SOURCE_KIND,
    TARGET,
    TARGET_KIND,
    ActionInvocation,
    AttributeDefinition,
    AttributeValue,
    CategoryDefinition,
    CategoryDefinitions,
    CategoryRef,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    Locations,
    absolute,
    split_type_id,
)
from occi.rendering.values import attribute_value, quote

Header = tuple[str, str]

CATEGORY = "Category"
LINK = "Link"
ATTRIBUTE = "X-OCCI-Attribute"
LOCATION = "X-OCCI-Location"

#: GFD.229 §3.1.2: with nothing better known, a link's target is a Resource and
#: a link is a Link (the ABNF requires ``rel``).
_DEFAULT_TARGET_KIND = "http://schemas.ogf.org/occi/core#resource"


def attribute_def(attribute: Attribute | AttributeDefinition) -> str:
    """``name{immutable required}`` (GFD.229 attribute-def)."""
    properties = [
        p
        for p, on in (("immutable", not attribute.mutable), ("required", attribute.required))
        if on
    ]
    return f"{attribute.name}{{{' '.join(properties)}}}" if properties else attribute.name


def category_value(category: Category | CategoryDefinition) -> str:
    """A full category-value, parameters in the ABNF's fixed order.

    Order matters: rOCCI's parser accepts only term, scheme, class, title,
    rel, location, attributes, actions (occi.md §4.1, §10 item 6).
    """
    definition = as_definition(category)
    parts = [short_category(CategoryRef(definition.scheme, definition.term, definition.cls))]
    if definition.title is not None:
        parts.append(f"title={quote(definition.title)}")
    # GFD.229 §3.1.1: a Kind's rel is its parent; a Mixin's rel is its first
    # depends only, so `applies` has no text form (occi.md §10 item 7).
    rel = definition.parent or (definition.depends[0] if definition.depends else None)
    if rel:
        parts.append(f"rel={quote(rel)}")
    if definition.location:
        parts.append(f"location={quote(definition.location)}")
    if definition.attributes:
        parts.append(
            f"attributes={quote(' '.join(attribute_def(a) for a in definition.attributes))}"
        )
    if definition.actions:
        parts.append(f"actions={quote(' '.join(definition.actions))}")
    return "; ".join(parts)


def short_category(ref: CategoryRef) -> str:
    """``term; scheme="…"; class="…"``: the short rendering used inside entities (§10 24a)."""
    value = f"{ref.term}; scheme={quote(ref.scheme)}"
    return f"{value}; class={quote(ref.cls)}" if ref.cls else value


def category_headers(categories: Iterable[Category | CategoryDefinition]) -> list[Header]:
    """One ``Category`` header per category (a category_collection_rendering)."""
    return [(CATEGORY, category_value(c)) for c in categories]


def _category(type_id: str, cls: str) -> Header:
    return CATEGORY, short_category(CategoryRef.from_type_id(type_id, cls))


def _attribute(name: str, value: AttributeValue) -> Header:
    return ATTRIBUTE, f"{name}={attribute_value(value)}"


def _action_link(action: str, location: str | None, base_url: str | None) -> Header:
    # GFD.229 ActionLink: action-uri = URI "?" "action=" term.
    href = absolute(base_url, location or "") + "?action=" + split_type_id(action)[1]
    return LINK, f"<{href}>; rel={quote(action)}"


def _inline_link(link: LinkRendering, base_url: str | None) -> Header:
    """A Link header for a link owned by a resource (GFD.229 Link, link-value)."""
    parts = [
        f"<{absolute(base_url, link.target)}>",
        f"rel={quote(link.target_kind or _DEFAULT_TARGET_KIND)}",
    ]
    if link.location:
        parts.append(f"self={quote(absolute(base_url, link.location))}")
    categories = [c for c in (link.kind, *link.mixins) if c]
    if categories:
        # link-type is unquoted in the ABNF; every implementation quotes it, and
        # a list of several type identifiers needs the quotes (occi.md §4.1).
        parts.append(f"category={quote(' '.join(categories))}")
    # The target is the link-value's URI already; it is repeated as the
    # occi.core.target attribute (with its kind), as it is in a link's own
    # rendering (GFD.229 §3.1.2 attribute mapping), because clients read it
    # from there: IM's OCCI connector finds a volume's id in an inline Link
    # by occi.core.target only (get_attached_volumes_from_info).
    endpoints = {
        SOURCE: link.source and absolute(base_url, link.source),
        TARGET: absolute(base_url, link.target),
        SOURCE_KIND: link.source_kind,
        TARGET_KIND: link.target_kind,
    }
    for name, value in (*endpoints.items(), *link.attributes.items()):
        if value is not None:
            parts.append(f"{name}={attribute_value(value)}")
    return LINK, "; ".join(parts)


@singledispatch
def render_headers(document: object, base_url: str | None = None) -> list[Header]:
    """The header pairs of a neutral OCCI structure (GFD.229 §3.1.2 renderings).

    :param base_url: makes entity references absolute (``http://host/prefix``).
    :raises TypeError: for an object that has no text rendering.
    """
    raise TypeError(f"no text rendering for {type(document).__name__}")


@render_headers.register
def _(entity: EntityRendering, base_url: str | None = None) -> list[Header]:
    # resource_rendering = 1*( Category ) *( Link ) *( Attribute ); actions are
    # ActionLinks among the Links (GFD.229 §3.1.2).
    headers = [_category(entity.kind, "kind")] if entity.kind else []
    headers += [_category(mixin, "mixin") for mixin in entity.mixins]
    headers += [_inline_link(link, base_url) for link in entity.links]
    headers += [_action_link(action, entity.location, base_url) for action in entity.actions]
    headers += [_attribute(name, value) for name, value in entity.attributes.items()]
    return headers


@render_headers.register
def _(link: LinkRendering, base_url: str | None = None) -> list[Header]:
    # link_rendering = 1*( Category ) *( ActionLink ) *( Attribute ), source and
    # target as occi.core.* attributes (GFD.229 §3.1.2 attribute mapping).
    headers = [_category(link.kind, "kind")] if link.kind else []
    headers += [_category(mixin, "mixin") for mixin in link.mixins]
    headers += [_action_link(action, link.location, base_url) for action in link.actions]
    endpoints = {
        SOURCE: link.source and absolute(base_url, link.source),
        TARGET: absolute(base_url, link.target),
        SOURCE_KIND: link.source_kind,
        TARGET_KIND: link.target_kind,
    }
    headers += [_attribute(name, value) for name, value in endpoints.items() if value is not None]
    headers += [_attribute(name, value) for name, value in link.attributes.items()]
    return headers


@render_headers.register
def _(collection: EntityCollection, base_url: str | None = None) -> list[Header]:
    # entity_collection_rendering = *( Location ): text lists locations only.
    locations = []
    for entity in collection.entities:
        if entity.location is None:
            raise ValueError("an entity in a collection needs a location to be listed")
        locations.append(entity.location)
    return render_headers(Locations(tuple(locations)), base_url)


@render_headers.register
def _(locations: Locations, base_url: str | None = None) -> list[Header]:
    # One header per location: repeated headers are as valid as a comma-joined
    # one (GFD.229 §3.3) and keep every line short.
    return [(LOCATION, absolute(base_url, location)) for location in locations.locations]


@render_headers.register
def _(invocation: ActionInvocation, base_url: str | None = None) -> list[Header]:
    # action_definition = 1( Category ) *( Attribute ).
    headers = [_category(invocation.action, "action")]
    return headers + [_attribute(n, v) for n, v in invocation.attributes.items()]


@render_headers.register
def _(definitions: CategoryDefinitions, base_url: str | None = None) -> list[Header]:
    return category_headers(definitions.categories)


@render_headers.register
def _(definition: CategoryDefinition, base_url: str | None = None) -> list[Header]:
    return category_headers((definition,))


@render_headers.register
def _(category: Category, base_url: str | None = None) -> list[Header]:
    return category_headers((category,))
