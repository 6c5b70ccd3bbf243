"""Request bodies in each OCCI rendering: entities, action invocations, Mixins, locations.

A :class:`Payload` is what to send: the Content-Type, the extra headers
(text/occi puts the rendering there), and the body. Categories are rendered in
their short form (term, scheme, class) inside requests (occi.md §10.24a); a
Mixin definition for the query interface carries its location too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.formats.occi_model import OCCI_JSON, TEXT_OCCI, Category


@dataclass(frozen=True)
class Payload:
    """A request rendering: Content-Type, headers and body."""

    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def all_headers(self, accept: str | None = None) -> list[tuple[str, str]]:
        """Content-Type, Accept (when given) and the rendering's own headers."""
        extra = [("Accept", accept)] if accept else []
        return [("Content-Type", self.content_type), *extra, *self.headers]


@dataclass(frozen=True)
class LinkSpec:
    """A Link to create inline with a Resource."""

    target: str
    target_kind: str
    kind: str
    attributes: dict[str, Any] = field(default_factory=dict)


def quote(text: str) -> str:
    """A quoted-string (RFC 7230) for ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value(item: Any) -> str:
    """An attribute value in the text ABNF: quoted string, number or true/false."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return repr(item)
    return quote(str(item))


def category_value(category: Category, *, full: bool = False) -> str:
    """``term; scheme="..."; class="..."`` (plus title, rel and location when ``full``)."""
    parts = [category.term, f"scheme={quote(category.scheme)}", f"class={quote(category.cls)}"]
    if full:
        if category.title:
            parts.append(f"title={quote(category.title)}")
        if category.rel:
            parts.append(f"rel={quote(category.rel[0])}")
        if category.location:
            parts.append(f"location={quote(category.location)}")
    return "; ".join(parts)


def link_value(spec: LinkSpec) -> str:
    """An inline Link: ``<target>; rel="target kind"; category="link kind"; attrs``."""
    parts = [f"<{spec.target}>", f"rel={quote(spec.target_kind)}", f"category={quote(spec.kind)}"]
    parts += [f"{name}={value(v)}" for name, v in spec.attributes.items()]
    return "; ".join(parts)


def _text(rendering: str, fields: Sequence[tuple[str, str]], separate: bool = False) -> Payload:
    if rendering == TEXT_OCCI:
        if separate:
            return Payload(TEXT_OCCI, list(fields))
        merged: dict[str, list[str]] = {}
        for name, item in fields:
            merged.setdefault(name, []).append(item)
        # GFD.229 §7 recommends one comma-separated header per field name.
        return Payload(TEXT_OCCI, [(name, ", ".join(items)) for name, items in merged.items()])
    body = "".join(f"{name}: {item}\r\n" for name, item in fields)
    return Payload(rendering, [], body.encode("utf-8"))


def _json(doc: Any) -> Payload:
    return Payload(OCCI_JSON, [], json.dumps(doc).encode("utf-8"))


def entity(
    rendering: str,
    kind: Category,
    *,
    mixins: Iterable[Category] = (),
    attributes: dict[str, Any] | None = None,
    links: Iterable[LinkSpec] = (),
    separate_headers: bool = False,
) -> Payload:
    """A full entity rendering for creation or replacement."""
    attributes = attributes or {}
    mixins, links = list(mixins), list(links)
    if rendering == OCCI_JSON:
        doc: dict[str, Any] = {"kind": kind.type_id}
        if mixins:
            doc["mixins"] = [m.type_id for m in mixins]
        if attributes:
            doc["attributes"] = attributes
        if links:
            doc["links"] = [
                {
                    "kind": spec.kind,
                    "target": {"location": spec.target, "kind": spec.target_kind},
                    **({"attributes": spec.attributes} if spec.attributes else {}),
                }
                for spec in links
            ]
        return _json(doc)
    fields = [("Category", category_value(kind))]
    fields += [("Category", category_value(m)) for m in mixins]
    fields += [("Link", link_value(spec)) for spec in links]
    fields += [("X-OCCI-Attribute", f"{k}={value(v)}") for k, v in attributes.items()]
    return _text(rendering, fields, separate_headers)


def partial(rendering: str, attributes: dict[str, Any], mixins: Iterable[Category] = ()) -> Payload:
    """A partial entity rendering for POST on an entity (GFD.223 §10.3.1)."""
    mixins = list(mixins)
    if rendering == OCCI_JSON:
        doc: dict[str, Any] = {"attributes": attributes}
        if mixins:
            doc["mixins"] = [m.type_id for m in mixins]
        return _json(doc)
    fields = [("Category", category_value(m)) for m in mixins]
    fields += [("X-OCCI-Attribute", f"{k}={value(v)}") for k, v in attributes.items()]
    return _text(rendering, fields)


def action(
    rendering: str, definition: Category, attributes: dict[str, Any] | None = None
) -> Payload:
    """An action invocation (GFD.229 §5.1.1, GFD.226 §3.1.1)."""
    attributes = attributes or {}
    if rendering == OCCI_JSON:
        doc: dict[str, Any] = {"action": definition.type_id}
        if attributes:
            doc["attributes"] = attributes
        return _json(doc)
    fields = [("Category", category_value(definition))]
    fields += [("X-OCCI-Attribute", f"{k}={value(v)}") for k, v in attributes.items()]
    return _text(rendering, fields)


def mixin_definition(rendering: str, mixin: Category) -> Payload:
    """A user-defined Mixin for POST or DELETE on the query interface."""
    if rendering == OCCI_JSON:
        doc: dict[str, Any] = {"term": mixin.term, "scheme": mixin.scheme}
        if mixin.title:
            doc["title"] = mixin.title
        if mixin.location:
            doc["location"] = mixin.location
        return _json({"mixins": [doc]})
    return _text(rendering, [("Category", category_value(mixin, full=True))])


def locations(rendering: str, urls: Sequence[str], documents: Sequence[Any] = ()) -> Payload:
    """An entity collection given by locations (text) or by renderings (JSON)."""
    if rendering == OCCI_JSON:
        return _json({"resources": list(documents)})
    return _text(rendering, [("X-OCCI-Location", url) for url in urls])
