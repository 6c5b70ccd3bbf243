"""The OCCI namespace: what a request path names (GFD.223 §3.1).

* ``/-/`` (and its RFC 5785 mirror): the query interface;
* a Kind's or Mixin's location (bound paths): its collection;
* ``<kind location><id>`` (no trailing slash): an entity;
* ``/meter/`` and ``/meter/<id>``: the usage meters (:mod:`occi.mapping.usage`);
* any other path ending in ``/`` above bound locations (unbound paths,
  ``/`` included): the union of the collections below it, which GFD.223
  §3.1 allows ("MAY represent the union").

A Kind's location without its trailing slash (``/compute``) names the same
collection, since clients and documentation often drop it. Kind and entity
paths are resolved without the request's registry (they never depend on the
caller); Mixin and unbound paths need it, since tags belong to tenants.
"""

from __future__ import annotations

from dataclasses import dataclass

from occi.categories.registry import CategoryRegistry
from occi.categories.types import Kind, Mixin
from occi.mapping import tables as t
from occi.mapping.load import parse_location
from occi.mapping.usage import MeterCollection, MeterPath, parse_meter_location


@dataclass(frozen=True)
class QueryInterface:
    """The query interface (GFD.223 §3.4.1)."""


@dataclass(frozen=True)
class EntityPath:
    """An entity's path; the entity may not exist yet (a PUT creates it)."""

    table: t.KindTable
    id: str

    @property
    def location(self) -> str:
        """The entity's path."""
        return f"/{self.table.term}/{self.id}"


@dataclass(frozen=True)
class Collection:
    """A collection of entities of some Kinds (GFD.221 §3.6)."""

    path: str
    tables: tuple[t.KindTable, ...]


@dataclass(frozen=True)
class KindCollection(Collection):
    """A Kind's collection: its entities and its descendants' (``/resource/``)."""

    kind: Kind


@dataclass(frozen=True)
class MixinCollection(Collection):
    """A Mixin's collection: the entities associated with it."""

    mixin: Mixin


@dataclass(frozen=True)
class UnboundCollection(Collection):
    """The union of the collections bound below an unbound path (``/`` is everything)."""

    kinds: tuple[KindCollection, ...]
    mixins: tuple[MixinCollection, ...]


Target = (
    QueryInterface
    | EntityPath
    | KindCollection
    | MixinCollection
    | UnboundCollection
    | MeterCollection
    | MeterPath
)


def kind_tables(kind: Kind) -> tuple[t.KindTable, ...]:
    """The tables of the Kinds that are ``kind`` or descend from it."""
    return tuple(table for table in t.TABLES.values() if table.kind.is_a(kind.type_id))


def mixin_tables(mixin: Mixin) -> tuple[t.KindTable, ...]:
    """The tables of the Kinds a Mixin applies to (all, when it does not say)."""
    if not mixin.applies:
        return tuple(t.TABLES.values())
    return tuple(
        table for table in t.TABLES.values() if any(table.kind.is_a(kind) for kind in mixin.applies)
    )


def _bound(category: Kind | Mixin, path: str) -> KindCollection | MixinCollection:
    if isinstance(category, Kind):
        return KindCollection(path, kind_tables(category), category)
    return MixinCollection(path, mixin_tables(category), category)


def resolve_static(registry: CategoryRegistry, path: str) -> Target | None:
    """An entity path, or a Kind's collection, from the static registry alone.

    The usage meters' Kind is no engine table: its paths resolve to contexts
    of their own (:mod:`occi.mapping.usage`), which only GET reads.
    """
    meters = parse_meter_location(path)
    if meters is not None:
        return meters
    parsed = parse_location(path)
    if parsed is not None:
        return EntityPath(*parsed)
    location = path if path.endswith("/") else path + "/"
    category = registry.by_location(location)
    if isinstance(category, Kind):
        return _bound(category, location)
    return None


def resolve(registry: CategoryRegistry, path: str) -> Target | None:
    """What ``path`` names for a caller with ``registry``, or None (404).

    Only Kind locations may drop their trailing slash: any other path
    without one is not a collection (so it is a 404 without looking at the
    caller's tags, :func:`resolve_static`).
    """
    found = resolve_static(registry, path)
    if found is not None or not path.endswith("/"):
        return found
    category = registry.by_location(path)
    if isinstance(category, Kind | Mixin):
        return _bound(category, path)
    below = [
        _bound(c, c.location)
        for c in registry
        if isinstance(c, Kind | Mixin) and c.location and c.location.startswith(path)
    ]
    if not below:
        return None
    kinds = tuple(c for c in below if isinstance(c, KindCollection))
    mixins = tuple(c for c in below if isinstance(c, MixinCollection))
    tables = tuple(dict.fromkeys(table for c in below for table in c.tables))
    return UnboundCollection(path, tables, kinds, mixins)


__all__ = [
    "Collection",
    "EntityPath",
    "KindCollection",
    "MeterCollection",
    "MeterPath",
    "MixinCollection",
    "QueryInterface",
    "Target",
    "UnboundCollection",
    "kind_tables",
    "mixin_tables",
    "resolve",
    "resolve_static",
]
