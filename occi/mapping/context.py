"""What every OCCI operation of one request works with: scope, services, categories.

:class:`OcciContext` holds the caller's scope, the engine's services for the
request's unit of work, the base URL, and the request's category registry,
built on first use: the server's static categories (GFD.224) plus the OS and
resource templates of the catalog the caller sees and the caller's own tags
(GFD.221 §3.6: "custom Mixin instances ... created by request of a client").
Reading an entity never builds it; a compute's template Mixins need the
catalog's terms only (:attr:`OcciContext.catalog_templates`, two queries).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from engine.catalog.models import ComputeOffering, Image
from engine.compute.models import PlacementGroup
from engine.errors import InvalidInput
from engine.resources.tag_models import Tag
from engine.resources.tags import TagService
from engine.scope import Scope
from occi.categories.placement import POLICIES
from occi.categories.registry import CategoryRegistry
from occi.categories.types import Mixin
from occi.mapping import templates
from occi.mapping.group_mixins import GROUP_SCHEME, GroupMixin, group_mixins, tag_key
from occi.mapping.zones import zone_mixins

if TYPE_CHECKING:
    from concord.services import EngineServices


@dataclass
class OcciContext:
    """One request's view of the engine (see the module docstring).

    :param engine: the engine's services over the request's unit of work.
    :param scope: the authenticated caller.
    :param base_url: the application URL; entity references are made absolute with it.
    :param static: the server's categories (never changed by a request).
    """

    engine: EngineServices
    scope: Scope
    base_url: str
    static: CategoryRegistry
    _tag_mixins: dict[str, Tag] = field(default_factory=dict, init=False)

    @cached_property
    def tags(self) -> TagService:
        """The tag service over the request's unit of work."""
        return TagService(self.engine.session)

    @cached_property
    def listed_tags(self) -> list[Tag]:
        """The tags the caller sees (:meth:`TagService.list`), read once per request."""
        return self.tags.list(self.scope)

    @cached_property
    def base_registry(self) -> CategoryRegistry:
        """The categories this caller can use but its groups' Mixins of Concord's
        scheme (:attr:`registry`): static, catalog templates, zones, its tags.

        A tag whose type identifier or location clashes with a category
        already registered is left out: an administrator sees every tenant's
        tags, and two tenants may have chosen the same ones (the caller's own
        come first, :meth:`TagService.list`).
        """
        registry = self.static.copy()
        registry.extend(self.catalog_templates.mixins)
        registry.extend(self.zones.values())
        for tag in self.listed_tags:
            try:
                mixin = templates.tag_as_mixin(tag)
                registry.add(mixin)
            except ValueError:
                continue
            self._tag_mixins[mixin.type_id] = tag
        return registry

    @cached_property
    def registry(self) -> CategoryRegistry:
        """Every category this caller can use: :attr:`base_registry` and the Mixins
        of its groups that no user Mixin names (:mod:`occi.mapping.group_mixins`)."""
        registry = self.base_registry
        for type_id, shown in self.groups.items():
            try:
                registry.add(templates.tag_as_mixin(shown.tag))
            except ValueError:
                continue
            self._tag_mixins[type_id] = shown.tag
        return registry

    def registry_for(self, type_ids: Iterable[str]) -> CategoryRegistry:
        """A registry that knows ``type_ids`` if the caller may use them.

        Only a request naming a group's Mixin of Concord's scheme needs the
        caller's groups read: a creation naming none makes no extra query
        (issue 15 counts them).
        """
        if "registry" in self.__dict__ or any(t.startswith(GROUP_SCHEME) for t in type_ids):
            return self.registry
        return self.base_registry

    @cached_property
    def groups(self) -> dict[str, GroupMixin]:
        """``{type identifier: GroupMixin}`` of the caller's placement groups that
        no user Mixin names (:mod:`occi.mapping.group_mixins`)."""
        try:
            own = self.engine.placement_groups.list(self.scope)
        except InvalidInput:  # a scope with no account has no groups
            return {}
        if not own:
            return {}
        named = []
        for tag in self.listed_tags:
            policies = {POLICIES[type_id] for type_id in tag.extends if type_id in POLICIES}
            if len(policies) == 1:
                named.append(tag_key(tag, policies.pop()))
        return group_mixins(own, named)

    def group(self, type_id: str) -> PlacementGroup | None:
        """The group behind one of :attr:`groups`' Mixins in :attr:`registry`, if it is one."""
        if not type_id.startswith(GROUP_SCHEME):
            return None  # (asked of every Mixin of a creation: no query for the others)
        shown = self.groups.get(type_id)
        if shown is None or self.tag(type_id) is not shown.tag:
            return None
        return shown.group

    @cached_property
    def catalog_templates(self) -> templates.CatalogTemplates:
        """The OS and resource templates of the catalog the caller sees, with
        their readable terms (:func:`occi.mapping.templates.readable_terms`)."""
        catalog = self.engine.catalog
        return templates.catalog_templates(
            catalog.list_entries(self.scope, Image),
            catalog.list_entries(self.scope, ComputeOffering),
        )

    @cached_property
    def zones(self) -> dict[str, Mixin]:
        """``{zone id: Mixin}`` of the zones the caller may use (:mod:`occi.mapping.zones`)."""
        return zone_mixins(self.engine.inventory.list_zones(self.scope))

    def zone_ids(self, resource: Any) -> tuple[str, ...]:
        """The type identifier of a resource's zone Mixin (none if the caller cannot see it)."""
        found = self.zones.get(getattr(resource, "zone_id", None) or "")
        return (found.type_id,) if found is not None else ()

    def template_ids(self, compute: Any) -> tuple[str, ...]:
        """The type identifiers of a compute's OS and resource templates."""
        found = self.catalog_templates
        return (
            *((found.os_template_id(compute.image_id),) if compute.image_id else ()),
            *((found.resource_template_id(compute.offering_id),) if compute.offering_id else ()),
        )

    def tag(self, type_id: str) -> Tag | None:
        """The tag behind a user-defined Mixin of :attr:`registry`, if it is one."""
        # (Reading the registry fills the index; the groups only for their scheme.)
        self.registry_for((type_id,))
        return self._tag_mixins.get(type_id)

    def tag_mixins(self) -> list[tuple[Mixin, Tag]]:
        """Every user-defined Mixin of :attr:`registry` with its tag."""
        registry = self.registry
        found = []
        for type_id, tag in self._tag_mixins.items():
            mixin = registry.get(type_id)
            if isinstance(mixin, Mixin):
                found.append((mixin, tag))
        return found

    def forget_registry(self) -> None:
        """Drop the built registry (after tags were defined or deleted)."""
        self.__dict__.pop("registry", None)
        self.__dict__.pop("base_registry", None)
        self.__dict__.pop("listed_tags", None)
        self.__dict__.pop("catalog_templates", None)
        self.__dict__.pop("groups", None)
        self._tag_mixins.clear()


__all__ = ["OcciContext"]
