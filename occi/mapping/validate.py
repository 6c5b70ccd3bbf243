"""Checking a parsed entity against the categories before anything reaches the engine.

* The Kind must be the collection's (GFD.223 §3.7: creation is on the Kind's
  location), and a partial update may not change it (GFD.185).
* Every Mixin must be one the caller can use and must apply to the Kind; a
  Mixin associated "at a stage not supported" is a bad request (GFD.221
  §3.2.4, 400). At most one template per template parent (GFD.224 §3.5:
  a new template replaces the old one; CRTP R0302).
* Every attribute must be defined by the Kind or one of the Mixins, and is
  coerced by its definition (occi.md §10 items 8 and 9); ``occi.compute.speed``,
  removed in 1.2, is accepted and ignored (occi.md §10 item 22).
* At creation, required attributes must be present (occi.md §10 item 10).

Every refusal is an :class:`~engine.errors.InvalidInput` (400) naming the
category or attribute at fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.errors import InvalidInput
from occi.categories import infrastructure as infra
from occi.categories.registry import CategoryRegistry
from occi.categories.types import Attribute, Mixin
from occi.mapping.tables import KindTable
from occi.model import ID, AttributeValue

#: Attributes OCCI 1.1 clients send that 1.2 removed: accepted and ignored.
LEGACY = frozenset({"occi.compute.speed"})
#: The Mixins that templates depend on: choosing one means choosing a template of it.
TEMPLATE_PARENTS = frozenset({infra.OS_TPL.type_id, infra.RESOURCE_TPL.type_id})


@dataclass(frozen=True)
class Checked:
    """A request's Mixins and attribute values, resolved and coerced.

    :param mixins: the Mixins, as registered, in the request's order.
    :param values: the attributes the client gave (legacy ones dropped), coerced.
    :param definitions: the definition each name was checked against.
    """

    table: KindTable
    mixins: tuple[Mixin, ...]
    values: Mapping[str, AttributeValue]
    definitions: Mapping[str, Attribute]

    def mixin_ids(self) -> set[str]:
        """The type identifiers of :attr:`mixins`."""
        return {mixin.type_id for mixin in self.mixins}

    def templates(self, parent: Mixin) -> list[Mixin]:
        """The requested templates of ``parent`` (os_tpl or resource_tpl)."""
        return [m for m in self.mixins if parent.type_id in m.depends]


def check_kind(table: KindTable, kind: str | None, *, required: bool) -> None:
    """The rendering's Kind must be the table's (or absent, when not ``required``)."""
    if kind is None:
        if required:
            raise InvalidInput(
                f"the rendering needs the Kind {table.kind.type_id} (GFD.221: an entity is "
                "created with its Kind)",
                category=table.kind.type_id,
            )
        return
    if kind != table.kind.type_id:
        raise InvalidInput(
            f"this is a {table.term}: the Kind is {table.kind.type_id}, not {kind}",
            category=kind,
        )


def resolve_mixins(
    registry: CategoryRegistry, table: KindTable, type_ids: Iterable[str]
) -> tuple[Mixin, ...]:
    """The registered Mixins named by ``type_ids``, each applicable to the table's Kind."""
    found: list[Mixin] = []
    for type_id in dict.fromkeys(type_ids):
        mixin = registry.get(type_id)
        if not isinstance(mixin, Mixin):
            raise InvalidInput(f"{type_id} is not a Mixin this server offers", category=type_id)
        if mixin in found:
            continue  # named twice: once by its own type identifier, once by an alias
        if type_id in TEMPLATE_PARENTS:
            raise InvalidInput(
                f"{type_id} is the parent of the templates; choose one of them (a Mixin "
                f"that depends on it, see /-/)",
                category=type_id,
            )
        if mixin.applies and not any(table.kind.is_a(kind) for kind in mixin.applies):
            raise InvalidInput(
                f"{type_id} applies to {', '.join(mixin.applies)}, not to a {table.term} "
                "(GFD.221 §3.2.4)",
                category=type_id,
            )
        found.append(mixin)
    for parent in TEMPLATE_PARENTS:
        chosen = [m.type_id for m in found if parent in m.depends]
        if len(chosen) > 1:
            raise InvalidInput(
                f"one template of {parent} at a time, not {', '.join(chosen)}", category=parent
            )
    return tuple(found)


def definitions(table: KindTable, mixins: Iterable[Mixin]) -> dict[str, Attribute]:
    """Every attribute the Kind and the Mixins define, by name and by alias; the
    Kind's definition wins (a template only gives the Kind's attribute a default,
    GFD.221 §3.2.4)."""
    found: dict[str, Attribute] = {}
    for mixin in mixins:
        for attribute in mixin.attributes:
            for name in (attribute.name, *attribute.aliases):
                found.setdefault(name, attribute)
    found.update({attribute.name: attribute for attribute in table.kind.all_attributes()})
    return found


def check_attributes(
    table: KindTable, mixins: Iterable[Mixin], attributes: Mapping[str, AttributeValue]
) -> tuple[dict[str, AttributeValue], dict[str, Attribute]]:
    """The attributes coerced by their definitions, and those definitions.

    :raises InvalidInput: an attribute neither the Kind nor a Mixin defines,
        or a value its definition refuses.
    """
    known = definitions(table, mixins)
    values: dict[str, AttributeValue] = {}
    for name, value in attributes.items():
        if name in LEGACY:
            continue
        definition = known.get(name)
        if definition is None:
            raise InvalidInput(
                f"{name} is not an attribute of {table.kind.type_id} or of the entity's "
                "Mixins (see /-/)",
                attribute=name,
            )
        if definition.name in values:
            raise InvalidInput(
                f"{name} and {definition.name} are the same attribute: give it once",
                attribute=definition.name,
            )
        try:
            # An alias is stored under the attribute's own name (see Attribute.aliases).
            values[definition.name] = definition.coerce(value)
        except ValueError as exc:
            raise InvalidInput(str(exc), attribute=name) from None
    return values, known


def check(
    registry: CategoryRegistry,
    table: KindTable,
    *,
    kind: str | None,
    mixins: Iterable[str],
    attributes: Mapping[str, AttributeValue],
    kind_required: bool,
    extra_mixins: Iterable[str] = (),
) -> Checked:
    """Check a rendering's Kind, Mixins and attributes (see the module docstring).

    :param extra_mixins: Mixins the entity has already (a partial update may
        set their attributes without naming them again).
    """
    check_kind(table, kind, required=kind_required)
    resolved = resolve_mixins(registry, table, mixins)
    present = [registry.get(m) for m in extra_mixins if m not in {x.type_id for x in resolved}]
    context = [*resolved, *(m for m in present if isinstance(m, Mixin))]
    values, known = check_attributes(table, context, attributes)
    return Checked(table, resolved, values, known)


def check_required(checked: Checked) -> None:
    """At creation, every required attribute of the Kind and its Mixins is given.

    Templates give defaults, so what a template defines is never missing.
    """
    defaults = {
        a.name for mixin in checked.mixins for a in mixin.attributes if a.default is not None
    }
    for name, definition in checked.definitions.items():
        if name != definition.name:
            continue  # an alias: the attribute is checked under its own name
        if name == ID or not definition.required or not definition.mutable:
            continue
        if name in ("occi.core.source", "occi.core.target"):
            continue  # a link's endpoints are fields of the rendering, checked apart
        if name not in checked.values and name not in defaults:
            raise InvalidInput(
                f"{name} is required to create a {checked.table.term}", attribute=name
            )


__all__ = [
    "LEGACY",
    "TEMPLATE_PARENTS",
    "Checked",
    "check",
    "check_attributes",
    "check_kind",
    "check_required",
    "definitions",
    "resolve_mixins",
]


def same_value(current: AttributeValue | None, wanted: AttributeValue | None) -> bool:
    """Whether two attribute values are the same (numbers compare by value: 1 == 1.0)."""
    numbers = (int, float)
    if (
        isinstance(current, numbers)
        and isinstance(wanted, numbers)
        and not isinstance(current, bool)
        and not isinstance(wanted, bool)
    ):
        if isinstance(current, int) and isinstance(wanted, int):
            return current == wanted  # exact, and no float overflow for huge integers
        try:
            return abs(float(current) - float(wanted)) <= 1e-9 * max(1.0, abs(float(current)))
        except OverflowError:
            return False  # an integer past every float equals no (finite) float
    return current == wanted
