"""Terse constructors for fields, plus the parts every table shares.

The resource modules read almost like the attribute tables of DSP0263: one
line per attribute, in XML order. The shared parts are here:

* the common attributes of 5.7.1 (``id, name, description, created, updated,
  parent, properties``) that open every resource, and ``operations`` that closes
  it (the 2.0.0 pseudo-schemas, e.g. 5.12 CloudEntryPoint);
* the Collection wrapper of 5.5.12 (``id, updated, parent, count``, the entries
  and ``operations``);
* the ``<Type>Create`` request of 5.5.12.1 (common writable attributes plus a
  template given by reference or by value).
"""

from __future__ import annotations

from typing import Any

from cimi.resources._model import Access, Field, Kind, Place, Role, Table, type_uri

RO = Access.READ_ONLY
CR = Access.CREATE
RW = Access.READ_WRITE

#: Whether XML wraps arrays of structures, maps and Collection entries in an
#: element named after the attribute. DSP0263 2.0.0 does (5.5.11, 5.5.12, and
#: every 2.0 pseudo-schema: ``<operations><operation/>..</operations>``); CIMI 1.x
#: did not (bare ``<operation/>*``, ``<property/>*``, ``<Machine/>*``). The
#: decoder accepts both forms whatever this says; it decides what Concord writes.
#: Concord writes the 1.x form, which the clients in the field parse (see NS).
XML_WRAPPERS = False


def string(name: str, access: Access = RO, **kw: Any) -> Field:
    """A ``string`` attribute (5.5.5)."""
    return Field(name, Kind.STRING, access, **kw)


def integer(name: str, access: Access = RO, **kw: Any) -> Field:
    """An ``integer`` attribute (5.5.4)."""
    return Field(name, Kind.INTEGER, access, **kw)


def boolean(name: str, access: Access = RO, **kw: Any) -> Field:
    """A ``boolean`` attribute (5.5.1)."""
    return Field(name, Kind.BOOLEAN, access, **kw)


def datetime(name: str, access: Access = RO, **kw: Any) -> Field:
    """A ``dateTime`` attribute (5.5.2)."""
    return Field(name, Kind.DATETIME, access, **kw)


def duration(name: str, access: Access = RO, **kw: Any) -> Field:
    """A ``duration`` attribute (5.5.3)."""
    return Field(name, Kind.DURATION, access, **kw)


def uri(name: str, access: Access = RO, **kw: Any) -> Field:
    """A ``URI`` attribute (5.5.10)."""
    return Field(name, Kind.URI, access, **kw)


def enum(name: str, values: tuple[str, ...], access: Access = RO, **kw: Any) -> Field:
    """A ``string`` attribute whose allowed values the spec enumerates."""
    return Field(name, Kind.ENUM, access, values=values, **kw)


def ref(name: str, target: str | None = None, access: Access = RO, **kw: Any) -> Field:
    """A ``ref`` attribute (5.5.6); *target* names the type given by value or expanded."""
    return Field(name, Kind.REF, access, target=target, **kw)


def refs(name: str, item: str, target: str | None = None, access: Access = RO) -> Field:
    """A ``ref[]`` attribute: in XML, unwrapped ``<item href=../>`` elements (5.5.11)."""
    return Field(name, Kind.REF, access, many=True, item=item, wrapped=False, target=target)


def collection(name: str, member: str | None, **kw: Any) -> Field:
    """A ``collection[Type]`` attribute: a reference to a Collection (5.5.12)."""
    return Field(name, Kind.COLLECTION, RO, target=member, **kw)


def structs(name: str, item: str, table: Table, access: Access = RO, **kw: Any) -> Field:
    """An array of structures: wrapped ``<name><item>..</item>*</name>`` in XML (5.5.11)."""
    return Field(
        name, Kind.STRUCT, access, many=True, item=item, wrapped=XML_WRAPPERS, table=table, **kw
    )


def structure(name: str, *fields: Field, doc: str = "") -> Table:
    """An anonymous nested structure (5.5.8)."""
    return Table(name, fields, Role.STRUCTURE, doc=doc)


#: ``operations``: what this requester may do now (4.2, 5.7.1); always provider-computed.
OPERATION = structure(
    "operation",
    uri("rel", RW, required=True, place=Place.ATTRIBUTE),
    uri("href", RW, required=True, place=Place.ATTRIBUTE),
    doc="An operation: its rel (bare for add/edit/delete, else an action URI) and href.",
)
OPERATIONS = structs("operations", "operation", OPERATION, doc="5.7.1 operations")

#: ``resourceURI``: JSON key; in XML the root QName, or the ``<Collection>`` attribute (5.4).
RESOURCE_URI = uri("resourceURI", place=Place.IMPLIED, doc="5.4 type URI of the representation")

#: ``properties``: consumer-only key/value pairs; providers never add to them (5.1, 5.7.1).
PROPERTIES = Field(
    "properties",
    Kind.MAP,
    RW,
    item="property",
    wrapped=XML_WRAPPERS,
    doc="5.1 consumer-side extensibility",
)


def common(*, parent: bool = True) -> tuple[Field, ...]:
    """The common attributes of 5.7.1, in the order of the 2.0.0 pseudo-schemas."""
    fields = [
        uri("id", required=True, doc="5.7.1 the resource's URI; provider-assigned"),
        string("name", RW, doc="5.7.1 human-readable name"),
        string("description", RW, doc="5.7.1 human-readable description"),
        datetime("created", doc="5.7.1 creation time"),
        datetime("updated", doc="5.7.1 time of the last change"),
    ]
    if parent:
        fields.append(uri("parent", doc="5.10.2 the parent component (2.0)"))
    fields.append(PROPERTIES)
    return tuple(fields)


def resource(name: str, *specific: Field, parent: bool = True, doc: str = "") -> Table:
    """A resource table: resourceURI, the common attributes, *specific*, then operations."""
    fields = (RESOURCE_URI, *common(parent=parent), *specific, OPERATIONS)
    return Table(name, fields, Role.RESOURCE, uri=type_uri(name), doc=doc)


def collection_table(member: Table, items: str) -> Table:
    """The Collection wrapper of *member*, whose JSON array (and XML wrapper) is *items*.

    DSP0263 2.0.0 5.5.12: ``id, updated?, parent?, count``, then the entries
    (``<items><Member>..</Member>*</items>`` in XML), then ``operations``.
    """
    name = member.name + "Collection"
    fields = (
        RESOURCE_URI,
        uri("id", required=True, doc="5.5.12 self-pointer"),
        datetime("updated"),
        uri("parent", doc="5.10.2 the resource owning this Collection"),
        integer("count", required=True, minimum=0, doc="5.5.12 number of items"),
        Field(
            items, Kind.RESOURCE, many=True, item=member.name, wrapped=XML_WRAPPERS, table=member
        ),
        OPERATIONS,
    )
    return Table(
        name,
        fields,
        Role.COLLECTION,
        uri=type_uri(name),
        member=member.name,
        doc=f"5.5.12 Collection of {member.name}",
    )


def create_request(member: str, template: str, template_type: str, *extra: Field) -> Table:
    """The ``<Member>Create`` body of 5.5.12.1: a template by reference or by value.

    :param extra: Concord's extension attributes (5.1 allows them), after the
        template.
    """
    name = member + "Create"
    fields = (
        RESOURCE_URI,
        string("name", CR),
        string("description", CR),
        PROPERTIES,
        ref(template, template_type, CR, create_required=True, doc="5.5.12.1 the template"),
        *extra,
    )
    return Table(name, fields, Role.REQUEST, uri=type_uri(name), doc=f"5.5.12.1 create {member}")
