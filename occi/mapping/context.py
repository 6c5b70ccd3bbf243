"""What every OCCI operation of one request works with: scope, services, categories.

:class:`OcciContext` holds the caller's scope, the engine's services for the
request's unit of work, the base URL, and the request's category registry,
built on first use: the server's static categories (GFD.224) plus the OS and
resource templates of the catalog the caller sees and the caller's own tags
(GFD.221 §3.6: "custom Mixin instances ... created by request of a client").
Reading one entity never builds it: an entity's Mixins are known from its
rows (:mod:`occi.mapping.templates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from engine.catalog.models import ComputeOffering, Image
from engine.resources.tag_models import Tag
from engine.resources.tags import TagService
from engine.scope import Scope
from occi.categories.registry import CategoryRegistry
from occi.categories.types import Mixin
from occi.mapping import templates

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
    def registry(self) -> CategoryRegistry:
        """The categories this caller can use: static, catalog templates, its tags.

        A tag whose type identifier or location clashes with a category
        already registered is left out: an administrator sees every tenant's
        tags, and two tenants may have chosen the same ones (the caller's own
        come first, :meth:`TagService.list`).
        """
        registry = self.static.copy()
        catalog = self.engine.catalog
        registry.extend(
            templates.templates(
                catalog.list_entries(self.scope, Image),
                catalog.list_entries(self.scope, ComputeOffering),
            )
        )
        for tag in self.tags.list(self.scope):
            try:
                mixin = templates.tag_as_mixin(tag)
                registry.add(mixin)
            except ValueError:
                continue
            self._tag_mixins[mixin.type_id] = tag
        return registry

    def tag(self, type_id: str) -> Tag | None:
        """The tag behind a user-defined Mixin of :attr:`registry`, if it is one."""
        self.registry  # noqa: B018  (fills the index)
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
        self._tag_mixins.clear()


__all__ = ["OcciContext"]
