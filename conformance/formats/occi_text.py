"""The GFD.229 text renderings: a checking parser and request builders.

The parser is lenient enough to keep discovering (parameters in another order,
no space after ``;``, a trailing ``;``) but records every departure from the
ABNF as a :class:`Problem` tagged with the GFD.229 requirement it breaks, so a
case can both use the data and judge it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.formats.occi_model import AttributeDef, Category, Entity, LinkRef

TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_ATTR_DEF = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\{([^}]*)\})?")
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)\Z")
_URI_REF = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+\Z")
CATEGORY_ORDER = ("scheme", "class", "title", "rel", "location", "attributes", "actions")
#: The header names of the text renderings (GFD.229 §4), lower case.
OCCI_HEADERS = ("category", "link", "x-occi-attribute", "x-occi-location")


@dataclass(frozen=True)
class Problem:
    """One departure from GFD.229, tagged with the requirement slug it breaks."""

    requirement: str
    message: str


@dataclass
class TextMessage:
    """The OCCI content of one text rendering, with what was wrong with it."""

    categories: list[Category] = field(default_factory=list)
    links: list[LinkRef] = field(default_factory=list)
    action_links: list[tuple[str, str]] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    locations: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The field names in the order met (for the rendering-order checks).
    order: list[str] = field(default_factory=list)

    def problems_for(self, requirement: str) -> list[Problem]:
        """The problems tagged with one requirement slug."""
        return [p for p in self.problems if p.requirement == requirement]

    def entity(self) -> Entity:
        """The message read as an entity rendering (its first kind Category is the Kind)."""
        kinds = [c for c in self.categories if c.cls == "kind"]
        return Entity(
            kind=kinds[0].type_id if kinds else None,
            mixins=[c.type_id for c in self.categories if c.cls == "mixin"],
            attributes=dict(self.attributes),
            actions=[rel for _, rel in self.action_links],
            action_links=list(self.action_links),
            links=list(self.links),
        )


_LIST_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|<[^>]*>|[^,"<]+|,|"|<')
_PARAM_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[^;"]+|;|"')


def _split(value: str, tokens: re.Pattern[str], separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    for token in tokens.findall(value):
        if token == separator:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(token)
    parts.append("".join(current).strip())
    return parts


def split_list(value: str) -> list[str]:
    """Split an RFC 7230 ``#rule`` list on commas outside quotes and ``<...>``."""
    return [item for item in _split(value, _LIST_TOKENS, ",") if item]


def _split_params(value: str) -> list[str]:
    return _split(value, _PARAM_TOKENS, ";")


def unquote(value: str) -> tuple[str, bool]:
    """The content of a quoted-string (escapes undone) and whether it was quoted."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1]), True
    return value, False


def _params(parts: list[str], problems: list[Problem], slug: str) -> list[tuple[str, str, bool]]:
    found = []
    for index, part in enumerate(parts):
        if not part:
            if index != len(parts) - 1:  # a trailing ';' is tolerated (the spec's examples)
                problems.append(Problem(slug, "empty parameter between ';'"))
            continue
        name, sep, raw = part.partition("=")
        if not sep:
            problems.append(Problem(slug, f"parameter without '=': {part!r}"))
            continue
        value, quoted = unquote(raw.strip())
        found.append((name.strip(), value, quoted))
    return found


def parse_attribute_defs(text: str) -> tuple[dict[str, AttributeDef], list[str]]:
    """Parse ``attributes="a{immutable required} b"``; returns the defs and errors."""
    defs: dict[str, AttributeDef] = {}
    errors: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _ATTR_DEF.match(text, position)
        if match is None:
            errors.append(f"bad attribute definition at {text[position:]!r}")
            break
        props = (match.group(3) or "").split()
        bad = [p for p in props if p not in ("immutable", "required")]
        if bad:
            errors.append(f"unknown attribute properties {bad} for {match.group(1)}")
        defs[match.group(1)] = AttributeDef(
            match.group(1), required="required" in props, mutable="immutable" not in props
        )
        position = match.end()
        spaces = len(text[position:]) - len(text[position:].lstrip(" "))
        if position < len(text) and spaces == 0:
            errors.append(
                f"attribute definitions must be separated by spaces near {match.group(0)!r}"
            )
        position += spaces
    return defs, errors


def parse_category(value: str, problems: list[Problem]) -> Category | None:
    """Parse one category-value; record ABNF departures under ``abnf.category``."""
    parts = _split_params(value)
    term = parts[0].strip()
    if not TERM.match(term):
        problems.append(Problem("abnf.category", f"invalid term {term!r}"))
    params = _params(parts[1:], problems, "abnf.category")
    names = [name for name, _, _ in params]
    known = [n for n in names if n in CATEGORY_ORDER]
    if known != sorted(known, key=CATEGORY_ORDER.index):
        problems.append(Problem("abnf.category", f"parameters out of ABNF order: {names}"))
    for name in names:
        if name not in CATEGORY_ORDER:
            problems.append(Problem("abnf.category", f"unknown parameter {name!r} in {term}"))
    values = {name: (val, quoted) for name, val, quoted in params}
    for required in ("scheme", "class"):
        if required not in values:
            problems.append(Problem("abnf.category", f"{term}: missing {required}"))
    for name, (_, quoted) in values.items():
        if name in ("scheme", "title", "rel", "location", "attributes", "actions") and not quoted:
            problems.append(Problem("abnf.category", f"{term}: {name} must be quoted"))
    cls = values.get("class", ("", True))[0]
    if cls not in ("kind", "mixin", "action"):
        problems.append(Problem("abnf.category", f"{term}: class {cls!r} is not kind/mixin/action"))
    if "scheme" not in values:
        return None
    category = Category(term=term, scheme=values["scheme"][0], cls=cls)
    category.title = values["title"][0] if "title" in values else None
    category.rel = values["rel"][0].split() if "rel" in values else []
    category.location = values["location"][0] if "location" in values else None
    category.actions = values["actions"][0].split() if "actions" in values else []
    if "attributes" in values:
        category.attributes, errors = parse_attribute_defs(values["attributes"][0])
        problems.extend(Problem("abnf.category", f"{term}: {e}") for e in errors)
    return category


def parse_link(value: str, problems: list[Problem]) -> tuple[LinkRef | None, str | None]:
    """Parse a link-value; returns the link, or for an ActionLink its action type id."""
    parts = _split_params(value)
    head = parts[0].strip()
    if not (head.startswith("<") and head.endswith(">")):
        problems.append(Problem("abnf.link", f"link target not in <...>: {head!r}"))
        return None, None
    target = head[1:-1]
    params = _params(parts[1:], problems, "abnf.link")
    values = {name: (val, quoted) for name, val, quoted in params}
    rel, rel_quoted = values.get("rel", ("", True))
    if "rel" not in values:
        problems.append(Problem("abnf.link", f"link to {target} has no rel"))
    elif not rel_quoted:
        problems.append(Problem("abnf.link", f"rel of {target} must be quoted"))
    if "?action=" in target:
        term = target.rsplit("?action=", 1)[1]
        if len(values) != 1 or not rel.endswith(term):
            problems.append(Problem("abnf.action-link", f"action link {target} has rel {rel!r}"))
        if not TERM.match(term):
            problems.append(Problem("abnf.action-link", f"bad action term in {target}"))
        return None, rel
    link = LinkRef(target=target, rel=rel.split())
    if "self" in values:
        link.self_location = values["self"][0]
    if "category" in values:
        link.categories = values["category"][0].split()
    for name, val, quoted in params:
        if name not in ("rel", "self", "category"):
            link.attributes[name] = val if quoted else _scalar(val)
    return link, None


def _scalar(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    if _NUMBER.match(raw):
        return float(raw) if "." in raw else int(raw)
    return raw


def parse_attribute(value: str, problems: list[Problem]) -> tuple[str, Any] | None:
    """Parse ``name=value`` of an X-OCCI-Attribute (GFD.229 §4.3)."""
    name, sep, raw = value.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not TERM.match(name):
        problems.append(Problem("abnf.attribute", f"not name=value: {value!r}"))
        return None
    text, quoted = unquote(raw)
    if quoted:
        return name, text
    if raw in ("true", "false") or _NUMBER.match(raw):
        if raw.startswith("-"):
            problems.append(Problem("abnf.attribute", f"{name}: a minus sign is outside the ABNF"))
        return name, _scalar(raw)
    problems.append(Problem("abnf.attribute", f"{name}: unquoted string value {raw!r}"))
    return name, raw


def parse_fields(fields: Iterable[tuple[str, str]]) -> TextMessage:
    """Parse (name, value) fields (headers of text/occi, lines of text/plain)."""
    message = TextMessage()
    for raw_name, raw_value in fields:
        name = raw_name.strip().lower()
        if name not in OCCI_HEADERS:
            continue
        message.order.append(name)
        for item in split_list(raw_value):
            if name == "category":
                category = parse_category(item, message.problems)
                if category is not None:
                    message.categories.append(category)
            elif name == "link":
                link, action = parse_link(item, message.problems)
                if link is not None:
                    message.links.append(link)
                if action is not None:
                    message.action_links.append((item.split(">", 1)[0].lstrip("<"), action))
            elif name == "x-occi-attribute":
                parsed = parse_attribute(item, message.problems)
                if parsed is not None:
                    message.attributes[parsed[0]] = parsed[1]
            else:
                if not _URI_REF.match(item):
                    message.problems.append(Problem("abnf.location", f"not a URI: {item!r}"))
                message.locations.append(item)
    return message


def body_fields(body: str) -> tuple[list[tuple[str, str]], list[Problem]]:
    """The ``Name: value`` lines of a text/plain body (GFD.229 §6)."""
    fields, problems = [], []
    for line in body.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            problems.append(Problem("plain.body", f"line is not 'Name: value': {line[:80]!r}"))
            continue
        fields.append((name.strip(), value.strip()))
    return fields, problems


def parse_plain(body: str) -> TextMessage:
    """Parse a text/plain (or text/occi+plain) body."""
    fields, problems = body_fields(body)
    message = parse_fields(fields)
    message.problems[:0] = problems
    return message


def parse_uri_list(body: str) -> list[str]:
    """The URIs of an RFC 2483 text/uri-list body (comment lines dropped)."""
    return [line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#")]
