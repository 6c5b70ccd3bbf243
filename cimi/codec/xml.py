"""The XML codec (lxml): bytes <-> element tree <-> wire form, then :mod:`~cimi.codec.binding`.

Serialisation (DSP0263 1.x 4.1.1, 5.4, 5.5): the root element is the type name
(``<Collection resourceURI=..>`` for every collection) in the namespace
``http://schemas.dmtf.org/cimi/1`` (:data:`cimi.resources.NS`); children follow
the table order; a reference is ``<name href=".."/>``; arrays are written in
the CIMI 1.x form, one bare element per entry in the place of the attribute
(``<operation rel= href=/>*``, ``<property key="k">v</property>*``, Collection
members as ``<Machine>..</Machine>*`` directly under ``<Collection>``), unless
:data:`cimi.resources._common.XML_WRAPPERS` asks for the DSP0263 2.0.0 wrapped
form (``<operations><operation/>..</operations>``); arrays of references are
never wrapped (``<affectedResource href=/>*``).

Parsing is safe and lenient in form, strict in content:

* safe: UTF-8 only, a size limit, DOCTYPE declarations refused before lxml
  sees the bytes (so no entity is ever declared, let alone expanded), a parser
  that resolves no entities, loads no DTD and never touches the network, and
  limits on elements, depth and attributes per element
  (:mod:`cimi.codec.limits`), checked in C (XPath) before any value is read;
* linear: lxml looks an attribute's value up by name along the element's
  attribute list, so reading every value (``attrib.items()``) is quadratic in
  the attribute count; the codec lists the names and asks for the values of
  the attributes its table has only (a handful), never for the others;
* lenient: the CIMI 1 namespace, the CIMI 2 one and no namespace are accepted;
  elements may come in any order; array entries may come bare (CIMI 1.x) or
  wrapped (DSP0263 2.0.0), whatever Concord writes;
  elements and attributes in other namespaces are extensions and ignored
  (``xs:any``);
* strict: a singular element given twice, text where elements belong, and
  every value are errors, reported with the attribute path.
"""

from __future__ import annotations

import enum
import re
from functools import cache
from typing import Any

from lxml import etree

from cimi.codec.binding import Mode, bind, target_table, unbind, unbind_trusted
from cimi.codec.limits import DEFAULT_LIMITS, Limits
from cimi.codec.scalars import to_text
from cimi.errors import DecodeError
from cimi.resources import NS, NS_ALT, Field, Kind, Place, Role, Table

MEDIA_TYPE = "application/xml"
#: Namespaces a client document may use: CIMI 2, CIMI 1, or none at all.
ACCEPTED_NAMESPACES = frozenset({NS, NS_ALT, ""})

_DECLARATION = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = frozenset({b"utf-8", b"utf8", b"us-ascii", b"ascii"})


class _Match(enum.Enum):
    SINGLE = "single"  # <name>..</name> of a singular field
    WRAPPER = "wrapper"  # <name> wrapping the entries of an array or map
    ITEM = "item"  # one entry, bare


def _parser() -> etree.XMLParser:
    # A fresh parser per document: lxml parsers are not shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse(data: bytes, limits: Limits = DEFAULT_LIMITS) -> etree._Element:
    """Parse an untrusted XML body into an element tree, safely.

    :raises DecodeError: for oversized, non-UTF-8, DOCTYPE-bearing, malformed
        or too deeply nested input.
    """
    limits.check_size(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise DecodeError("an XML body must be UTF-8")
    declared = _DECLARATION.match(data.lstrip(b"\xef\xbb\xbf \t\r\n"))
    if declared and declared.group(1).lower() not in _UTF8_NAMES:
        raise DecodeError(f"an XML body must be UTF-8, not {declared.group(1).decode()}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DecodeError("DOCTYPE and ENTITY declarations are not allowed")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise DecodeError(f"malformed XML: {exc.msg}") from None
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None:  # defence in depth
        raise DecodeError("DOCTYPE and ENTITY declarations are not allowed")
    check_shape(root, limits)
    return root


def check_shape(root: etree._Element, limits: Limits) -> None:
    """Refuse a tree larger, deeper or with more attributes on one element than *limits*.

    The three questions are XPath expressions that libxml2 answers in C, each
    in one pass over the tree, without a Python object per element (a walk
    in Python cost five times the parse itself on an element flood);
    ``count(@*)`` counts attributes without reading a value.

    :raises DecodeError: naming the limit (and the element, for attributes).
    """
    elements, deeper, crowded = _shape_queries(
        limits.max_elements, limits.max_depth, limits.max_attributes
    )
    if root.xpath(elements):
        raise limits.too_many_elements()
    if root.xpath(deeper):
        raise limits.too_deep()
    found: Any = root.xpath(crowded)
    if found:
        raise limits.too_many_attributes(_path_of(found[0]))


@cache
def _shape_queries(max_elements: int, max_depth: int, max_attributes: int) -> tuple[str, str, str]:
    """The XPath questions: more elements than allowed? deeper? the first crowded element.

    Kept as text, evaluated per document: compiled ``etree.XPath`` objects
    are not to be shared between the threads of a server.
    """
    return (
        f"count(//*) > {max_elements}",
        "boolean(/*" + "/*" * max_depth + ")",
        f"(//*[count(@*) > {max_attributes}])[1]",
    )


def _path_of(element: etree._Element) -> str:
    """``Machine.cpu``: the local names from the root down to *element*."""
    names = [etree.QName(e).localname for e in (element, *element.iterancestors())]
    return ".".join(reversed(names))


def _split(tag: Any) -> tuple[str, str] | None:
    if not isinstance(tag, str):
        return None  # entity references and other non-element nodes
    qname = etree.QName(tag)
    return qname.namespace or "", qname.localname


@cache
def _index(table: Table) -> dict[str, tuple[Field, _Match]]:
    index: dict[str, tuple[Field, _Match]] = {}
    for field in table.fields:
        if field.place is not Place.ELEMENT:
            continue
        if field.many or field.kind is Kind.MAP:
            index[field.name] = (field, _Match.WRAPPER)
            index[field.xml_item] = (field, _Match.ITEM)
        else:
            index[field.name] = (field, _Match.SINGLE)
    return index


def _text(element: etree._Element, path: str) -> str:
    if len(element):
        raise DecodeError(f"{path}: expected text, found child elements")
    return element.text or ""


def _no_stray_text(text: str | None, path: str) -> None:
    if text and text.strip():
        raise DecodeError(f"{path}: unexpected text {text.strip()[:20]!r}")


def to_wire(root: etree._Element, table: Table, *, strict: bool = False) -> dict[str, Any]:
    """Convert a parsed document of type *table* into its wire (JSON) form, scalars as text.

    The root's own name is not checked here (see :func:`decode`).
    """
    split = _split(root.tag)
    assert split is not None  # noqa: S101 (lxml roots are elements)
    ns, _ = split
    wire = _element(root, table, ns, "", href=False, strict=strict)
    if root.get("resourceURI") is not None:
        wire["resourceURI"] = root.get("resourceURI")
    return wire


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _element(
    element: etree._Element, table: Table, ns: str, path: str, *, href: bool, strict: bool
) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    where = path or table.name  # messages about this element itself
    # Names only: a value is looked up along the attribute list (see the module docstring).
    for raw_name in element.attrib:
        name = str(raw_name)  # lxml gives str; its stubs say str | bytes
        if name.startswith("{"):
            continue  # namespaced attributes (xsi:, xml:, extensions)
        field = table.get(name)
        if (href and name == "href") or (field is not None and field.place is Place.ATTRIBUTE):
            wire[name] = element.get(name)
        elif strict and name != "resourceURI":
            raise DecodeError(f"{where}: unknown XML attribute {name!r}")
    text_field = next((f for f in table.fields if f.place is Place.TEXT), None)
    if text_field is not None:
        if len(element):
            raise DecodeError(f"{where}: expected text, found child elements")
        wire[text_field.name] = element.text or ""
        return wire
    _no_stray_text(element.text, where)
    lists: dict[str, list[Any]] = {}
    for child in element:
        _no_stray_text(child.tail, where)
        split = _split(child.tag)
        if split is None or split[0] != ns:
            continue  # an extension element (xs:any)
        local = split[1]
        here = _join(path, local)
        found = _index(table).get(local)
        if found is None:
            if strict:
                raise DecodeError(f"{here}: unknown element of {table.name}")
            continue
        field, match = found
        if match is _Match.SINGLE:
            if field.name in wire:
                raise DecodeError(f"{here}: given more than once")
            wire[field.name] = _value(child, field, ns, here, strict)
        elif match is _Match.ITEM:
            _entries(wire, lists, field.name).append(_value(child, field, ns, here, strict))
        else:
            entries = _entries(wire, lists, field.name)
            _no_stray_text(child.text, here)
            for item in child:
                _no_stray_text(item.tail, here)
                item_split = _split(item.tag)
                if item_split is None or item_split[0] != ns:
                    continue
                if item_split[1] != field.xml_item:
                    if strict:
                        raise DecodeError(f"{here}: unexpected <{item_split[1]}>")
                    continue
                entries.append(_value(item, field, ns, _join(here, field.xml_item), strict))
    for name, entries in lists.items():
        field = table.by_name[name]
        wire[name] = _merge_map(entries, _join(path, name)) if field.kind is Kind.MAP else entries
    return wire


def _entries(wire: dict[str, Any], lists: dict[str, list[Any]], name: str) -> list[Any]:
    """The list collecting the entries of array *name*, placed in *wire* at first sight.

    The wire form keeps the document order of attributes, arrays included (an
    array sits where its first entry appeared), as the JSON wire form does; so
    when a body holds several errors, both codecs report the same one first.
    """
    if name not in lists:
        lists[name] = wire[name] = []
    return lists[name]


def _value(element: etree._Element, field: Field, ns: str, path: str, strict: bool) -> Any:
    kind = field.kind
    if kind is Kind.MAP:
        key = element.get("key")
        if key is None:
            raise DecodeError(f"{path}: a <{field.xml_item}> needs a key attribute")
        return key, _text(element, path)
    if kind.scalar:
        return _text(element, path)
    if kind is Kind.STRUCT or kind is Kind.RESOURCE:
        assert field.table is not None  # noqa: S101 (a table invariant)
        return _element(element, field.table, ns, path, href=False, strict=strict)
    return _element(element, target_table(field), ns, path, href=True, strict=strict)


def _merge_map(pairs: list[tuple[str, str]], path: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, value in pairs:
        if key in merged:
            raise DecodeError(f"{path}: key {key!r} given more than once")
        merged[key] = value
    return merged


def _root_names(table: Table, mode: Mode) -> set[str]:
    names = {table.xml_root}
    if mode is Mode.CREATE and table.role is Role.RESOURCE:
        names.add(table.name + "Create")  # 5.5.12.1: <ResourceNameCreate> wrappers
    return names


def decode(
    data: bytes,
    table: Table,
    *,
    mode: Mode = Mode.REPRESENTATION,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Decode an XML body of type *table* into its neutral form.

    :param mode: what the body is for (see :class:`~cimi.codec.binding.Mode`).
    :param strict: reject unknown elements and attributes rather than ignore them.
    :raises DecodeError: with a message precise enough for a 400 answer.
    """
    root = parse(data, limits)
    split = _split(root.tag)
    assert split is not None  # noqa: S101 (lxml roots are elements)
    ns, local = split
    expected = _root_names(table, mode)
    if ns not in ACCEPTED_NAMESPACES or local not in expected:
        raise DecodeError(
            f"expected a <{' or <'.join(sorted(expected))}> root in namespace {NS}, "
            f"got <{local}>" + (f" in {ns}" if ns else " without a namespace")
        )
    return bind(table, to_wire(root, table, strict=strict), mode=mode, lexical=True, strict=strict)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _build(element: etree._Element, table: Table, wire: dict[str, Any], *, href: bool) -> None:
    if href and "href" in wire:
        element.set("href", wire["href"])
    for field in table.fields:
        if field.name not in wire or field.place is Place.IMPLIED:
            continue
        value = wire[field.name]
        if field.place is Place.ATTRIBUTE:
            element.set(field.name, to_text(value))
        elif field.place is Place.TEXT:
            element.text = to_text(value)
        elif field.kind is Kind.MAP:
            wrapper = etree.SubElement(element, _q(field.name)) if field.wrapped else element
            for key, item in value.items():
                etree.SubElement(wrapper, _q(field.xml_item), key=key).text = item
        elif field.many:
            parent = etree.SubElement(element, _q(field.name)) if field.wrapped else element
            for item in value:
                _build_one(parent, field, field.xml_item, item)
        else:
            _build_one(element, field, field.name, value)


def _build_one(parent: etree._Element, field: Field, tag: str, value: Any) -> None:
    child = etree.SubElement(parent, _q(tag))
    if field.kind.scalar:
        child.text = to_text(value)
    elif field.kind is Kind.STRUCT or field.kind is Kind.RESOURCE:
        assert field.table is not None  # noqa: S101 (a table invariant)
        _build(child, field.table, value, href=False)
    else:
        _build(child, target_table(field), value, href=True)


def from_wire(table: Table, wire: dict[str, Any]) -> etree._Element:
    """Build the element tree of a wire form (as :func:`~cimi.codec.binding.unbind` makes it)."""
    nsmap: Any = {None: NS}  # the default namespace; lxml-stubs want str keys
    root = etree.Element(_q(table.xml_root), nsmap=nsmap)
    if table.role is Role.COLLECTION and table.uri:
        root.set("resourceURI", table.uri)  # required on <Collection> (5.5.12)
    _build(root, table, wire, href=False)
    return root


def encode(table: Table, value: Any, *, pretty: bool = False, trusted: bool = False) -> bytes:
    """Encode a neutral value of type *table* as an XML document (UTF-8, with declaration).

    :param trusted: the server built *value* itself: skip the checks
        (:func:`~cimi.codec.binding.unbind_trusted`, same output).
    :raises EncodeError: when *value* does not fit the table (checked path).
    """
    root = from_wire(table, unbind_trusted(table, value) if trusted else unbind(table, value))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)
