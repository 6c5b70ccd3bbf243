"""The OCCI category model: Kinds, Mixins, Actions and their Attributes (GFD.221 §3.2).

These are the declarative tables that drive every OCCI parser and renderer;
renderings never hard-code a category. Each category converts itself into the
neutral :class:`occi.model.CategoryDefinition` the renderers consume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import singledispatch
from typing import Any, ClassVar

from occi.categories.values import coerce
from occi.model import AttributeDefinition, AttributeValue, CategoryDefinition, check_value

#: GFD.229 §3.1 term = ( ALPHA | DIGIT ) *( ALPHA | DIGIT | "-" | "_" | "." ).
TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: GFD.229 §3.1 attribute-name, the same characters as a term.
ATTRIBUTE_NAME = TERM
#: The JSON Schema dialect attribute patterns declare (GFD.226 §4.4 RECOMMENDS ``$schema``).
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class AttributeType(StrEnum):
    """Concord's attribute types, richer than any one rendering (occi.md §10 item 9).

    Core 1.2 has Object/List/Hash, JSON string/number/boolean/array/object and
    Infrastructure Integer/Float/Enum/String/IP; each rendering maps these.
    """

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    ENUM = "enum"
    URI = "uri"
    IP = "ip"
    CIDR = "cidr"
    LIST = "list"
    HASH = "hash"

    @property
    def json_type(self) -> str:
        """The GFD.226 §4.4 ``type``: string, number, boolean, array or object."""
        return _JSON_TYPES.get(self, "string")


_JSON_TYPES = {
    AttributeType.INTEGER: "number",
    AttributeType.FLOAT: "number",
    AttributeType.BOOLEAN: "boolean",
    AttributeType.LIST: "array",
    AttributeType.HASH: "object",
}


@dataclass(frozen=True)
class Attribute:
    """An attribute definition (GFD.221 §3.2.2, "Attribute").

    :param name: the dotted attribute name, e.g. ``occi.core.title``.
    :param type: Concord's type; :attr:`AttributeType.json_type` is the JSON one.
    :param mutable: whether a client may change it.
    :param required: whether a client must supply it at creation.
    :param default: the value used when the client supplies none.
    :param description: a sentence for humans.
    :param enum: the allowed values of an ``ENUM`` attribute.
    :param pattern: a POSIX ERE every string value matches (GFD.229 §3.1.1);
        derived from ``enum`` when not given.
    :param minimum: the lowest allowed number, if bounded.
    :param maximum: the highest allowed number, if bounded.
    :param unit: the unit of a number, e.g. ``GiB`` (GFD.224's "10^9 (GiB)").
    :param aliases: other names clients send for this attribute, read as this
        one and never rendered (docs/occi.rst, "Robustness choices").
    """

    name: str
    type: AttributeType = AttributeType.STRING
    mutable: bool = True
    required: bool = False
    default: AttributeValue | None = None
    description: str = ""
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    unit: str | None = None
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (self.name, *self.aliases):
            if not ATTRIBUTE_NAME.fullmatch(name):
                raise ValueError(f"invalid attribute name {name!r} (GFD.229 attribute-name)")
        if self.default is not None:
            check_value(self.default, f"{self.name} default")
        object.__setattr__(self, "enum", tuple(self.enum))
        object.__setattr__(self, "aliases", tuple(self.aliases))

    @property
    def value_pattern(self) -> str | None:
        """The ERE values must match: the explicit pattern, else one built from ``enum``."""
        if self.pattern is not None:
            return self.pattern
        if self.enum:
            return "^(" + "|".join(re.escape(value) for value in self.enum) + ")$"
        return None

    def json_pattern(self) -> dict[str, Any] | None:
        """The GFD.226 §4.4 ``pattern``: a JSON Schema object describing valid values."""
        schema: dict[str, Any] = {}
        if self.enum:
            schema["enum"] = list(self.enum)
        elif self.pattern is not None:
            schema["pattern"] = self.pattern
        elif self.type is AttributeType.IP:
            schema["anyOf"] = [{"format": "ipv4"}, {"format": "ipv6"}]
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if not schema:
            return None
        json_type = "integer" if self.type is AttributeType.INTEGER else self.type.json_type
        return {"$schema": JSON_SCHEMA_DIALECT, "type": json_type, **schema}

    def definition(self) -> AttributeDefinition:
        """The neutral attribute description the renderers consume."""
        return AttributeDefinition(
            name=self.name,
            type=self.type.json_type,
            mutable=self.mutable,
            required=self.required,
            default=self.default,
            pattern=self.json_pattern(),
            description=self.description or None,
        )

    def coerce(self, value: object) -> AttributeValue:
        """``value`` converted to this attribute's type, leniently (occi.md §10 item 8).

        :raises ValueError: with a message fit for a 400 response.
        """
        return coerce(self, value)


@dataclass(frozen=True)
class Category:
    """What Kinds, Mixins and Actions share: a term in a scheme (GFD.221 §3.2.1)."""

    category_class: ClassVar[str] = "category"

    term: str
    scheme: str
    title: str = ""
    attributes: tuple[Attribute, ...] = ()

    def __post_init__(self) -> None:
        if not TERM.fullmatch(self.term):
            raise ValueError(f"invalid term {self.term!r} (GFD.229 term)")
        if not self.scheme or any(c.isspace() for c in self.scheme):
            raise ValueError(f"invalid scheme {self.scheme!r}")
        object.__setattr__(self, "attributes", tuple(self.attributes))

    @property
    def type_id(self) -> str:
        """The type identifier: scheme and term concatenated."""
        return f"{self.scheme}{self.term}"

    def rendered_attributes(self) -> tuple[Attribute, ...]:
        """The attributes a full rendering lists."""
        return self.attributes

    def attribute(self, name: str) -> Attribute | None:
        """The definition of attribute ``name`` among :meth:`rendered_attributes`."""
        return next((a for a in self.rendered_attributes() if a.name == name), None)

    def definition(self) -> CategoryDefinition:
        """The neutral full rendering of this category (GFD.229 Category, GFD.226 §4)."""
        return CategoryDefinition(
            term=self.term,
            scheme=self.scheme,
            cls=self.category_class,
            title=self.title or None,
            attributes=tuple(a.definition() for a in self.rendered_attributes()),
        )


@dataclass(frozen=True)
class Action(Category):
    """An invocable operation bound to one Kind or Mixin (GFD.221 §3.2.5)."""

    category_class: ClassVar[str] = "action"


@dataclass(frozen=True)
class Kind(Category):
    """The type of an Entity sub-type (GFD.221 §3.2.3).

    :param parent: the Kind this Kind inherits from (None for Entity only).
    :param location: the path of its collection; None for non-instantiable
        Kinds (GFD.223 §3.1: Entity MUST NOT be bound to a path).
    """

    parent: Kind | None = None
    actions: tuple[Action, ...] = ()
    location: str | None = None
    category_class: ClassVar[str] = "kind"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "actions", tuple(self.actions))

    def all_attributes(self) -> tuple[Attribute, ...]:
        """This Kind's attributes after its ancestors' (a child inherits its parent's)."""
        inherited = self.parent.all_attributes() if self.parent else ()
        return inherited + self.attributes

    def rendered_attributes(self) -> tuple[Attribute, ...]:
        """A Kind lists inherited attributes too (GFD.221 §3.2.3: it MUST expose them)."""
        return self.all_attributes()

    def is_a(self, type_id: str) -> bool:
        """Whether this Kind is ``type_id`` or descends from it."""
        kind: Kind | None = self
        while kind is not None:
            if kind.type_id == type_id:
                return True
            kind = kind.parent
        return False

    def definition(self) -> CategoryDefinition:
        """The neutral full rendering, with ``parent``, ``location`` and ``actions``."""
        return replace(
            super().definition(),
            parent=self.parent.type_id if self.parent else None,
            location=self.location,
            actions=tuple(a.type_id for a in self.actions),
        )


@dataclass(frozen=True)
class Mixin(Category):
    """A Mixin: extra type information, a tag or a template (GFD.221 §3.2.4).

    :param depends: type identifiers of the Mixins it depends on.
    :param applies: type identifiers of the Kinds it applies to (empty: any).
    :param location: the path of its collection (GFD.226 §4.2: MUST be given).
    :param aliases: other type identifiers clients send for this Mixin, read as
        this one and never rendered (the registry resolves them).
    """

    depends: tuple[str, ...] = ()
    applies: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    location: str = ""
    aliases: tuple[str, ...] = ()
    category_class: ClassVar[str] = "mixin"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("depends", "applies", "actions", "aliases"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def definition(self) -> CategoryDefinition:
        """The neutral full rendering, with ``depends``, ``applies``, ``location``, ``actions``."""
        return replace(
            super().definition(),
            depends=self.depends,
            applies=self.applies,
            location=self.location or None,
            actions=tuple(a.type_id for a in self.actions),
        )


@singledispatch
def as_definition(category: object) -> CategoryDefinition:
    """The neutral definition of a registry category, or a definition unchanged."""
    raise TypeError(f"not a category: {type(category).__name__}")


@as_definition.register
def _(category: Category) -> CategoryDefinition:
    return category.definition()


@as_definition.register
def _(category: CategoryDefinition) -> CategoryDefinition:
    return category
