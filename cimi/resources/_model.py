"""The vocabulary of the field tables: :class:`Field`, :class:`Table` and their enums.

A table is pure data. The codecs (:mod:`cimi.codec`), the schema generator
(:mod:`cimi.schemagen`) and the query checks (:mod:`cimi.query`) all walk the
same tables, so no resource has hand-written serialisation code.

Wire rules encoded here (DSP0263 1.x and 2.0.0 5.4, 5.5):

* one name per attribute: the JSON key and the XML element name are the same
  word (5.4). Arrays add an *item* name for the XML element of each entry
  (5.5.11): ``operations`` -> ``<operation/>``, ``properties`` ->
  ``<property key=..>``, ``affectedResources`` -> ``<affectedResource/>``;
* arrays of structures, maps and Collection entries are written bare in XML,
  one element per entry, as CIMI 1.x does (``<operation/>*``,
  ``<property key=..>*``, ``<Machine>*`` under ``<Collection>``); DSP0263 2.0.0
  wraps them (``<operations><operation/>..</operations>``, 5.5.11), which
  :data:`cimi.resources._common.XML_WRAPPERS` selects; arrays of references are
  never wrapped (``<affectedResource href/>*``);
* the order of :attr:`Table.fields` is the XML element order (the XSD
  ``xs:sequence``); JSON key order is insignificant.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property

#: XML namespace Concord writes, and prefix of every type URI it emits. DSP0263
#: 2.0.0 moved to ``/cimi/2``, but every CIMI client in the field (Deltacloud's
#: tests, StratusLab's client, Sirocco) speaks ``/cimi/1`` (DSP0263 1.x §4.1.1),
#: so Concord emits that and accepts both (docs/cimi.rst).
NS = "http://schemas.dmtf.org/cimi/1"
#: The other CIMI namespace (2.0's); accepted on input, never emitted.
NS_ALT = "http://schemas.dmtf.org/cimi/2"
#: Prefix of the action URIs used as ``operations[].rel`` (DSP0263 2.0.0 5.13.1.2).
ACTION_PREFIX = NS + "/action/"
#: Prefix of capability URIs in ResourceMetadata (DSP0263 2.0.0 5.11.1).
CAPABILITY_PREFIX = NS + "/capability/"


def type_uri(name: str) -> str:
    """The type URI (``resourceURI``) of the type called *name*."""
    return f"{NS}/{name}"


class Kind(enum.Enum):
    """The data type of an attribute (DSP0263 2.0.0 5.5)."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"
    DURATION = "duration"
    URI = "URI"
    #: a string restricted to :attr:`Field.values`
    ENUM = "enum"
    #: ``{"href": ..}``, plus the target's attributes when given by value (5.5.6)
    REF = "ref"
    #: a reference to a Collection, ``collection[Type]``; expandable (5.5.12)
    COLLECTION = "collection"
    #: a nested attribute group described by :attr:`Field.table` (5.5.8)
    STRUCT = "structure"
    #: a whole resource embedded by value (Collection entries)
    RESOURCE = "resource"
    #: string -> string pairs, keys unique and case-sensitive (5.5.7)
    MAP = "map"

    @property
    def scalar(self) -> bool:
        """True for kinds whose value is one lexical token."""
        return self in SCALAR_KINDS

    @property
    def nested(self) -> bool:
        """True for kinds whose value is a mapping walked with another table."""
        return self in NESTED_KINDS


SCALAR_KINDS = frozenset(
    {Kind.STRING, Kind.INTEGER, Kind.BOOLEAN, Kind.DATETIME, Kind.DURATION, Kind.URI, Kind.ENUM}
)
NESTED_KINDS = frozenset({Kind.REF, Kind.COLLECTION, Kind.STRUCT, Kind.RESOURCE})
#: kinds whose JSON form is a string; an empty string means "absent" (5.5.5, 5.5.15)
STRING_KINDS = frozenset({Kind.STRING, Kind.URI, Kind.ENUM})


class Access(enum.Enum):
    """Who may write an attribute, and when (ResourceMetadata consumerWritable/mutable, 5.11)."""

    #: set by the provider; ignored in client bodies
    READ_ONLY = "read-only"
    #: written by the consumer at creation, immutable afterwards
    CREATE = "create"
    #: written by the consumer at creation and by edit (PUT)
    READ_WRITE = "read-write"


class Place(enum.Enum):
    """Where a scalar lives in XML."""

    #: a child element ``<name>value</name>``
    ELEMENT = "element"
    #: an attribute of the enclosing element (structures, 5.5.8)
    ATTRIBUTE = "attribute"
    #: the text content of the enclosing element (``<capability uri=..>value</capability>``)
    TEXT = "text"
    #: not serialised as itself: ``resourceURI`` is the JSON key and the XML root QName
    IMPLIED = "implied"


class Role(enum.Enum):
    """What a table describes."""

    #: an addressable resource with the common attributes (5.7)
    RESOURCE = "resource"
    #: a ``<Collection>`` wrapper (5.5.12)
    COLLECTION = "collection"
    #: a request body: ``Action`` or ``<Type>Create`` (5.5.12.1); no ``id``
    REQUEST = "request"
    #: an anonymous nested structure (5.5.8)
    STRUCTURE = "structure"


@dataclass(frozen=True)
class Field:
    """One attribute of a table.

    :param name: the JSON key and the XML element name (or XML attribute name).
    :param kind: the data type.
    :param access: who may write it and when.
    :param required: provider-mandatory: present in every full representation.
    :param create_required: consumer-mandatory when creating.
    :param many: an array of *kind* (5.5.11).
    :param item: XML element name of each array entry or map pair.
    :param wrapped: arrays only: whether XML wraps the entries in ``<name>``.
    :param target: REF: the referenced type (by-value and expansion);
        COLLECTION: the member type; None when not modelled.
    :param table: STRUCT and RESOURCE: the nested table.
    :param values: ENUM: the allowed values.
    :param minimum: INTEGER: the smallest allowed value.
    :param maximum: INTEGER: the largest allowed value.
    :param pattern: STRING: a regular expression the whole value must match;
        written in the common subset of Python, ECMA 262 and XSD syntax.
    :param place: where a scalar goes in XML.
    :param doc: a short description citing the DSP0263 clause.
    """

    name: str
    kind: Kind
    access: Access = Access.READ_ONLY
    required: bool = False
    create_required: bool = False
    many: bool = False
    item: str | None = None
    wrapped: bool = True
    target: str | None = None
    table: Table | None = None
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    place: Place = Place.ELEMENT
    doc: str = ""

    @property
    def xml_item(self) -> str:
        """The XML element name of one entry (arrays and maps), else the field name."""
        return self.item or self.name

    @property
    def consumer_writable(self) -> bool:
        """True when a client may set this attribute at creation."""
        return self.access is not Access.READ_ONLY

    @property
    def mutable(self) -> bool:
        """True when a client may change this attribute with edit."""
        return self.access is Access.READ_WRITE


@dataclass(frozen=True)
class Table:
    """An ordered field table: a resource, a Collection, a request or a structure.

    :param name: the type name: XML root element, Collection entry element,
        last segment of the type URI.
    :param fields: the attributes, in XML element order.
    :param role: what the table describes.
    :param uri: the type URI (``resourceURI``); None for structures.
    :param member: collections: the member type name.
    :param doc: a description citing the DSP0263 clause.
    """

    name: str
    fields: tuple[Field, ...]
    role: Role = Role.RESOURCE
    uri: str | None = None
    member: str | None = None
    doc: str = ""

    @cached_property
    def by_name(self) -> dict[str, Field]:
        """Fields by wire name."""
        return {f.name: f for f in self.fields}

    @property
    def xml_root(self) -> str:
        """The XML root element: ``Collection`` for every collection (5.5.12), else the name."""
        return "Collection" if self.role is Role.COLLECTION else self.name

    @cached_property
    def items_field(self) -> Field | None:
        """Collections: the array of entries (``machines``, ``volumeConfigurations``...)."""
        return next((f for f in self.fields if f.kind is Kind.RESOURCE and f.many), None)

    def get(self, name: str) -> Field | None:
        """The field called *name*, or None."""
        return self.by_name.get(name)
