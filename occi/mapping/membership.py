"""User-defined Mixins (tags) and Mixin collections (GFD.221 §3.6, GFD.223 §3.6–3.7).

Defining (``POST /-/``): a client gives full Mixin renderings with a term, a
scheme outside ``http://schemas.ogf.org/occi/`` and a location (GFD.185;
occi.md §10 item 17: without a location it is 400, not erocci's 500), and no
attributes or actions: a user Mixin is a tag. A type identifier or location
the caller can already use is 409, and so is a location inside a Kind's
collection or one the server uses for something else, and so is a scheme
of Concord's own Mixins (tags keep their ``tags/`` schemes). ``applies`` may only
name Kinds; ``depends`` only the caller's other tags.

Removing (``DELETE /-/``): only user Mixins; a provider Category is 403
(GFD.185), an unknown one 404; every association goes with it.

Membership: a tag's members are what carries it; a provider Mixin's are the
entities whose rows imply it (an OS template's computes). Associating a
provider Mixin is a partial update of each entity that names it (so a
resource template resizes); replacing or dissociating provider Mixins is
403: their membership follows from the entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from engine.resources.tag_models import Tag
from occi.categories.placement import POLICIES
from occi.categories.templates import provider_scheme, tag_from_definition
from occi.categories.types import Kind, Mixin
from occi.mapping import filters, placement, templates, update
from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.group_mixins import GROUP_LOCATION
from occi.mapping.load import Loaded, load_all
from occi.mapping.paths import MixinCollection, UnboundCollection
from occi.mapping.render import mixins_of
from occi.model import CategoryDefinition, CategoryDefinitions

#: Where the schemes of Concord's own Mixins are (``<PROVIDER>/occi/<name>#``).
PROVIDER_BASE = provider_scheme(templates.PROVIDER, "").removesuffix("#")
#: Where the schemes Concord gives tenants' tags are (``templates.tag_scheme``).
TAGS_BASE = PROVIDER_BASE + "tags/"


def _check_location(ctx: OcciContext, location: str, reserved: frozenset[str]) -> None:
    if not location.startswith("/") or not location.endswith("/") or location == "/":
        raise InvalidInput(
            f"a Mixin's location is a path ending with '/', such as /my_stuff/, not "
            f"{location[:200]!r}",
            location=location[:200],
        )
    taken = ctx.registry.by_location(location)
    if taken is not None:
        raise AlreadyExists(f"{location} is already the location of {taken.type_id}")
    for kind in ctx.registry.kinds():
        if kind.location and location.startswith(kind.location):
            raise AlreadyExists(f"{location} is inside the collection of {kind.type_id}")
    # The collections of the groups' Mixins in Concord's scheme come and go
    # with the groups (occi.mapping.group_mixins): no tag may take one first.
    if any(location == r or location.startswith(r) for r in (*reserved, GROUP_LOCATION)):
        raise AlreadyExists(f"{location} is used by this server for something else")


def _check_scheme(scheme: str) -> None:
    # Concord's own Mixins (templates, zones, groups, placement, usage) are
    # in schemes under its provider base and come and go with engine rows:
    # a tag defined first in one of them would later hide the Mixin of a
    # zone or group of the same term. Tenants' tags keep the ``tags/``
    # schemes Concord gives them (tag_scheme) and any scheme of their own.
    if scheme.startswith(PROVIDER_BASE) and not scheme.startswith(TAGS_BASE):
        raise AlreadyExists(f"{scheme} is the scheme of this server's own Mixins")


def _check_definition(ctx: OcciContext, definition: CategoryDefinition) -> list[str]:
    """The engine kinds a definition applies to; refusals as documented above."""
    _check_scheme(definition.scheme)
    if definition.type_id in ctx.registry:
        raise AlreadyExists(f"a Category {definition.type_id} exists already")
    kinds = []
    for applies in definition.applies:
        kind = ctx.registry.get(applies)
        if not isinstance(kind, Kind):
            raise InvalidInput(f"a Mixin applies to Kinds; {applies} is not one here")
        kinds += [
            table.engine_kind.value for table in t.TABLES.values() if table.kind.is_a(applies)
        ]
    for depends in definition.depends:
        if ctx.tag(depends) is None and depends not in POLICIES:
            raise InvalidInput(
                f"a user Mixin depends only on the caller's other user Mixins, or on a "
                f"placement Mixin, not {depends}"
            )
    if placement.policy_of(definition.depends) is not None:
        # A placement group groups computes (occi.categories.placement).
        if set(kinds) - {"compute"}:
            raise InvalidInput("a placement group's Mixin applies to computes only")
        return ["compute"]
    return sorted(set(kinds))


def define(
    ctx: OcciContext, definitions: CategoryDefinitions, reserved: frozenset[str]
) -> CategoryDefinitions:
    """Define each Mixin of ``definitions`` as a tag; return their full renderings.

    :param reserved: path prefixes the server uses besides OCCI (other renderings).
    """
    if not definitions.categories:
        raise InvalidInput("give at least one Mixin to define (GFD.223 §3.7)")
    made: list[Mixin] = []
    for definition in definitions.categories:
        try:
            mixin = tag_from_definition(
                definition, provider=templates.PROVIDER, tenant=ctx.scope.account_id or "-"
            )
        except ValueError as exc:
            raise InvalidInput(f"{definition.type_id}: {exc}") from None
        _check_location(ctx, mixin.location, reserved)
        kinds = _check_definition(ctx, definition)
        policy = placement.policy_of(mixin.depends)
        if policy is not None:
            # The engine's group of that name, made now if the account has none.
            ctx.engine.placement_groups.ensure(ctx.scope, mixin.term, policy)
        ctx.tags.define(
            ctx.scope,
            namespace=mixin.scheme,
            name=mixin.term,
            path=mixin.location,
            title=mixin.title or None,
            extends=mixin.depends,
            kinds=kinds,
        )
        ctx.forget_registry()
        made.append(mixin)
    return CategoryDefinitions(tuple(m.definition() for m in made))


def undefine(ctx: OcciContext, definitions: CategoryDefinitions) -> None:
    """Delete each user Mixin of ``definitions`` with its associations."""
    if not definitions.categories:
        raise InvalidInput("give at least one Mixin to remove (GFD.223 §3.7)")
    for definition in definitions.categories:
        category = ctx.registry.get(definition.type_id)
        if category is None:
            raise NotFound(f"no Category {definition.type_id}")
        tag = ctx.tag(definition.type_id)
        if tag is None:
            raise PermissionDenied(
                f"{definition.type_id} is defined by the provider and cannot be removed"
            )
        made = ctx.group(definition.type_id)
        if made is not None:  # a group's Mixin in Concord's scheme: no tag, the group goes
            ctx.engine.placement_groups.delete(ctx.scope, made.name)  # 409 while it has guests
            ctx.forget_registry()
            continue
        group = placement.group_of(tag)
        if group is not None:  # 409 while it has guests: they cannot leave it
            ctx.engine.placement_groups.delete(ctx.scope, group[0])
        ctx.tags.delete(ctx.scope, tag.id)
        ctx.forget_registry()


def _carries(ctx: OcciContext, entity: Loaded, mixin: Mixin) -> bool:
    registry = ctx.registry
    for type_id in mixins_of(entity):
        if type_id == mixin.type_id:
            return True
        found = registry.get(type_id)
        if isinstance(found, Mixin) and filters.depends_on(registry, found, mixin.type_id):
            return True
    return False


def members(ctx: OcciContext, target: MixinCollection) -> list[Loaded]:
    """The entities associated with a Mixin (directly, or through a Mixin depending on it)."""
    return [e for e in load_all(ctx, target.tables) if _carries(ctx, e, target.mixin)]


def union(ctx: OcciContext, target: UnboundCollection, *, full: bool) -> list[Loaded]:
    """The members of every collection below an unbound path, each once."""
    found: dict[str, Loaded] = {}
    kinds = {table for kind in target.kinds for table in kind.tables}
    for entity in load_all(ctx, [table for table in target.tables if table in kinds], full=full):
        found.setdefault(entity.location, entity)
    for mixin in target.mixins:
        if set(mixin.tables) <= kinds:
            continue  # its members are entities of the Kinds above, listed already
        for entity in members(ctx, mixin):
            found.setdefault(entity.location, entity)
    return list(found.values())


def _tag_of(ctx: OcciContext, target: MixinCollection) -> Tag | None:
    return ctx.tag(target.mixin.type_id)


def _provider(target: MixinCollection, what: str) -> PermissionDenied:
    return PermissionDenied(
        f"the members of {target.mixin.type_id} follow from the entities themselves; "
        f"{what} each entity instead"
    )


def associate(ctx: OcciContext, target: MixinCollection, entities: Sequence[Loaded]) -> None:
    """Associate the collection's Mixin with ``entities`` (GFD.223 §3.7 POST)."""
    tag = _tag_of(ctx, target)
    for entity in entities:
        if tag is None:
            update.associate(ctx, target.mixin, entity)
        else:
            _check_applies(target, entity)
            placement.refuse_membership_change(tag, target.mixin.type_id)
            ctx.tags.assign(ctx.scope, tag, entity.table.engine_kind.value, entity.id)


def replace(ctx: OcciContext, target: MixinCollection, entities: Sequence[Loaded]) -> None:
    """Make ``entities`` the only members of the collection's tag (GFD.223 §3.7 PUT)."""
    tag = _tag_of(ctx, target)
    if tag is None:
        raise _provider(target, "update")
    placement.refuse_membership_change(tag, target.mixin.type_id)
    for entity in entities:
        _check_applies(target, entity)
    ctx.tags.replace_members(ctx.scope, tag, [(e.table.engine_kind.value, e.id) for e in entities])


def dissociate(
    ctx: OcciContext, target: MixinCollection, entities: Iterable[Loaded] | None
) -> None:
    """Take the collection's tag off ``entities``, or off every member (GFD.223 §3.7 DELETE)."""
    tag = _tag_of(ctx, target)
    if tag is None:
        raise _provider(target, "update")
    placement.refuse_membership_change(tag, target.mixin.type_id)
    if entities is None:
        ctx.tags.replace_members(ctx.scope, tag, [])
        return
    for entity in entities:
        ctx.tags.unassign(ctx.scope, tag, entity.id)


def _check_applies(target: MixinCollection, entity: Loaded) -> None:
    if entity.table not in target.tables:
        raise InvalidInput(
            f"{target.mixin.type_id} does not apply to {entity.location} (a {entity.table.term})"
        )


__all__ = ["associate", "define", "dissociate", "members", "replace", "undefine", "union"]
