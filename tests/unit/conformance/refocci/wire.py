"""The reference server's renderings (GFD.229 text, GFD.226 JSON) and a small request parser.

Deliberately separate from :mod:`conformance.formats`: a bug shared by the
harness and the server it is tested against would cancel out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from unit.conformance.refocci.model import MISSING, Cat, Entity

PLAIN, OCCI_TEXT, OCCI_PLAIN = "text/plain", "text/occi", "text/occi+plain"
URI_LIST, OCCI_JSON = "text/uri-list", "application/occi+json"
SUPPORTED = (PLAIN, OCCI_TEXT, OCCI_PLAIN, URI_LIST, OCCI_JSON)


def q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return repr(item)
    return q(str(item))


def category_value(cat: Cat, full: bool = True) -> str:
    parts = [cat.term, f"scheme={q(cat.scheme)}", f"class={q(cat.cls)}"]
    if not full:
        return "; ".join(parts)
    parts.append(f"title={q(cat.title)}")
    if cat.rel:
        parts.append(f"rel={q(cat.rel[0])}")
    if cat.location:
        parts.append(f"location={q(cat.location)}")
    if cat.attrs:
        defs = [
            a.name
            + (
                "{"
                + " ".join(
                    p for p, on in (("immutable", not a.mutable), ("required", a.required)) if on
                )
                + "}"
                if (not a.mutable or a.required)
                else ""
            )
            for a in cat.attrs
        ]
        parts.append(f"attributes={q(' '.join(defs))}")
    if cat.actions:
        parts.append(f"actions={q(' '.join(cat.actions))}")
    return "; ".join(parts)


def json_category(cat: Cat) -> dict[str, Any]:
    doc: dict[str, Any] = {"term": cat.term, "scheme": cat.scheme, "title": cat.title}
    if cat.attrs:
        doc["attributes"] = {}
        for a in cat.attrs:
            desc: dict[str, Any] = {"mutable": a.mutable, "required": a.required, "type": a.type}
            if a.default is not MISSING:
                desc["default"] = a.default
            doc["attributes"][a.name] = desc
    if cat.cls == "kind" and cat.rel:
        doc["parent"] = cat.rel[0]
    if cat.cls == "mixin":
        if cat.rel:
            doc["depends"] = cat.rel
        if cat.applies:
            doc["applies"] = cat.applies
    if cat.actions:
        doc["actions"] = cat.actions
    if cat.location and cat.cls != "action":
        doc["location"] = cat.location
    return doc


def json_categories(cats: list[Cat]) -> dict[str, Any]:
    return {
        key: [json_category(c) for c in cats if c.cls == cls]
        for key, cls in (("kinds", "kind"), ("mixins", "mixin"), ("actions", "action"))
    }


def entity_fields(
    entity: Entity, actions: list[Cat], store: dict[str, Entity]
) -> list[tuple[str, str]]:
    fields = [("Category", category_value(entity.kind, full=False))]
    fields += [("Category", category_value(m, full=False)) for m in entity.mixins]
    for path in entity.links:
        link = store.get(path)
        if link is None:
            continue
        target = link.attrs["occi.core.target"]
        rel = (
            store[target].kind.type_id
            if target in store
            else link.attrs.get("occi.core.target.kind", "")
        )
        extra = "".join(f"; {k}={value(v)}" for k, v in link.attrs.items())
        fields.append(
            (
                "Link",
                f"<{target}>; rel={q(rel)}; self={q(path)}; category={q(link.kind.type_id)}{extra}",
            )
        )
    for action in actions:
        fields.append(("Link", f"<{entity.path}?action={action.term}>; rel={q(action.type_id)}"))
    fields += [("X-OCCI-Attribute", f"{k}={value(v)}") for k, v in entity.attrs.items()]
    return fields


def json_entity(entity: Entity, actions: list[Cat], store: dict[str, Entity]) -> dict[str, Any]:
    attrs = dict(entity.attrs)
    doc: dict[str, Any] = {"kind": entity.kind.type_id, "id": attrs.pop("occi.core.id")}
    if entity.mixins:
        doc["mixins"] = [m.type_id for m in entity.mixins]
    if entity.is_link:
        source, target = attrs.pop("occi.core.source"), attrs.pop("occi.core.target")
        doc["source"] = (
            {"location": source, "kind": store[source].kind.type_id}
            if (source in store)
            else {"location": source}
        )
        doc["target"] = (
            {"location": target, "kind": store[target].kind.type_id}
            if (target in store)
            else {"location": target}
        )
        attrs.pop("occi.core.target.kind", None)
    else:
        doc["links"] = [json_entity(store[p], [], store) for p in entity.links if p in store]
    if actions:
        doc["actions"] = [a.type_id for a in actions]
    doc["attributes"] = attrs
    return doc


@dataclass
class Parsed:
    """What a request carried, whatever its rendering."""

    categories: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    links: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    action: str | None = None
    mixin_defs: list[dict[str, Any]] = field(default_factory=list)


def _split(text: str, sep: str) -> list[str]:
    out, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [o for o in out if o]


def _scalar(raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith('"'):
        if not raw.endswith('"') or len(raw) < 2:
            raise ValueError(f"unterminated string {raw!r}")
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"-?\d*\.\d+|-?\d+\.\d*", raw):
        return float(raw)
    raise ValueError(f"bad value {raw!r}")


def _params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"bad parameter {item!r}")
        raw = raw.strip()
        params[name.strip()] = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    return params


def parse_fields(fields: list[tuple[str, str]]) -> Parsed:
    parsed = Parsed()
    for name, raw in fields:
        name = name.lower()
        for item in _split(raw, ","):
            if name == "category":
                parts = _split(item, ";")
                params = _params(parts[1:])
                if "scheme" not in params or '"' in params["scheme"]:
                    raise ValueError(f"bad Category {item!r}")
                parsed.categories.append((parts[0], params["scheme"], params))
            elif name == "x-occi-attribute":
                key, sep, raw_value = item.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"bad attribute {item!r}")
                parsed.attributes[key.strip()] = _scalar(raw_value)
            elif name == "link":
                parts = _split(item, ";")
                parsed.links.append((parts[0].strip("<>"), _params(parts[1:])))
            elif name == "x-occi-location":
                parsed.locations.append(item)
    return parsed


def parse_json(doc: Any) -> Parsed:
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    parsed = Parsed(attributes=dict(doc.get("attributes") or {}))
    if "action" in doc:
        parsed.action = doc["action"]
    for type_id in [doc["kind"]] if "kind" in doc else []:
        scheme, _, term = type_id.rpartition("#")
        parsed.categories.append((term, scheme + "#", {"class": "kind"}))
    for type_id in doc.get("mixins", []) if isinstance(doc.get("mixins"), list) else []:
        if isinstance(type_id, str):
            scheme, _, term = type_id.rpartition("#")
            parsed.categories.append((term, scheme + "#", {"class": "mixin"}))
        else:
            parsed.mixin_defs.append(type_id)
    for link in doc.get("links", []):
        target = link.get("target", {})
        parsed.links.append(
            (
                target.get("location", ""),
                {
                    "category": link.get("kind", ""),
                    "rel": target.get("kind", ""),
                    **dict(link.get("attributes") or {}),
                },
            )
        )
    for resource in doc.get("resources", []):
        parsed.locations.append(resource.get("location") or resource.get("id", ""))
    return parsed


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode("utf-8")
