"""What every CIMI resource binding shares: the context, the outcome, the base class.

A :class:`Binding` ties one CIMI type (``Machine``) to the engine: where its
collection is, how to fetch, list and render its engine objects, and which
engine call each CIMI operation makes. Rendering is declarative: the common
attributes of DSP0263 5.7.1 come from the engine columns of the same name,
then :attr:`Binding.fields` lists ``(attribute, getter)`` pairs in table
order, then ``operations``. Empty values are left out (5.5.15). The result is
the codecs' *neutral form*; no binding ever writes JSON or XML.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa

from cimi.errors import OperationNotSupported
from cimi.mapping.links import Links
from cimi.query.sql import Columns
from cimi.resources import ACTION_PREFIX, Table, collection_of, table
from engine.errors import InvalidInput, NotFound
from engine.resources.checks import check_whole_gib
from engine.scope import Scope

#: A getter: (engine object, context, the object's href) -> neutral value or None.
Getter = Callable[[Any, "Context", str], Any]

#: The edit of the common attributes every editable resource has (5.7.1).
COMMON_EDITS: Mapping[str, str] = MappingProxyType(
    {"name": "name", "description": "description", "properties": "properties"}
)
KIB_PER_MIB = 1024
KIB_PER_GIB = 1024 * 1024


def capacity_gib(capacity: int, field: str) -> int:
    """A ``capacity`` (KiB, DSP0263 5.15) as the whole GiB the engine allocates.

    A capacity that is not a whole number of GiB is refused (400) by the
    engine's shared check, as OCCI's ``occi.storage.size`` is, never rounded.

    :param field: where the capacity was, for the message (``volumeConfig.capacity``).
    :raises InvalidInput: not a multiple of 1048576 KiB.
    """
    return check_whole_gib(
        Fraction(capacity, KIB_PER_GIB), field, hint=f"a multiple of {KIB_PER_GIB} KiB"
    )


@dataclass
class Context:
    """One request's view of the engine.

    :param engine: the request's engine services (``request.engine``).
    :param scope: the caller.
    :param links: URLs below the base URI.
    :param memo: per-request caches of bindings (e.g. networks by id).
    """

    engine: Any
    scope: Scope
    links: Links
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What an operation did, for the view to answer with.

    :param resource: the engine object to represent (200 or 201), if any.
    :param binding: the binding that renders it (by default the acting one).
    :param job: the engine job doing the work: the answer is 202 with it.
    :param location: the href of the affected resource (``Location``).
    :param created: a new resource: 201 (or 202 with a job).
    """

    resource: Any = None
    binding: Binding | None = None
    job: Any = None
    location: str | None = None
    created: bool = False


@contextmanager
def body_references() -> Iterator[None]:
    """A NotFound raised while acting on a *found* target comes from a reference in
    the body (a template, a volume...): that is a 400, not a 404 (DESIGN.md)."""
    try:
        yield
    except NotFound as exc:
        raise InvalidInput(f"a resource named in the request body does not exist: {exc}") from None


def attr(name: str, scale: int = 1) -> Getter:
    """A getter reading the engine attribute *name* (multiplied by *scale*)."""
    if scale == 1:
        return lambda obj, ctx, href: getattr(obj, name)
    return lambda obj, ctx, href: None if getattr(obj, name) is None else getattr(obj, name) * scale


def sub(name: str) -> Getter:
    """A getter for a sub-collection reference: ``{"href": <href>/<name>}``."""
    return lambda obj, ctx, href: {"href": f"{href}/{name}"}


def const(value: Any) -> Getter:
    """A getter returning *value* for every object."""
    return lambda obj, ctx, href: value


def public_id(ctx: Context, model: type[Any], row_id: str | None) -> str | None:
    """The id a client knows the ``model`` row ``row_id`` by: the id its owner chose,
    else the row's (:mod:`engine.resources.ids`), so that a resource has one id in
    both renderings, whichever created it."""
    if row_id is None:
        return None
    row = ctx.engine.session.get(model, row_id)
    return str(getattr(row, "public_id", row_id)) if row is not None else str(row_id)


def ref(key: str, column: str, model: type[Any] | None = None) -> Getter:
    """A getter for a reference to ``<base><key>/<id>`` (None when unset).

    :param model: the referenced rows' model, whose ids a client may have
        chosen: the href then carries the :func:`public_id` of ``obj.column``.
    """

    def get(obj: Any, ctx: Context, href: str) -> Any:
        target = getattr(obj, column)
        if target and model is not None:
            target = public_id(ctx, model, target)
        return {"href": ctx.links.of(key, target)} if target else None

    return get


def operation(rel: str, href: str) -> dict[str, str]:
    """One entry of ``operations``: bare for add/edit/delete, else an action URI (4.2.1.5)."""
    return {"rel": rel if rel in ("add", "edit", "delete") else ACTION_PREFIX + rel, "href": href}


def pruned(value: Mapping[str, Any]) -> dict[str, Any]:
    """*value* without empty attributes: an empty string, map or array is absent (5.5.15)."""
    return {k: v for k, v in value.items() if v is not None and v != "" and v != [] and v != {}}


class ScopedListing(Protocol):
    """An engine service that lists and counts what a scope sees, filtered in SQL."""

    def list(self, scope: Scope, **query: Any) -> builtins.list[Any]: ...

    def count(self, scope: Scope, *, where: Any = None) -> int: ...

    def list_columns(self, scope: Scope, columns: Any, **query: Any) -> builtins.list[Any]: ...


class Binding:
    """The engine side of one CIMI type; subclasses fill in what the type supports.

    Class attributes: :attr:`type_name` (the CIMI type), :attr:`path` (the
    collection keys from the base URI: ``("machines",)``, or
    ``("machines", "volumes")`` for a Machine's MachineVolumeCollection),
    :attr:`fields` (the type-specific getters) and :attr:`edits` (CIMI
    attribute -> engine keyword of the update call).
    """

    type_name: ClassVar[str]
    path: ClassVar[tuple[str, ...]]
    fields: ClassVar[tuple[tuple[str, Getter], ...]] = ()
    edits: ClassVar[Mapping[str, str]] = {}
    #: Whether the common attributes come from the engine object (not for Jobs).
    common: ClassVar[bool] = True
    #: The mapped class whose rows :meth:`fetch_page` reads, for :attr:`needs`.
    model: ClassVar[Any] = None
    #: Attribute of the entries -> the model's columns its getter reads (besides
    #: the id): what a ``$select`` needs loaded (:meth:`row_columns`). An
    #: attribute missing here makes the page load whole rows.
    needs: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @property
    def table(self) -> Table:
        """The resource table."""
        return table(self.type_name)

    @property
    def collection_table(self) -> Table:
        """The Collection table."""
        return collection_of(self.type_name)

    # -- identity --------------------------------------------------------------

    def ids(self, ctx: Context, obj: Any) -> tuple[str, ...]:
        """The URL ids of *obj*: one per element of :attr:`path` (a resource's
        public id: the one its owner chose, if any)."""
        return (str(getattr(obj, "public_id", obj.id)),)

    def href(self, ctx: Context, obj: Any) -> str:
        """The ``id`` of *obj*."""
        return self.href_of(ctx, self.ids(ctx, obj))

    def href_of(self, ctx: Context, ids: tuple[str, ...]) -> str:
        """The URL of the resource with *ids*."""
        return ctx.links.of(*(part for pair in zip(self.path, ids, strict=True) for part in pair))

    def collection_href(self, ctx: Context, parent: tuple[str, ...]) -> str:
        """The URL of the Collection below the parent resource *parent* (ids)."""
        parts = [p for pair in zip(self.path, parent, strict=False) for p in pair]
        return ctx.links.of(*parts, self.path[-1])

    # -- reading ---------------------------------------------------------------

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Any:
        """The engine object with URL *ids*.

        :raises NotFound: none visible to the caller.
        """
        raise NotImplementedError

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        """Every engine object of the Collection below *parent* visible to the caller."""
        raise NotImplementedError

    def check_parent(self, ctx: Context, parent: tuple[str, ...]) -> None:
        """Raise NotFound when the parent resource of a sub-collection is not visible."""

    def columns(self, ctx: Context) -> Columns | None:
        """How the entries' attributes are computed in SQL, or None: queried in memory.

        A binding that returns a description also implements
        :meth:`fetch_page` and :meth:`count` (:mod:`cimi.mapping.queried`).
        """
        return None

    def fetch_page(
        self,
        ctx: Context,
        parent: tuple[str, ...],
        where: Any,
        order_by: builtins.list[Any],
        offset: int,
        limit: int | None,
        columns: builtins.list[Any] | None = None,
    ) -> builtins.list[Any]:
        """The objects of the Collection that satisfy *where*, sorted and paged in SQL.

        :param columns: read only these (:meth:`row_columns`): rows, not objects.
        """
        listing = self.listing(ctx)
        if columns is not None:
            return listing.list_columns(
                ctx.scope, columns, where=where, order_by=order_by, offset=offset, limit=limit
            )
        return listing.list(ctx.scope, where=where, order_by=order_by, offset=offset, limit=limit)

    def row_columns(self, attributes: frozenset[str]) -> builtins.list[Any] | None:
        """The columns that rendering *attributes* of an entry reads, or None: whole rows.

        Always the row's ``id`` and the ``public_id`` its href is built from
        (the id its owner chose, else the row's: as the model's property).
        """
        if self.model is None:
            return None
        rendered = {*_COMMON, *(name for name, _ in self.fields), "operations"}
        if any(name in rendered and name not in self.needs for name in attributes):
            return None  # a getter whose columns are not declared
        model = self.model
        # ``id`` and what this binding never renders need no column.
        names = {"id", *(column for name in attributes for column in self.needs.get(name, ()))}
        public = sa.func.coalesce(sa.func.nullif(model.chosen_id, ""), model.id)
        return [public.label("public_id"), *(getattr(model, name) for name in sorted(names))]

    def count(self, ctx: Context, parent: tuple[str, ...], where: Any) -> int:
        """How many objects of the Collection satisfy *where*."""
        return self.listing(ctx).count(ctx.scope, where=where)

    def listing(self, ctx: Context) -> ScopedListing:
        """The engine service that pages a top-level Collection in SQL.

        Bindings whose :meth:`columns` describe them override this, or
        :meth:`fetch_page` and :meth:`count` themselves.
        """
        raise NotImplementedError

    def prepare(
        self, ctx: Context, objs: builtins.list[Any], only: frozenset[str] | None = None
    ) -> None:
        """Load, in a few queries, what rendering *objs* needs (collections).

        :param only: the attributes that will be rendered (None: all).
        """

    def render(self, ctx: Context, obj: Any, only: frozenset[str] | None = None) -> dict[str, Any]:
        """The neutral form of *obj*: common attributes, :attr:`fields`, operations.

        :param only: render only these attributes besides ``id`` (a
            ``$select``): each as it would be in the whole form, in the same
            order, so that trimming the whole form gives the same entry.
        """
        href = self.href(ctx, obj)
        value: dict[str, Any] = {"id": href}
        if only is not None:
            if self.common:
                for name in _COMMON:
                    if name in only:
                        # Only ``updated`` may be missing (as below): a row that
                        # lacks another column is a bug of :attr:`needs`.
                        value[name] = (
                            getattr(obj, name, None) if name == "updated" else getattr(obj, name)
                        )
            for name, getter in self.fields:
                if name in only:
                    value[name] = getter(obj, ctx, href)
            if "operations" in only:
                value["operations"] = self.operations(ctx, obj, href)
            return pruned(value)
        if self.common:
            value.update(
                name=obj.name,
                description=obj.description,
                created=obj.created,
                updated=getattr(obj, "updated", None),
                properties=obj.properties,
            )
        for name, getter in self.fields:
            value[name] = getter(obj, ctx, href)
        value["operations"] = self.operations(ctx, obj, href)
        return pruned(value)

    def operations(self, ctx: Context, obj: Any, href: str) -> builtins.list[dict[str, str]]:
        """What the caller may do with *obj* now (4.2.1.5, 5.7.1)."""
        ops = []
        if self.edits and self.can_edit(ctx, obj):
            ops.append(operation("edit", href))
        if self.can_delete(ctx, obj):
            ops.append(operation("delete", href))
        ops.extend(operation(name, target) for name, target in self.actions_now(ctx, obj, href))
        return ops

    # -- writing (each refused unless a subclass supports it) ------------------

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        """Whether the Collection offers ``add`` to the caller."""
        return False

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        """Create a resource from a decoded ``<Type>Create`` body (4.2.1.1)."""
        raise OperationNotSupported(f"{self.type_name}s cannot be created here")

    def editable(self) -> set[str]:
        """The attributes :meth:`edit` can change."""
        return set(self.edits)

    def can_edit(self, ctx: Context, obj: Any) -> bool:
        """Whether ``edit`` is offered on *obj* (only for types with :attr:`edits`)."""
        return True

    def edit(self, ctx: Context, obj: Any, changes: dict[str, Any]) -> Outcome:
        """Apply *changes* (CIMI attribute -> new value, None to remove) (4.2.1.3)."""
        if not self.edits:
            raise OperationNotSupported(f"{self.type_name}s cannot be edited")
        kwargs = {self.edits[name]: _cleared(name, value) for name, value in changes.items()}
        return Outcome(self.update(ctx, obj, kwargs))

    def update(self, ctx: Context, obj: Any, kwargs: dict[str, Any]) -> Any:
        """Call the engine's update with *kwargs*; return the changed object."""
        raise OperationNotSupported(f"{self.type_name}s cannot be edited")

    def can_delete(self, ctx: Context, obj: Any) -> bool:
        """Whether ``delete`` is offered on *obj* now."""
        return False

    def delete(self, ctx: Context, obj: Any) -> Outcome:
        """Delete *obj* (4.2.1.4)."""
        raise OperationNotSupported(f"{self.type_name}s cannot be deleted")

    def actions_now(self, ctx: Context, obj: Any, href: str) -> builtins.list[tuple[str, str]]:
        """(CIMI action name, href to POST it to) offered on *obj* now."""
        return []

    def act(self, ctx: Context, obj: Any, name: str, action: dict[str, Any]) -> Outcome:
        """Run the action *name* with the decoded Action body (4.2.1.5)."""
        raise InvalidInput(f"{name!r} is not an operation of a {self.type_name}", field="action")


#: The common attributes (5.7.1) a resource renders from its engine object, in order.
_COMMON = ("name", "description", "created", "updated", "properties")
#: What the common attributes read: the column of the same name.
COMMON_NEEDS: Mapping[str, tuple[str, ...]] = MappingProxyType({n: (n,) for n in _COMMON})


def _cleared(name: str, value: Any) -> Any:
    """The engine value that removes attribute *name* (a PUT that omits it)."""
    if value is not None:
        return value
    return {} if name == "properties" else ("" if name == "name" else None)


__all__ = [
    "COMMON_EDITS",
    "COMMON_NEEDS",
    "KIB_PER_GIB",
    "KIB_PER_MIB",
    "Binding",
    "Context",
    "Getter",
    "Outcome",
    "attr",
    "body_references",
    "capacity_gib",
    "const",
    "operation",
    "pruned",
    "public_id",
    "ref",
    "sub",
]
