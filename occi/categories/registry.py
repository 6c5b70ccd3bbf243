"""The registry of the categories a server offers (GFD.221 §3.6 discovery)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from occi.categories.types import Action, Category, Kind, Mixin
from occi.model import CategoryDefinitions


@dataclass
class CategoryRegistry:
    """The categories a server offers, by type identifier, in registration order.

    A registry is cheap to :meth:`copy`: a request can extend the server's
    registry with a tenant's own mixins without changing the shared one.
    A Mixin's ``aliases`` (type identifiers other clients send for it) are
    found by :meth:`get` but are no categories of their own: they are never
    listed, and :meth:`__contains__` knows only real type identifiers.
    """

    _by_id: dict[str, Category] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    def add(self, category: Category) -> None:
        """Register a category; its actions are registered with it.

        :raises ValueError: when the type identifier, or the location of a
            Kind or Mixin, is already taken (occi.md §10 item 17).
        """
        aliases = getattr(category, "aliases", ())
        for type_id in (category.type_id, *aliases):
            if type_id in self._by_id or type_id in self._aliases:
                raise ValueError(f"category {type_id} is already registered")
        location = getattr(category, "location", None)
        if location and self.by_location(location) is not None:
            raise ValueError(f"location {location} is already bound to a category")
        self._by_id[category.type_id] = category
        self._aliases.update(dict.fromkeys(aliases, category.type_id))
        for action in getattr(category, "actions", ()):
            self._by_id.setdefault(action.type_id, action)

    def extend(self, categories: Iterable[Category]) -> None:
        """Register several categories, in order."""
        for category in categories:
            self.add(category)

    def remove(self, type_id: str) -> Category:
        """Unregister a category (not its actions, which other categories may share).

        :raises KeyError: when no such category is registered.
        """
        category = self._by_id.pop(type_id)
        for alias in getattr(category, "aliases", ()):
            self._aliases.pop(alias, None)
        return category

    def get(self, type_id: str) -> Category | None:
        """The category with this type identifier (or alias), if any."""
        found = self._by_id.get(type_id)
        if found is None and type_id in self._aliases:
            found = self._by_id.get(self._aliases[type_id])
        return found

    def by_location(self, location: str) -> Kind | Mixin | None:
        """The Kind or Mixin bound to ``location`` (GFD.223 §3.1), if any."""
        for category in self._by_id.values():
            if isinstance(category, Kind | Mixin) and category.location == location:
                return category
        return None

    def __iter__(self) -> Iterator[Category]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._by_id

    def copy(self) -> CategoryRegistry:
        """A registry holding the same categories, changed independently of this one."""
        return CategoryRegistry(dict(self._by_id), dict(self._aliases))

    def kinds(self) -> Iterable[Kind]:
        """The registered Kinds."""
        return (c for c in self if isinstance(c, Kind))

    def mixins(self) -> Iterable[Mixin]:
        """The registered Mixins."""
        return (c for c in self if isinstance(c, Mixin))

    def actions(self) -> Iterable[Action]:
        """The registered Actions."""
        return (c for c in self if isinstance(c, Action))

    def definitions(self) -> CategoryDefinitions:
        """Every category as the neutral structure the renderers consume."""
        return CategoryDefinitions(tuple(c.definition() for c in self))
