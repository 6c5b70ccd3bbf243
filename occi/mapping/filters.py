"""Filtering and pagination of collections and of the query interface (GFD.223 §3.4, §3.5).

GFD.223 leaves "related to the given Category" undefined (occi.md §10 item
18); Concord's reading, applied to both the query interface and collections:

* a Category is related to itself;
* to a Kind are related its descendants (``resource`` -> ``compute``...), its
  Actions and the Mixins that apply to it;
* to a Mixin are related its Actions and the Mixins that depend on it,
  transitively (``os_tpl`` -> every OS template);
* an entity matches a Category when its Kind descends from it or one of its
  Mixins is (or depends on) it.

Several Categories must all match; attribute filters compare values for
equality (numbers by value, ``1`` equals ``1.0``). Pagination: ``page`` is
1-based and ``number`` is the page size; both must be given (GFD.223: "MUST
be used"), a page past the end is empty, and a ``number`` above
:data:`MAX_PAGE_SIZE` is 413.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from engine.errors import InvalidInput
from occi.categories.registry import CategoryRegistry
from occi.categories.types import Attribute, Category, Kind, Mixin
from occi.mapping.validate import same_value
from occi.model import (
    SOURCE,
    TARGET,
    AttributeValue,
    Entity,
    LinkRendering,
)

#: The largest page a client may ask for (GFD.223 §3.4: too large is 413).
MAX_PAGE_SIZE = 10_000
_NUMBER = re.compile(r"[0-9]+")

T = TypeVar("T")


class PageTooLarge(Exception):
    """``number`` exceeds :data:`MAX_PAGE_SIZE` (GFD.223 §3.4: 413)."""


@dataclass(frozen=True)
class Filter:
    """What a client filters on: Category type identifiers and attribute values."""

    categories: tuple[str, ...] = ()
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.categories or self.attributes)

    @classmethod
    def of(cls, document: Entity) -> Filter:
        """The filter a client rendered as an entity in its request headers."""
        attributes = dict(document.attributes)
        categories = [c for c in (document.kind, *document.mixins) if c]
        if isinstance(document, LinkRendering):
            attributes[TARGET] = document.target
            if document.source is not None:
                attributes[SOURCE] = document.source
        return cls(tuple(categories), attributes)


@dataclass(frozen=True)
class Page:
    """A 1-based page of ``number`` items."""

    page: int
    number: int

    def slice(self, items: Sequence[T]) -> list[T]:
        """The items of this page (none past the end)."""
        start = (self.page - 1) * self.number
        return list(items[start : start + self.number])


def page_of(query: Mapping[str, str]) -> Page | None:
    """The page asked for by the ``page`` and ``number`` query parameters, if any.

    :raises InvalidInput: only one of them, or not positive integers.
    :raises PageTooLarge: ``number`` above :data:`MAX_PAGE_SIZE`.
    """
    page, number = query.get("page"), query.get("number")
    if page is None and number is None:
        return None
    if page is None or number is None:
        raise InvalidInput("paginate with both page and number (GFD.223 §3.4)")
    if not _NUMBER.fullmatch(page) or not _NUMBER.fullmatch(number):
        raise InvalidInput("page and number are positive whole numbers")
    if len(number) > 12 or int(number) > MAX_PAGE_SIZE:
        raise PageTooLarge(f"number is at most {MAX_PAGE_SIZE}")
    if len(page) > 12 or int(page) < 1 or int(number) < 1:
        raise InvalidInput("page and number start at 1")
    return Page(int(page), int(number))


def related(registry: CategoryRegistry, type_id: str) -> set[str]:
    """The type identifiers of the Categories related to ``type_id`` (module docstring)."""
    category = registry.get(type_id)
    if category is None:
        return set()
    found = {type_id}
    if isinstance(category, Kind | Mixin):
        found |= {action.type_id for action in category.actions}
    is_kind = isinstance(category, Kind)
    for other in registry:
        descends = is_kind and isinstance(other, Kind) and other.is_a(type_id)
        extends = isinstance(other, Mixin) and (
            depends_on(registry, other, type_id) or (is_kind and type_id in other.applies)
        )
        if descends or extends:
            found.add(other.type_id)
    return found


def depends_on(registry: CategoryRegistry, mixin: Mixin, type_id: str) -> bool:
    """Whether ``mixin`` depends on ``type_id``, directly or through other Mixins."""
    seen: set[str] = set()
    pending = list(mixin.depends)
    while pending:
        parent = pending.pop()
        if parent == type_id:
            return True
        if parent in seen:
            continue
        seen.add(parent)
        found = registry.get(parent)
        if isinstance(found, Mixin):
            pending.extend(found.depends)
    return False


def filter_categories(
    registry: CategoryRegistry, categories: Iterable[Category], wanted: Sequence[str]
) -> list[Category]:
    """The categories related to every one of ``wanted`` (all when ``wanted`` is empty)."""
    chosen = list(categories)
    for type_id in wanted:
        keep = related(registry, type_id)
        chosen = [c for c in chosen if c.type_id in keep]
    return chosen


def entity_has(registry: CategoryRegistry, entity: Entity, type_id: str) -> bool:
    """Whether an entity's Kind descends from ``type_id``, or a Mixin of it is or depends on it."""
    kind = registry.get(entity.kind or "")
    if isinstance(kind, Kind) and kind.is_a(type_id):
        return True
    for mixin_id in entity.mixins:
        if mixin_id == type_id:
            return True
        mixin = registry.get(mixin_id)
        if isinstance(mixin, Mixin) and depends_on(registry, mixin, type_id):
            return True
    return False


def _value(entity: Entity, name: str) -> AttributeValue | None:
    if isinstance(entity, LinkRendering) and name == TARGET:
        return entity.target
    if isinstance(entity, LinkRendering) and name == SOURCE:
        return entity.source
    return entity.attributes.get(name)


def matches(registry: CategoryRegistry, entity: Entity, wanted: Filter) -> bool:
    """Whether an entity passes a filter (module docstring)."""
    if not all(entity_has(registry, entity, c) for c in wanted.categories):
        return False
    return all(same_value(_value(entity, n), v) for n, v in wanted.attributes.items())


def require_defined_attributes(registry: CategoryRegistry, wanted: Filter, kind: Kind) -> None:
    """Refuse a filter on an attribute that no member of ``kind``'s collection can have.

    The members' attributes are those of ``kind``, its ancestors and its
    descendants (``/resource/`` holds computes) and of any Mixin. A GET
    filtering on anything else just finds nothing, but a DELETE on a
    collection acts on what the filter selects: a misspelt attribute, or one
    of another Kind, must be the client's error (400), not a silent no-op it
    might read as success.

    :raises InvalidInput: an attribute of the filter is not defined for the collection.
    """
    defined = {SOURCE, TARGET}
    for category in registry:
        related = isinstance(category, Mixin) or (
            isinstance(category, Kind)
            and (category.is_a(kind.type_id) or kind.is_a(category.type_id))
        )
        if related:
            defined.update(a.name for a in category.rendered_attributes())
    unknown = sorted(set(wanted.attributes) - defined)
    if unknown:
        raise InvalidInput(
            f"no member of {kind.term}'s collection can have the attribute {unknown[0][:200]!r}: "
            "a DELETE filter must name attributes of the collection's Kinds and Mixins"
        )


#: Query parameters a collection's GET reads besides attribute filters (GFD.223 §3.4).
PAGING = frozenset({"page", "number"})


def has_query_filter(query: Mapping[str, str], also: Iterable[str] = ()) -> bool:
    """Whether *query* holds anything :func:`query_filter` must look up.

    Without, the view need not build the caller's category registry (two
    catalog reads and every Category: most of a location listing's cost,
    issue 15) only to find nothing to filter.
    """
    known = PAGING | set(also)
    return any(name not in known for name in query)


def query_filter(
    registry: CategoryRegistry, query: Mapping[str, str], also: Iterable[str] = ()
) -> dict[str, AttributeValue]:
    """Attribute filters given as query parameters (``?occi.compute.state=active``).

    GFD.223 §3.5 filters with headers only, but a client that puts an
    attribute in the query means the same, and one whose parameter the server
    ignored would take the whole collection for the filtered one. So every
    parameter other than ``page`` and ``number`` must be an attribute some
    Kind or Mixin defines (``occi.core.source`` and ``target`` too), and is
    a filter by equality; anything else is a 400 naming it.

    :param also: other parameter names the request takes (DELETE's ``confirm``).
    :raises InvalidInput: an unknown parameter, or a value the attribute refuses.
    """
    known = PAGING | set(also)
    definitions: dict[str, Attribute | None] = {SOURCE: None, TARGET: None}
    for category in registry:
        for attribute in category.rendered_attributes():
            definitions.setdefault(attribute.name, attribute)
    found: dict[str, AttributeValue] = {}
    for name, value in query.items():
        if name in known:
            continue
        if name not in definitions:
            raise InvalidInput(
                f"unknown query parameter {name[:200]!r}: a collection takes page and number, "
                "and filters by the attributes its Kinds and Mixins define "
                "(?occi.compute.state=active)",
                parameter=name[:200],
            )
        definition = definitions[name]
        try:
            found[name] = value if definition is None else definition.coerce(value)
        except ValueError as exc:
            raise InvalidInput(f"query parameter {exc}", parameter=name) from None
    return found


def apply(registry: CategoryRegistry, entities: Iterable[Entity], wanted: Filter) -> list[Entity]:
    """The entities that pass ``wanted``."""
    return [e for e in entities if matches(registry, e, wanted)]


__all__ = [
    "MAX_PAGE_SIZE",
    "Filter",
    "Page",
    "PageTooLarge",
    "apply",
    "depends_on",
    "entity_has",
    "filter_categories",
    "matches",
    "page_of",
    "query_filter",
    "related",
    "require_defined_attributes",
]
