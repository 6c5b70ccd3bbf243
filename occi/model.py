"""The neutral OCCI structures: what every parser produces and every renderer consumes.

One frozen dataclass per kind of OCCI document (GFD.229 §3.1 renderings, GFD.226 §3):

=====================  ===============================================  =====================
structure              OCCI document                                    used for
=====================  ===============================================  =====================
:class:`EntityRendering`  resource_rendering / JSON resource            create, update, GET
:class:`LinkRendering`    link_rendering / JSON link, and inline links  create, update, GET
:class:`EntityCollection` JSON ``{"resources": [], "links": []}``       listings, creation
:class:`Locations`        entity_collection_rendering (X-OCCI-Location)  listings, mixin members
:class:`ActionInvocation` action_definition / JSON action invocation    ``POST ?action=``
:class:`CategoryDefinitions` category_collection_rendering / JSON model  ``/-/`` GET, POST, DELETE
=====================  ===============================================  =====================

Conventions every parser and renderer keeps:

* Categories are referred to by *type identifier* (scheme and term concatenated,
  GFD.221 §3.2.1).
* Entity references (locations, link targets and sources) are paths such as
  ``/compute/1`` when they point into this server; renderers make them absolute
  with a base URL and parsers strip the base URL again (:func:`absolute`,
  :func:`relative`).
* ``occi.core.id``, ``occi.core.title`` and ``occi.core.summary`` live in
  ``attributes`` (GFD.229 §3.1.2 attribute mapping); a link's source and target
  are lifted into fields of :class:`LinkRendering` and never appear in its
  attributes.
* Attribute values are JSON values: str, int, float (finite), bool, list, dict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from types import MappingProxyType
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit

#: An attribute value (GFD.226 §3.3: Number, String, Boolean, Array, Object).
AttributeValue: TypeAlias = str | int | float | bool | list[Any] | dict[str, Any]
#: Attribute values keyed by their full dotted name (GFD.226 §3.3: no nesting).
Attributes: TypeAlias = Mapping[str, AttributeValue]

#: The attribute names a Link's endpoints map to (GFD.229 §3.1.2).
SOURCE = "occi.core.source"
TARGET = "occi.core.target"
SOURCE_KIND = "occi.core.source.kind"
TARGET_KIND = "occi.core.target.kind"
#: The Entity attribute names the JSON rendering also carries as members (GFD.226 §3.1).
ID = "occi.core.id"
TITLE = "occi.core.title"
SUMMARY = "occi.core.summary"

CATEGORY_CLASSES = ("kind", "mixin", "action")
#: GFD.229 §3.1: attribute-name = ( ALPHA | DIGIT ) *( ALPHA | DIGIT | "-" | "_" | "." ).
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_value(value: object, where: str = "value") -> None:
    """Check that ``value`` is a JSON value OCCI can carry (subclasses such as StrEnum too).

    :raises ValueError: for other types, non-finite floats and strings that
        cannot be encoded as UTF-8 (lone surrogates).
    """
    for cls in type(value).__mro__:
        check = _CHECKS.get(cls)
        if check is not None:
            check(value, where)
            return
    raise ValueError(f"{where}: {type(value).__name__} is not an OCCI attribute value")


def _check_float(value: Any, where: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{where}: {value!r} is not a finite number")


def _check_list(value: Any, where: str) -> None:
    for index, item in enumerate(value):
        check_value(item, f"{where}[{index}]")


def _check_dict(value: Any, where: str) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueError(f"{where}: object keys must be strings")
        _check_text(key, where)
        check_value(item, f"{where}.{key}")


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where}: not valid Unicode text ({exc.reason})") from None


#: Type -> check, looked up along the value's MRO (bool before int: bool is first in its MRO).
_CHECKS: dict[type, Callable[[Any, str], None]] = {
    bool: lambda value, where: None,
    int: lambda value, where: None,
    float: _check_float,
    str: _check_text,
    list: _check_list,
    dict: _check_dict,
}


def _freeze(attributes: Attributes) -> Mapping[str, AttributeValue]:
    for name, value in attributes.items():
        if not isinstance(name, str) or not ATTRIBUTE_NAME.fullmatch(name):
            raise ValueError(f"invalid attribute name {name!r} (GFD.229 attribute-name)")
        check_value(value, name)
    return MappingProxyType(dict(attributes))


def split_type_id(type_id: str) -> tuple[str, str]:
    """Split a type identifier into ``(scheme, term)``.

    GFD.221 §3.2.1 only says the two are concatenated; every OCCI scheme ends
    with ``#``, so the term is what follows the last ``#`` (or, failing that,
    the last ``/``).
    """
    for separator in ("#", "/"):
        scheme, found, term = type_id.rpartition(separator)
        if found and term:
            return scheme + found, term
    return "", type_id


def absolute(base_url: str | None, reference: str) -> str:
    """The absolute URL of an entity reference (GFD.229 §3: X-OCCI-Location, Link).

    Paths (``/compute/1``) are joined to ``base_url``; anything else, and
    everything when there is no base URL, is returned unchanged.
    """
    if base_url and reference.startswith("/") and not reference.startswith("//"):
        return base_url.rstrip("/") + reference
    return reference


def relative(base_url: str | None, reference: str) -> str:
    """The inverse of :func:`absolute`: a URL under ``base_url`` becomes a path.

    Scheme and host compare case-insensitively (RFC 3986 §6.2.2.1); a URL
    elsewhere is returned unchanged (a link target may be outside the
    provider, GFD.221 §3.4.2).
    """
    if not base_url or "://" not in reference:
        return reference
    try:
        base, url = urlsplit(base_url.rstrip("/")), urlsplit(reference)
    except ValueError:
        return reference
    if (base.scheme.lower(), base.netloc.lower()) != (url.scheme.lower(), url.netloc.lower()):
        return reference
    if url.path != base.path and not url.path.startswith(base.path + "/"):
        return reference
    path = url.path[len(base.path) :] or "/"
    return (
        path + (f"?{url.query}" if url.query else "") + (f"#{url.fragment}" if url.fragment else "")
    )


@dataclass(frozen=True)
class CategoryRef:
    """A short Category rendering: scheme, term and class (occi.md §10 item 24a)."""

    scheme: str
    term: str
    cls: str | None = None

    @property
    def type_id(self) -> str:
        """The type identifier (GFD.221 §3.2.1)."""
        return self.scheme + self.term

    @classmethod
    def from_type_id(cls, type_id: str, category_class: str | None = None) -> CategoryRef:
        """A reference built from a type identifier (see :func:`split_type_id`)."""
        scheme, term = split_type_id(type_id)
        return cls(scheme, term, category_class)


@dataclass(frozen=True)
class LinkRendering:
    """A Link instance (GFD.221 §3.4.2), on its own or inline in a resource.

    :param target: the target's location (a path here, or any URI elsewhere).
    :param kind: the Link's Kind (type identifier).
    :param mixins: type identifiers of its Mixins.
    :param attributes: every other attribute (``occi.core.id`` included).
    :param actions: type identifiers of the Actions currently applicable.
    :param location: the link's own location (the text rendering's ``self``).
    :param target_kind: the Kind of the target (``rel`` in text, ``target.kind`` in JSON).
    :param source: the source resource's location.
    :param source_kind: the Kind of the source.
    """

    target: str
    kind: str | None = None
    mixins: tuple[str, ...] = ()
    attributes: Attributes = field(default_factory=dict)
    actions: tuple[str, ...] = ()
    location: str | None = None
    target_kind: str | None = None
    source: str | None = None
    source_kind: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mixins", tuple(self.mixins))
        object.__setattr__(self, "actions", tuple(self.actions))
        object.__setattr__(self, "attributes", _freeze(self.attributes))
        lifted = {SOURCE, TARGET, SOURCE_KIND, TARGET_KIND} & set(self.attributes)
        if lifted:
            raise ValueError(f"link endpoints belong in fields, not attributes: {sorted(lifted)}")


@dataclass(frozen=True)
class EntityRendering:
    """A Resource instance (GFD.221 §3.4.1) with its links and applicable actions.

    :param kind: the Kind's type identifier; None in a partial update.
    :param mixins: type identifiers of its Mixins.
    :param attributes: its attribute values, ``occi.core.*`` included.
    :param links: its outgoing links (GFD.223 §3.7: all MUST be rendered).
    :param actions: type identifiers of the Actions currently applicable.
    :param location: its path; text renderings of collections list it.
    """

    kind: str | None = None
    mixins: tuple[str, ...] = ()
    attributes: Attributes = field(default_factory=dict)
    links: tuple[LinkRendering, ...] = ()
    actions: tuple[str, ...] = ()
    location: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mixins", tuple(self.mixins))
        object.__setattr__(self, "actions", tuple(self.actions))
        object.__setattr__(self, "links", tuple(self.links))
        object.__setattr__(self, "attributes", _freeze(self.attributes))
        lifted = {SOURCE, TARGET, SOURCE_KIND, TARGET_KIND} & set(self.attributes)
        if lifted:
            raise ValueError(f"a resource has no source or target: {sorted(lifted)}")


#: Any single entity.
Entity: TypeAlias = EntityRendering | LinkRendering

_E = TypeVar("_E", EntityRendering, LinkRendering)


def trusted(cls: type[_E], **values: Any) -> _E:
    """An entity the server built from its own rows, made without re-checking its values.

    The constructor checks every attribute name and value (GFD.229
    attribute-name, Unicode text, finite numbers): right for what a client
    sent, wasted on what the engine already holds, 1,000 times over in a
    listing (issue 15). The result equals the constructor's for every value
    the constructor accepts (tests/unit/occi/test_occi_trusted_model.py).
    Only :mod:`occi.mapping.render` calls this; parsers use the constructor.
    """
    entity = object.__new__(cls)
    for spec in _fields(cls):
        if spec.name in values:
            value = values[spec.name]
        elif spec.default is not MISSING:
            value = spec.default
        else:
            value = spec.default_factory()
        object.__setattr__(entity, spec.name, value)
    for name in ("mixins", "actions", "links"):
        if hasattr(entity, name):
            object.__setattr__(entity, name, tuple(getattr(entity, name)))
    object.__setattr__(entity, "attributes", MappingProxyType(dict(entity.attributes)))
    return entity


_FIELDS: dict[type, tuple[Any, ...]] = {}


def _fields(cls: type) -> tuple[Any, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = fields(cls)
    return found


@dataclass(frozen=True)
class EntityCollection:
    """A collection of entities (GFD.226 §3.4): resources and links."""

    resources: tuple[EntityRendering, ...] = ()
    links: tuple[LinkRendering, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "resources", tuple(self.resources))
        object.__setattr__(self, "links", tuple(self.links))

    @property
    def entities(self) -> tuple[Entity, ...]:
        """Resources then links."""
        return (*self.resources, *self.links)

    @classmethod
    def of(cls, entities: Iterable[Entity]) -> EntityCollection:
        """A collection of ``entities``, resources and links sorted apart (in order)."""
        items = tuple(entities)
        return cls(
            resources=tuple(e for e in items if isinstance(e, EntityRendering)),
            links=tuple(e for e in items if isinstance(e, LinkRendering)),
        )


@dataclass(frozen=True)
class Locations:
    """A list of entity locations (GFD.229 entity_collection_rendering, text/uri-list)."""

    locations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "locations", tuple(self.locations))


@dataclass(frozen=True)
class ActionInvocation:
    """An action invocation (GFD.229 action_definition, GFD.226 §3.2).

    :param action: the Action's type identifier.
    :param attributes: the action's parameters, e.g. ``{"method": "graceful"}``.
    """

    action: str
    attributes: Attributes = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", _freeze(self.attributes))


@dataclass(frozen=True)
class AttributeDefinition:
    """An attribute description (GFD.221 §3.2.2; GFD.226 §4.4; GFD.229 attribute-def).

    The text rendering carries only ``name`` and the two flags; ``type`` is
    None when the rendering did not say.
    """

    name: str
    type: str | None = None
    mutable: bool = True
    required: bool = False
    default: AttributeValue | None = None
    pattern: Mapping[str, Any] | str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if self.default is not None:
            check_value(self.default, f"{self.name} default")
        if isinstance(self.pattern, Mapping):
            check_value(dict(self.pattern), f"{self.name} pattern")
            object.__setattr__(self, "pattern", MappingProxyType(dict(self.pattern)))


@dataclass(frozen=True)
class CategoryDefinition:
    """A full Category rendering: a Kind, Mixin or Action (GFD.229 Category, GFD.226 §4).

    :param cls: ``kind``, ``mixin`` or ``action``.
    :param parent: a Kind's parent (type identifier).
    :param depends: a Mixin's dependencies (type identifiers).
    :param applies: the Kinds a Mixin applies to (JSON only; text cannot carry it).
    :param location: the path of the Kind's or Mixin's collection.
    :param actions: type identifiers of the Actions a Kind or Mixin defines.
    """

    term: str
    scheme: str
    cls: str
    title: str | None = None
    parent: str | None = None
    depends: tuple[str, ...] = ()
    applies: tuple[str, ...] = ()
    location: str | None = None
    attributes: tuple[AttributeDefinition, ...] = ()
    actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.cls not in CATEGORY_CLASSES:
            raise ValueError(f"category class must be one of {CATEGORY_CLASSES}: {self.cls!r}")
        for name in ("depends", "applies", "attributes", "actions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def type_id(self) -> str:
        """The type identifier (GFD.221 §3.2.1)."""
        return self.scheme + self.term


@dataclass(frozen=True)
class CategoryDefinitions:
    """A category collection: the query interface's content (GFD.223 §3.4.1)."""

    categories: tuple[CategoryDefinition, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(self.categories))
