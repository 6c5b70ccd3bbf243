"""The reference CIMI server's serialization: ordered JSON and XML (DSP0263 4.1, 5.5)."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

COMMON = ("id", "name", "description", "created", "updated", "parent", "properties")
ORDER = {
    "CloudEntryPoint": (
        "baseURI",
        "machines",
        "machineConfigs",
        "machineImages",
        "volumes",
        "volumeConfigs",
        "volumeImages",
        "networks",
        "networkConfigs",
        "jobs",
    ),
    "Machine": (
        "state",
        "cpu",
        "memory",
        "disks",
        "cpuArch",
        "volumes",
        "networkInterfaces",
        "eventLog",
    ),
    "MachineConfiguration": ("cpu", "memory", "disks", "cpuArch"),
    "MachineImage": ("state", "type", "imageLocation", "relatedImage"),
    "MachineVolume": ("initialLocation", "volume"),
    "Volume": ("state", "type", "capacity", "bootable", "images", "eventLog"),
    "VolumeConfiguration": ("type", "format", "capacity"),
    "VolumeImage": ("state", "imageLocation", "bootable"),
    "Network": (
        "state",
        "networkType",
        "mtu",
        "classOfService",
        "networkPorts",
        "forwardingGroup",
        "eventLog",
    ),
    "NetworkConfiguration": ("networkType", "mtu", "classOfService"),
    "Job": (
        "state",
        "targetResource",
        "affectedResources",
        "action",
        "returnCode",
        "progress",
        "statusMessage",
        "timeOfStatusChange",
        "parentJob",
        "nestedJobs",
    ),
}
_SINGULAR = {
    "affectedResources": "affectedResource",
    "nestedJobs": "nestedJob",
    "operations": "operation",
}
_ENTRY_KEYS = {
    "MachineConfiguration": "machineConfigurations",
    "VolumeConfiguration": "volumeConfigurations",
    "NetworkConfiguration": "networkConfigurations",
}


def entry_key(type_name: str) -> str:
    return _ENTRY_KEYS.get(type_name, type_name[0].lower() + type_name[1:] + "s")


def ordered(type_name: str, data: dict[str, Any]) -> list[tuple[str, Any]]:
    names = [*COMMON, *ORDER[type_name], "operations"]
    return [(n, data[n]) for n in names if n in data and data[n] not in (None, [], {})]


def to_json(namespace: str, type_name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"resourceURI": f"{namespace}/{type_name}", **dict(ordered(type_name, data))}


def collection_json(
    namespace: str,
    type_name: str,
    cid: str,
    entries: list[dict[str, Any]],
    operations: list[dict[str, str]],
) -> bytes:
    doc: dict[str, Any] = {
        "resourceURI": f"{namespace}/{type_name}Collection",
        "id": cid,
        "count": len(entries),
    }
    if entries:
        doc[entry_key(type_name)] = [to_json(namespace, type_name, e) for e in entries]
    if operations:
        doc["operations"] = operations
    return json.dumps(doc).encode("utf-8")


def _child(parent: Any, ns: str, name: str, value: Any) -> None:
    if name == "properties":
        for key, text in value.items():
            etree.SubElement(parent, f"{{{ns}}}property", key=key).text = text
        return
    if isinstance(value, list):
        for item in value:
            _child(parent, ns, _SINGULAR.get(name, name), item)
        return
    element = etree.SubElement(parent, f"{{{ns}}}{name}")
    if isinstance(value, dict):
        for key, item in value.items():
            element.set(key, str(item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def _fill(element: Any, ns: str, type_name: str, data: dict[str, Any]) -> None:
    for name, value in ordered(type_name, data):
        _child(element, ns, name, value)


def to_xml(namespace: str, type_name: str, data: dict[str, Any]) -> bytes:
    root = etree.Element(f"{{{namespace}}}{type_name}", nsmap={None: namespace})
    _fill(root, namespace, type_name, data)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def collection_xml(
    namespace: str,
    type_name: str,
    cid: str,
    entries: list[dict[str, Any]],
    operations: list[dict[str, str]],
) -> bytes:
    root = etree.Element(
        f"{{{namespace}}}Collection",
        nsmap={None: namespace},
        resourceURI=f"{namespace}/{type_name}Collection",
    )
    etree.SubElement(root, f"{{{namespace}}}id").text = cid
    etree.SubElement(root, f"{{{namespace}}}count").text = str(len(entries))
    for entry in entries:
        _fill(etree.SubElement(root, f"{{{namespace}}}{type_name}"), namespace, type_name, entry)
    for op in operations:
        etree.SubElement(root, f"{{{namespace}}}operation", rel=op["rel"], href=op["href"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _value(element: Any) -> Any:
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        if element.get("href") is not None:
            return {"href": element.get("href")}
        return (element.text or "").strip()
    result: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        if name == "property":
            result.setdefault("properties", {})[child.get("key")] = child.text or ""
        else:
            result[name] = _value(child)
    return result


def parse(media: str, body: bytes) -> tuple[str | None, dict[str, Any]]:
    """(root type for XML, fields) of a request body; raises ValueError when malformed."""
    if media == "application/json":
        data = json.loads(body.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        uri = data.get("resourceURI")
        return (uri.rsplit("/", 1)[-1] if isinstance(uri, str) else None), data
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(str(exc)) from exc
    value = _value(root)
    return etree.QName(root).localname, value if isinstance(value, dict) else {}
