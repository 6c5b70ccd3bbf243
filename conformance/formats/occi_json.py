"""The GFD.226 JSON rendering read into the neutral model (validation: :mod:`conformance.schemas`).

Readers are defensive: they take whatever the server sent and return the
neutral model plus a list of structural complaints, never raise on odd shapes.
"""

from __future__ import annotations

from typing import Any

from conformance.formats.occi_model import AttributeDef, Category, Entity, LinkRef

JSON_TYPES = ("string", "number", "boolean", "array", "object")
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def matches_type(value: Any, json_type: str) -> bool:
    """Whether ``value`` has JSON type ``json_type`` (a bool is not a number)."""
    if json_type == "number" and isinstance(value, bool):
        return False
    return isinstance(value, _PYTHON_TYPES.get(json_type, (object,)))


def attribute_def(name: str, doc: Any) -> AttributeDef:
    """An attribute description object (GFD.226 §3.5.1; JSON defaults: not mutable)."""
    doc = doc if isinstance(doc, dict) else {}
    return AttributeDef(
        name=name,
        required=doc.get("required") is True,
        mutable=doc.get("mutable") is True,
        type=doc.get("type") if isinstance(doc.get("type"), str) else None,
        has_default="default" in doc,
        default=doc.get("default"),
        description=doc.get("description"),
        pattern=doc.get("pattern"),
    )


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def category(doc: Any, cls: str) -> Category | None:
    """One Kind, Mixin or Action object."""
    if not isinstance(doc, dict) or not isinstance(doc.get("term"), str):
        return None
    scheme = doc.get("scheme")
    if not isinstance(scheme, str):
        return None
    result = Category(term=doc["term"], scheme=scheme, cls=cls)
    result.title = doc.get("title") if isinstance(doc.get("title"), str) else None
    if cls == "kind" and isinstance(doc.get("parent"), str):
        result.rel = [doc["parent"]]
    if cls == "mixin":
        result.rel = _strings(doc.get("depends"))
        result.applies = _strings(doc.get("applies"))
    location = doc.get("location")
    result.location = location if isinstance(location, str) else None
    result.actions = _strings(doc.get("actions"))
    attributes = doc.get("attributes")
    if isinstance(attributes, dict):
        result.attributes = {k: attribute_def(k, v) for k, v in attributes.items()}
    return result


def categories(doc: Any) -> tuple[list[Category], list[str]]:
    """The Categories of a category collection ``{"kinds": [], "mixins": [], "actions": []}``."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        return [], ["a category collection must be a JSON object"]
    found: list[Category] = []
    for key, cls in (("kinds", "kind"), ("mixins", "mixin"), ("actions", "action")):
        items = doc.get(key, [])
        if not isinstance(items, list):
            problems.append(f"{key} must be an array")
            continue
        for item in items:
            parsed = category(item, cls)
            if parsed is None:
                problems.append(f"{key}: an entry without string term and scheme")
            else:
                found.append(parsed)
    unknown = set(doc) - {"kinds", "mixins", "actions"}
    if unknown:
        problems.append(f"unexpected keys {sorted(unknown)}")
    return found, problems


def _endpoint(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("location"), str):
        return str(value["location"])
    return value if isinstance(value, str) else None


def link(doc: dict[str, Any]) -> LinkRef:
    """A link object (inside a resource) as a :class:`LinkRef`."""
    target = doc.get("target")
    attributes = (
        dict(doc.get("attributes") or {}) if isinstance(doc.get("attributes"), dict) else {}
    )
    if isinstance(doc.get("id"), str):
        attributes.setdefault("occi.core.id", doc["id"])
    source = _endpoint(doc.get("source"))
    if source is not None:
        attributes.setdefault("occi.core.source", source)
    rel = (
        [target["kind"]] if isinstance(target, dict) and isinstance(target.get("kind"), str) else []
    )
    kind = [doc["kind"]] if isinstance(doc.get("kind"), str) else []
    return LinkRef(
        target=_endpoint(target) or "",
        rel=rel,
        self_location=doc.get("location") if isinstance(doc.get("location"), str) else None,
        categories=kind + _strings(doc.get("mixins")),
        attributes=attributes,
    )


def entity(doc: Any) -> Entity:
    """A Resource or Link object as an :class:`Entity`."""
    if not isinstance(doc, dict):
        return Entity()
    attributes = dict(doc["attributes"]) if isinstance(doc.get("attributes"), dict) else {}
    for member, name in (
        ("id", "occi.core.id"),
        ("title", "occi.core.title"),
        ("summary", "occi.core.summary"),
    ):
        if member in doc:
            attributes.setdefault(name, doc[member])
    for member in ("source", "target"):
        end = _endpoint(doc.get(member))
        if end is not None:
            attributes.setdefault(f"occi.core.{member}", end)
    links = (
        [link(item) for item in doc.get("links", []) if isinstance(item, dict)]
        if isinstance(doc.get("links"), list)
        else []
    )
    return Entity(
        kind=doc.get("kind") if isinstance(doc.get("kind"), str) else None,
        mixins=_strings(doc.get("mixins")),
        attributes=attributes,
        actions=_strings(doc.get("actions")),
        links=links,
    )


def collection(doc: Any) -> tuple[list[Entity], list[str]]:
    """The entities of ``{"resources": [...]}`` / ``{"links": [...]}``."""
    if not isinstance(doc, dict):
        return [], ["an entity collection must be a JSON object"]
    problems = []
    found = []
    for key in ("resources", "links"):
        items = doc.get(key, [])
        if not isinstance(items, list):
            problems.append(f"{key} must be an array")
            continue
        found += [entity(item) for item in items]
    if not {"resources", "links"} & set(doc):
        problems.append("no 'resources' or 'links' array")
    return found, problems
