"""The XSD of the CIMI XML serialisation, generated from the tables.

``cimi.xsd`` declares every complex type and a global element for each resource
and request type. A document may have only one global ``Collection`` element,
yet each Collection has its own content (5.5.12), so each Collection gets a
small schema of its own (``MachineCollection.xsd``) that includes ``cimi.xsd``
and declares ``<Collection>`` with that Collection's type.

Types: ``T`` is the full type (required elements present);
``TRef`` is a reference to a ``T``: an optional ``href`` attribute and, by
value or expanded, any of T's elements (5.5.6); ``Ref`` is a reference to a
type Concord does not model. Every sequence ends with ``xs:any
namespace="##other"``: the extension point of 2.0.0 ``<xs:any>*``, restricted
to other namespaces so that the content model stays deterministic.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from cimi.codec.scalars import INT_MAX, INT_MIN
from cimi.resources import NS, TABLES, Field, Kind, Place, Role, Table, collection_of
from cimi.schemagen.jsonschema import required_fields

XS = "http://www.w3.org/2001/XMLSchema"
MAIN = "cimi.xsd"

_DATETIME_PATTERN = r".+T.+(Z|[+\-][0-9]{2}:[0-9]{2})"


def _xs(tag: str, parent: etree._Element | None = None, **attrib: str) -> etree._Element:
    name = f"{{{XS}}}{tag}"
    if parent is None:
        nsmap: Any = {"xs": XS, None: NS, "cimi": NS}  # lxml-stubs want str keys
        return etree.Element(name, attrib, nsmap=nsmap)
    return etree.SubElement(parent, name, attrib)


def _schema() -> etree._Element:
    return _xs(
        "schema",
        targetNamespace=NS,
        elementFormDefault="qualified",
        attributeFormDefault="unqualified",
        version="1.1.0",
    )


def _restriction(parent: etree._Element, base: str) -> etree._Element:
    return _xs("restriction", _xs("simpleType", parent), base=base)


def _simple_types(schema: etree._Element) -> None:
    dt = _xs("restriction", _xs("simpleType", schema, name="dateTime"), base="xs:dateTime")
    _xs("pattern", dt, value=_DATETIME_PATTERN)  # 5.5.2: a zone is mandatory
    boolean = _xs("restriction", _xs("simpleType", schema, name="boolean"), base="xs:boolean")
    _xs("pattern", boolean, value="true|false")  # 5.5.1: only true and false
    uri = _xs("restriction", _xs("simpleType", schema, name="uri"), base="xs:anyURI")
    _xs("pattern", uri, value=r"[^\s]+")
    nonempty = _xs("restriction", _xs("simpleType", schema, name="key"), base="xs:string")
    _xs("minLength", nonempty, value="1")


def _scalar_type(element: etree._Element, field: Field) -> None:
    """Give *element* (an xs:element or xs:attribute) the type of a scalar field."""
    kind = field.kind
    if kind is Kind.INTEGER:
        restriction = _restriction(element, "xs:integer")
        low = INT_MIN if field.minimum is None else field.minimum
        high = INT_MAX if field.maximum is None else field.maximum
        _xs("minInclusive", restriction, value=str(low))
        _xs("maxInclusive", restriction, value=str(high))
    elif kind is Kind.ENUM:
        restriction = _restriction(element, "xs:token")
        for value in field.values:
            _xs("enumeration", restriction, value=value)
    elif kind is Kind.STRING and field.pattern:
        _xs("pattern", _restriction(element, "xs:string"), value=field.pattern)
    else:
        names = {
            Kind.STRING: "xs:string",
            Kind.BOOLEAN: "cimi:boolean",
            Kind.DATETIME: "cimi:dateTime",
            Kind.DURATION: "xs:duration",
            Kind.URI: "cimi:uri",
        }
        element.set("type", names[kind])


def _struct_type(table: Table) -> str:
    return f"{table.name}Structure"


def _ref_type(field: Field) -> str:
    if field.target is None:
        return "cimi:Ref"
    if field.kind is Kind.COLLECTION:
        return f"cimi:{collection_of(field.target).name}Ref"
    return f"cimi:{field.target}Ref"


def _particle(sequence: etree._Element, field: Field, required: bool, owner: str) -> None:
    occurs = {} if required else {"minOccurs": "0"}
    kind = field.kind
    if kind is Kind.MAP and field.wrapped:
        wrapper = _xs("element", sequence, name=field.name, type="cimi:Properties", **occurs)
        unique = _xs("unique", wrapper, name=f"{owner}.{field.name}.uniqueKey")
        _xs("selector", unique, xpath=f"cimi:{field.xml_item}")
        _xs("field", unique, xpath="@key")
        return
    if kind is Kind.MAP:  # bare <property key=..>..</property>* (CIMI 1.x); see _unique_keys
        _xs("element", sequence, name=field.xml_item, type="cimi:Property", minOccurs="0",
            maxOccurs="unbounded")  # fmt: skip
        return
    if field.many and field.wrapped:
        wrapper = _xs("element", sequence, name=field.name, **occurs)
        inner = _xs("sequence", _xs("complexType", wrapper))
        _item(inner, field, field.xml_item, {"maxOccurs": "unbounded"})
    elif field.many:
        _item(sequence, field, field.xml_item, {"maxOccurs": "unbounded", "minOccurs": "0"})
    else:
        _item(sequence, field, field.name, occurs)


def _unique_keys(element: etree._Element, table: Table, owner: str) -> None:
    """Map keys are unique (5.5.7): for bare ``<property key=..>*`` the constraint sits
    on the element declaration of the owning resource (XSD identity constraints
    belong to elements, not to types)."""
    for field in table.fields:
        if field.kind is Kind.MAP and not field.wrapped and field.place is Place.ELEMENT:
            unique = _xs("unique", element, name=f"{owner}.{field.name}.uniqueKey")
            _xs("selector", unique, xpath=f"cimi:{field.xml_item}")
            _xs("field", unique, xpath="@key")


def _item(parent: etree._Element, field: Field, name: str, occurs: dict[str, str]) -> None:
    kind = field.kind
    element = _xs("element", parent, name=name, **occurs)
    if kind.scalar:
        _scalar_type(element, field)
    elif kind is Kind.STRUCT:
        assert field.table is not None  # noqa: S101 (a table invariant)
        element.set("type", "cimi:" + _struct_type(field.table))
    elif kind is Kind.RESOURCE:
        assert field.table is not None  # noqa: S101 (a table invariant)
        element.set("type", "cimi:" + field.table.name)
        owner = parent.getparent()  # the complexType holding this sequence
        _unique_keys(
            element, field.table, f"{owner.get('name') if owner is not None else ''}.{name}"
        )
    else:
        element.set("type", _ref_type(field))


def _extension_point(sequence: etree._Element) -> None:
    _xs(
        "any",
        sequence,
        namespace="##other",
        processContents="lax",
        minOccurs="0",
        maxOccurs="unbounded",
    )


def _attributes(owner: etree._Element, table: Table, *, all_optional: bool) -> None:
    for field in table.fields:
        if field.place is Place.ATTRIBUTE:
            attribute = _xs("attribute", owner, name=field.name)
            if field.required and not all_optional:
                attribute.set("use", "required")
            _scalar_type(attribute, field)


def _complex_type(schema: etree._Element, name: str, table: Table, *, as_ref: bool = False) -> None:
    complex_type = _xs("complexType", schema, name=name)
    if table.doc:
        _xs("documentation", _xs("annotation", complex_type)).text = table.doc
    text = next((f for f in table.fields if f.place is Place.TEXT), None)
    if text is not None:  # simple content with attributes: <capability uri=..>value</capability>
        extension = _xs("extension", _xs("simpleContent", complex_type), base="xs:string")
        _attributes(extension, table, all_optional=as_ref)
        return
    sequence = _xs("sequence", complex_type)
    required = set() if as_ref else set(required_fields(table))
    for field in table.fields:
        if field.place is Place.ELEMENT:
            _particle(sequence, field, field.name in required, name)
    _extension_point(sequence)
    _attributes(complex_type, table, all_optional=as_ref)
    if as_ref:
        _xs("attribute", complex_type, name="href", type="cimi:uri")
    if table.role is not Role.STRUCTURE:
        use = "required" if table.role is Role.COLLECTION and not as_ref else "optional"
        _xs("attribute", complex_type, name="resourceURI", type="cimi:uri", use=use)
    _xs("anyAttribute", complex_type, namespace="##other", processContents="lax")


def _structures() -> dict[int, Table]:
    found: dict[int, Table] = {}
    pending = list(TABLES.values())
    while pending:
        table = pending.pop()
        for field in table.fields:
            nested = field.table
            if field.kind is Kind.STRUCT and nested is not None and id(nested) not in found:
                found[id(nested)] = nested
                pending.append(nested)
    return found


def _fixed_types(schema: etree._Element) -> None:
    ref = _xs("complexType", schema, name="Ref")
    _extension_point(_xs("sequence", ref))
    _xs("attribute", ref, name="href", type="cimi:uri")
    _xs("anyAttribute", ref, namespace="##other", processContents="lax")
    prop = _xs("complexType", schema, name="Property")
    extension = _xs("extension", _xs("simpleContent", prop), base="xs:string")
    _xs("attribute", extension, name="key", type="cimi:key", use="required")
    properties = _xs("sequence", _xs("complexType", schema, name="Properties"))
    _xs("element", properties, name="property", type="cimi:Property", minOccurs="0",
        maxOccurs="unbounded")  # fmt: skip


def main_schema() -> etree._Element:
    """The ``cimi.xsd`` tree: every type, and a global element per resource and request."""
    schema = _schema()
    _xs("documentation", _xs("annotation", schema)).text = (
        "CIMI XML serialisation, 1.x wire form (DSP0263 1.x/2.0.0 attributes), as served "
        "by Concord. "
        "Generated from cimi/resources by cimi.schemagen; do not edit."
    )
    _simple_types(schema)
    _fixed_types(schema)
    for table in sorted(_structures().values(), key=lambda t: t.name):
        _complex_type(schema, _struct_type(table), table)
    for table in TABLES.values():
        _complex_type(schema, table.name, table)
        _complex_type(schema, table.name + "Ref", table, as_ref=True)
    for table in TABLES.values():
        if table.role is not Role.COLLECTION:
            element = _xs("element", schema, name=table.name, type="cimi:" + table.name)
            _unique_keys(element, table, table.name)
    return schema


def collection_schema(table: Table) -> etree._Element:
    """The schema of one Collection type: ``cimi.xsd`` plus its ``<Collection>`` element."""
    schema = _schema()
    _xs("include", schema, schemaLocation=MAIN)
    _xs("element", schema, name="Collection", type="cimi:" + table.name)
    return schema


def serialise(schema: etree._Element) -> bytes:
    """The bytes of a schema tree, as written to disk."""
    return etree.tostring(schema, xml_declaration=True, encoding="UTF-8", pretty_print=True)
