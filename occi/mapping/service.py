"""The OCCI operations the views call: one method per (target, HTTP method) of GFD.223 §3.6.

Each method takes what a parser produced (:mod:`occi.model`) and returns what
a renderer consumes, so a view is "parse, one call here, render". The
methods run in the request's unit of work: whatever they raise, the edge
tween rolls everything back (a refused request changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import InvalidInput, NotFound, PermissionDenied
from occi.categories.types import Category
from occi.mapping import (
    actions,
    create,
    filters,
    membership,
    paging,
    sql_filters,
    update,
    usage,
)
from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.load import Loaded, load_all, load_location, load_one
from occi.mapping.paths import (
    Collection,
    EntityPath,
    KindCollection,
    MixinCollection,
    Target,
    UnboundCollection,
    resolve,
    resolve_static,
)
from occi.mapping.render import collection, render
from occi.model import (
    ActionInvocation,
    CategoryDefinitions,
    Entity,
    EntityCollection,
    Locations,
)

#: The order in which a collection's entities are deleted: links before their
#: resources, computes before the volumes and networks they use.
_DELETE_ORDER = (t.STORAGELINK, t.NETWORKINTERFACE, t.COMPUTE, t.STORAGE, t.NETWORK)


class OcciService:
    """OCCI over the engine for one request (see the module docstring)."""

    def __init__(self, ctx: OcciContext) -> None:
        self.ctx = ctx

    # -- the query interface (GFD.223 §3.4.1) ----------------------------------

    def categories(self, wanted: Sequence[str] = ()) -> CategoryDefinitions:
        """Every Category the caller can use, or those related to ``wanted`` (GFD.223 §3.5)."""
        registry = self.ctx.registry
        chosen: list[Category] = filters.filter_categories(registry, registry, wanted)
        return CategoryDefinitions(tuple(c.definition() for c in chosen))

    def define(
        self, definitions: CategoryDefinitions, reserved: frozenset[str] = frozenset()
    ) -> CategoryDefinitions:
        """Define user Mixins (tags); see :func:`occi.mapping.membership.define`."""
        return membership.define(self.ctx, definitions, reserved)

    def undefine(self, definitions: CategoryDefinitions) -> None:
        """Remove user Mixins and every association of theirs (GFD.185: 403 for provider ones)."""
        membership.undefine(self.ctx, definitions)

    # -- the namespace ---------------------------------------------------------

    def resolve(self, path: str) -> Target | None:
        """What a path names for this caller (None: nothing, 404)."""
        found = resolve_static(self.ctx.static, path)
        return found if found is not None else resolve(self.ctx.registry, path)

    # -- entities (GFD.223 §3.7) ------------------------------------------------

    def read(self, target: EntityPath) -> Entity:
        """An entity's rendering."""
        return render(load_one(self.ctx, target.table, target.id))

    def update(self, target: EntityPath, document: Entity) -> Entity:
        """A partial update (POST)."""
        entity = load_one(self.ctx, target.table, target.id)
        return render(update.update(self.ctx, entity, document, full=False))

    def put(self, target: EntityPath, document: Entity) -> tuple[Entity, bool]:
        """A full update, or a creation at the client's path; True when created."""
        try:
            entity = load_one(self.ctx, target.table, target.id)
        except NotFound:
            return render(create.create(self.ctx, target.table, document, target.id)), True
        return render(update.update(self.ctx, entity, document, full=True)), False

    def delete(self, target: EntityPath) -> None:
        """Delete an entity (its deletion job runs after the commit)."""
        self._delete(load_one(self.ctx, target.table, target.id))

    def _delete(self, entity: Loaded) -> None:
        engine, scope, table = self.ctx.engine, self.ctx.scope, entity.table
        if table is t.COMPUTE:
            engine.compute.delete(scope, entity.id)
        elif table is t.STORAGE:
            engine.storage.delete(scope, entity.id)
        elif table is t.NETWORK:
            engine.network.delete(scope, entity.id)
        elif table is t.STORAGELINK:
            engine.attachments.detach(scope, entity.id)
        else:
            engine.interfaces.detach_interface(scope, entity.id)
        for gone in (entity, *entity.links):
            self.ctx.tags.forget(gone.id)

    # -- usage meters (occi.categories.usage): read only ---------------------------

    def meter(self, target: usage.MeterPath) -> Entity:
        """A usage meter the caller may see."""
        return usage.read_meter(self.ctx, target)

    def meters(
        self, wanted: filters.Filter, page: filters.Page | None, *, full: bool = True
    ) -> EntityCollection:
        """The usage meters the caller may see, filtered then paginated."""
        return usage.list_meters(self.ctx, wanted, page, full=full)

    # -- collections (GFD.223 §3.7) ---------------------------------------------

    def _members(
        self, target: Collection, *, full: bool, where: sql_filters.Conditions | None = None
    ) -> list[Loaded]:
        if isinstance(target, KindCollection):
            return load_all(self.ctx, target.tables, full=full, where=where)
        if isinstance(target, MixinCollection):
            return membership.members(self.ctx, target)
        if isinstance(target, UnboundCollection):
            return membership.union(self.ctx, target, full=full)
        raise TypeError(f"not a collection: {target!r}")

    @staticmethod
    def _split(
        target: Collection, wanted: filters.Filter
    ) -> tuple[sql_filters.Conditions, filters.Filter]:
        """The SQL conditions of *wanted* per Kind, and what is left to match on renderings."""
        if not (wanted.attributes and isinstance(target, KindCollection)):
            return {}, wanted
        where, rest = sql_filters.split(target.tables, wanted.attributes)
        return where, filters.Filter(wanted.categories, rest)

    def _matching(
        self, target: Collection, wanted: filters.Filter, *, full: bool
    ) -> tuple[list[Loaded], list[Entity] | None]:
        """The members that pass *wanted*, and their renderings when matching needed them.

        What SQL can decide runs in the listing's query (issue 15); the rest,
        Categories included, is matched on the renderings. A GET listing and a
        filtered DELETE both choose their members here, so that a DELETE
        removes exactly what the GET with the same filter lists.
        """
        where, wanted = self._split(target, wanted)
        entities = self._members(target, full=full or bool(wanted), where=where or None)
        if not wanted:
            return entities, None
        registry = self.ctx.registry
        pairs = [(e, r) for e in entities if filters.matches(registry, r := render(e), wanted)]
        return [e for e, _ in pairs], [r for _, r in pairs]

    def listing(
        self,
        target: Collection,
        wanted: filters.Filter = filters.Filter(),  # noqa: B008  (frozen, empty)
        page: filters.Page | None = None,
        *,
        full: bool = True,
    ) -> EntityCollection | Locations:
        """A collection's members, filtered then paginated (GFD.223 §3.4, §3.5).

        :param full: full renderings; without, their locations only (text
            listings), unless a filter needs the renderings to match against.
        """
        chosen_entities: list[Loaded] | None = None
        if page is not None and isinstance(target, KindCollection):
            where, rest = self._split(target, wanted)
            if not rest:
                # Paged in SQL: only the page's rows are read (issue 15).
                chosen_entities = paging.load_page(
                    self.ctx, target.tables, page, full=full, where=where or None
                )
        if chosen_entities is None:
            entities, kept = self._matching(target, wanted, full=full)
            if kept is not None:
                return EntityCollection.of(page.slice(kept) if page else kept)
            chosen_entities = page.slice(entities) if page else entities
        if not full:
            # A text listing prints locations only (GFD.229 §3.1.2): no rendering
            # object per member (issue 15), the renderers take Locations as is.
            return Locations(tuple(entity.location for entity in chosen_entities))
        return collection(chosen_entities)

    def create(self, target: KindCollection, documents: EntityCollection) -> list[Entity]:
        """Create each entity of ``documents`` in the Kind's collection (GFD.223 §3.7)."""
        if not documents.entities:
            raise InvalidInput("the body renders no entity to create")
        if target.kind.type_id not in t.BY_TYPE_ID:
            raise PermissionDenied(
                f"{target.kind.type_id} cannot be instantiated here; create one of its "
                "sub-types at its own location (/compute/, /storage/...)"
            )
        table = t.BY_TYPE_ID[target.kind.type_id]
        return [render(create.create(self.ctx, table, d)) for d in documents.entities]

    def delete_members(
        self, target: KindCollection, wanted: filters.Filter, locations: Locations | None = None
    ) -> None:
        """Delete the members of a Kind's collection at ``locations``, or every member
        that passes ``wanted``.

        :raises InvalidInput: the filter names an attribute no member can have.
        :raises NotFound: a location is not a member of the collection.
        """
        filters.require_defined_attributes(self.ctx.registry, wanted, target.kind)
        if locations is not None:
            entities = load_all(self.ctx, target.tables)
            members = {e.location: e for e in entities}
            missing = [loc for loc in locations.locations if loc not in members]
            if missing:
                raise NotFound(f"{missing[0][:200]} is not in the collection {target.path}")
            entities = [members[loc] for loc in dict.fromkeys(locations.locations)]
        else:
            # Exactly the members a GET with the same filter lists (issue 15).
            entities, _ = self._matching(target, wanted, full=True)
        for table in _DELETE_ORDER:
            for entity in entities:
                if entity.table is table:
                    self._delete(entity)

    def act(
        self, target: EntityPath | Collection, term: str, invocation: ActionInvocation | None
    ) -> Entity | EntityCollection | CategoryDefinitions:
        """Invoke an Action on an entity or on every member of a collection."""
        if isinstance(target, EntityPath):
            entities = [load_one(self.ctx, target.table, target.id)]
            outcome = actions.perform(self.ctx, entities, term, invocation)
            if outcome.templates is not None:
                return outcome.templates
            return render(outcome.entities[0])
        members = self._members(target, full=True)
        outcome = actions.perform(
            self.ctx, members, term, invocation, tables=target.tables, collection=True
        )
        if outcome.templates is not None:
            return outcome.templates
        return collection(outcome.entities)

    # -- Mixin collections (GFD.223 §3.6) ----------------------------------------

    def _located(self, locations: Locations) -> list[Loaded]:
        return [load_location(self.ctx, location) for location in locations.locations]

    def associate(
        self, target: MixinCollection, locations: Locations, *, full: bool = True
    ) -> EntityCollection:
        """Associate the Mixin with the entities at ``locations`` (POST); the members after."""
        membership.associate(self.ctx, target, self._located(locations))
        return collection(membership.members(self.ctx, target), full=full)

    def replace_members(
        self, target: MixinCollection, locations: Locations, *, full: bool = True
    ) -> EntityCollection:
        """Make the entities at ``locations`` the Mixin's only members (PUT)."""
        membership.replace(self.ctx, target, self._located(locations))
        return collection(membership.members(self.ctx, target), full=full)

    def dissociate(
        self, target: MixinCollection, locations: Locations | None, *, full: bool = True
    ) -> EntityCollection:
        """Dissociate the Mixin from the entities at ``locations``, or from all (DELETE)."""
        entities = None if locations is None else self._located(locations)
        membership.dissociate(self.ctx, target, entities)
        return collection(membership.members(self.ctx, target), full=full)


__all__ = ["OcciService"]
