"""CIMI documents in JSON and XML behind one accessor, and request bodies in both.

XML is folded into the JSON shape by the serialization rules of DSP0263 (cimi.md
§2.5): a reference is ``{"href": ...}``, repeated ``<operation>`` and
``<property key>`` become ``operations`` and ``properties``, entries of a
``<Collection>`` (child elements named after their type) become the entry list.
What the XML said literally (root name, namespace, ``resourceURI`` attribute) is
kept alongside for the serialization checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

JSON, XML = "application/json", "application/xml"
RENDERINGS = (JSON, XML)
#: Namespaces of the CIMI versions the harness knows (1.x and 2.0).
KNOWN_NAMESPACES = ("http://schemas.dmtf.org/cimi/1", "http://schemas.dmtf.org/cimi/2")
_PLURAL = {
    "operation": "operations",
    "affectedResource": "affectedResources",
    "nestedJob": "nestedJobs",
}
#: Collection array keys that are not the type name with an s (cimi.md §6 item 2).
_ENTRY_KEYS = {"Address": "addresses", "ResourceMetadata": "resourceMetadata"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def entry_key(type_name: str) -> str:
    """The JSON key of a Collection's entries: ``Machine`` -> ``machines``."""
    return _ENTRY_KEYS.get(type_name, type_name[:1].lower() + type_name[1:] + "s")


def local(tag: object) -> tuple[str | None, str]:
    """(namespace, local name) of a Clark-notation tag."""
    tag = str(tag)
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return None, tag


@dataclass
class Document:
    """A CIMI resource or collection read from JSON or XML."""

    rendering: str
    data: dict[str, Any]
    #: XML only: the root's namespace and local name, and its resourceURI attribute.
    namespace: str | None = None
    root: str | None = None
    declared_uri: str | None = None
    #: The entries of a Collection and the JSON key (or XML element) they were under.
    entries: list[dict[str, Any]] = field(default_factory=list)
    entries_key: str | None = None

    @property
    def resource_uri(self) -> str | None:
        """resourceURI as stated (JSON member, XML attribute) or implied by the XML root."""
        if self.rendering == JSON:
            value = self.data.get("resourceURI")
            return value if isinstance(value, str) else None
        if self.declared_uri:
            return self.declared_uri
        if self.namespace and self.root and self.root != "Collection":
            return f"{self.namespace}/{self.root}"
        return None

    def get(self, name: str) -> Any:
        """An attribute value (XML scalars are strings)."""
        return self.data.get(name)

    def href(self, name: str) -> str | None:
        """The href of reference attribute ``name``."""
        value = self.data.get(name)
        if isinstance(value, Mapping) and isinstance(value.get("href"), str):
            return str(value["href"])
        return None

    def operations(self) -> list[tuple[str, str]]:
        """(rel, href) of every advertised operation."""
        ops = self.data.get("operations")
        if not isinstance(ops, list):
            return []
        return [
            (str(op.get("rel")), str(op.get("href")))
            for op in ops
            if isinstance(op, Mapping) and op.get("rel") and op.get("href")
        ]

    def operation(self, rel: str) -> str | None:
        """The href of the operation ``rel``; a full action URI also matches its last segment."""
        ops = self.operations()
        for name, href in ops:
            if name == rel:
                return href
        short = rel.rsplit("/", 1)[-1].lower()
        for name, href in ops:
            if "/" in rel and name.rsplit("/", 1)[-1].lower() == short:
                return href
        return None


def _element(element: Any) -> Any:
    children = [c for c in element if isinstance(c.tag, str)]
    attributes = {local(k)[1]: v for k, v in element.attrib.items()}
    if not children:
        text = (element.text or "").strip()
        if attributes and not text:
            return attributes
        return {**attributes, "_text": text} if attributes else text
    result: dict[str, Any] = dict(attributes)
    properties: dict[str, str] = {}
    for child in children:
        name = local(child.tag)[1]
        if name == "property":
            properties[child.get("key", "")] = child.text or ""
            continue
        value = _element(child)
        key = _PLURAL.get(name, name)
        if key != name:
            result.setdefault(key, []).append(value)
        elif name in result:
            previous = result[name]
            result[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[name] = value
    if properties:
        result["properties"] = properties
    return result


def parse_xml(body: bytes) -> Document:
    """Read an XML CIMI document.

    :raises ValueError: not well-formed XML.
    """
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    namespace, name = local(root.tag)
    document = Document(XML, {}, namespace, name, root.get("resourceURI"))
    entries = []
    plain = etree.Element(root.tag, dict(root.attrib))
    for child in root:
        if not isinstance(child.tag, str):
            continue
        child_name = local(child.tag)[1]
        if name == "Collection" and child_name[:1].isupper():
            entry = _element(child)
            entries.append(entry if isinstance(entry, dict) else {})
            document.entries_key = child_name
        else:
            plain.append(child)
    value = _element(plain)
    document.data = value if isinstance(value, dict) else {}
    document.entries = entries
    return document


def parse_json(body: bytes) -> Document:
    """Read a JSON CIMI document.

    :raises ValueError: not a JSON object.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("a CIMI document must be a JSON object")
    document = Document(JSON, data)
    uri = data.get("resourceURI")
    if isinstance(uri, str) and uri.endswith("Collection"):
        expected = entry_key(uri.rsplit("/", 1)[-1][: -len("Collection")])
        candidates = [
            k
            for k, v in data.items()
            if k != "operations" and isinstance(v, list) and all(isinstance(i, dict) for i in v)
        ]
        key = expected if expected in data else (candidates[0] if candidates else None)
        if key is not None and isinstance(data.get(key), list):
            document.entries = [e for e in data[key] if isinstance(e, dict)]
            document.entries_key = key
    return document


def parse(rendering: str, body: bytes) -> Document:
    """Read a document in ``rendering`` (:data:`JSON` or :data:`XML`)."""
    return parse_json(body) if rendering == JSON else parse_xml(body)


def _xml_child(parent: Any, namespace: str, name: str, value: Any) -> None:
    if name == "properties" and isinstance(value, Mapping):
        for key, text in value.items():
            etree.SubElement(parent, f"{{{namespace}}}property", key=key).text = str(text)
        return
    if isinstance(value, list):
        singular = name[:-1] if name.endswith("s") else name
        for item in value:
            _xml_child(parent, namespace, singular, item)
        return
    element = etree.SubElement(parent, f"{{{namespace}}}{name}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "href":
                element.set("href", str(item))
            else:
                _xml_child(element, namespace, key, item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def body(rendering: str, namespace: str, type_name: str, fields: Mapping[str, Any]) -> bytes:
    """A request body of type ``type_name`` (``MachineCreate``, ``Action``...).

    ``fields`` must be in XML element order (it is an xs:sequence).
    """
    if rendering == JSON:
        return json.dumps({"resourceURI": f"{namespace}/{type_name}", **fields}).encode("utf-8")
    root = etree.Element(f"{{{namespace}}}{type_name}", nsmap={None: namespace})
    for name, value in fields.items():
        _xml_child(root, namespace, name, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def with_name(rendering: str, original: bytes, name: str) -> bytes:
    """A full representation as read, with ``name`` replaced (for an edit)."""
    if rendering == JSON:
        data = json.loads(original.decode("utf-8"))
        data["name"] = name
        return json.dumps(data).encode("utf-8")
    root = etree.fromstring(original, _PARSER)
    namespace = local(root.tag)[0] or ""
    found = root.find(f"{{{namespace}}}name")
    if found is None:
        found = etree.Element(f"{{{namespace}}}name")
        position = 1 if len(root) and local(root[0].tag)[1] == "id" else 0
        root.insert(position, found)
    found.text = name
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
