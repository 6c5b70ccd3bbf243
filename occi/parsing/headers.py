"""The grammar of GFD.229's four header types (the ABNF in occi.md §4.1).

:func:`read_headers` turns header lines, wherever they came from (HTTP
headers for text/occi, body lines for text/plain), into a
:class:`TextDocument`: categories, links, attributes and locations, each
still tagged with where it was found. :mod:`occi.parsing.textmodel` then reads
the document as an entity, an action invocation, locations or categories.

Tolerance (occi.md §10): header names in any case and the ``X-OCCI-Category``
/ ``X-OCCI-Link`` / ``Location`` aliases (item 3); repeated headers and
comma-separated values (item 4); parameters in any order, extra whitespace
and a trailing ``;`` (item 6); unquoted ``class`` and other parameter values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from occi.categories.types import TERM
from occi.model import ATTRIBUTE_NAME, CATEGORY_CLASSES, AttributeValue, CategoryRef
from occi.parsing.errors import ParseError
from occi.parsing.lexer import parse_param, parse_value, split, unquote
from occi.parsing.limits import DEFAULT_LIMITS, Limits

CATEGORY = "category"
LINK = "link"
ATTRIBUTE = "attribute"
LOCATION = "location"

#: Lower-cased header name -> what it carries (occi.md §10 item 3).
HEADER_NAMES = {
    "category": CATEGORY,
    "x-occi-category": CATEGORY,
    "link": LINK,
    "x-occi-link": LINK,
    "x-occi-attribute": ATTRIBUTE,
    "x-occi-location": LOCATION,
    "location": LOCATION,
}
_CATEGORY_PARAMS = ("scheme", "class", "title", "rel", "location", "attributes", "actions")
_LINK_PARAMS = ("rel", "self", "category")


@dataclass(frozen=True)
class HeaderLine:
    """One header (name and value) and where it was found, for error messages."""

    name: str
    value: str
    where: str


@dataclass(frozen=True)
class ParsedCategory:
    """A Category value: its reference and its other parameters, unquoted."""

    ref: CategoryRef
    params: Mapping[str, str]
    where: str


@dataclass(frozen=True)
class ParsedLink:
    """A Link value (GFD.229 link-value or ActionLink)."""

    uri: str
    rel: tuple[str, ...]
    self_location: str | None
    categories: tuple[str, ...]
    attributes: Mapping[str, AttributeValue]
    where: str


@dataclass(frozen=True)
class ParsedAttribute:
    """An X-OCCI-Attribute value."""

    name: str
    value: AttributeValue
    where: str


@dataclass(frozen=True)
class TextDocument:
    """Everything OCCI found in a set of header lines, in order."""

    categories: tuple[ParsedCategory, ...] = ()
    links: tuple[ParsedLink, ...] = ()
    attributes: tuple[ParsedAttribute, ...] = ()
    locations: tuple[tuple[str, str], ...] = ()


def read_headers(lines: Iterable[HeaderLine], limits: Limits = DEFAULT_LIMITS) -> TextDocument:
    """Parse the OCCI headers among ``lines``; other headers are ignored.

    :raises ParseError: located at the header (and value) at fault, also for
        more values, or attributes, than ``limits`` allow.
    """
    categories: list[ParsedCategory] = []
    links: list[ParsedLink] = []
    attributes: list[ParsedAttribute] = []
    locations: list[tuple[str, str]] = []

    def attribute(value: str, where: str) -> None:
        if len(attributes) >= limits.max_attributes:
            raise limits.too_many_attributes()
        attributes.append(read_attribute(value, where))

    sinks: dict[str, Callable[[str, str], None]] = {
        CATEGORY: lambda value, where: categories.append(read_category(value, where)),
        LINK: lambda value, where: links.append(read_link(value, where, limits.max_attributes)),
        ATTRIBUTE: attribute,
        LOCATION: lambda value, where: locations.append(read_location(value, where)),
    }
    count = 0
    for line in lines:
        carries = HEADER_NAMES.get(line.name.strip().lower())
        if carries is None:
            continue
        try:
            values = split(line.value, ",")
        except ParseError as exc:
            raise exc.at(line.where) from None
        count += len(values)
        if count > limits.max_elements:
            raise limits.too_many("values", line.where)
        for index, value in enumerate(values, 1):
            where = line.where if len(values) == 1 else f"{line.where}, value {index}"
            try:
                sinks[carries](value, where)
            except ParseError as exc:
                raise exc.at(where) from None
    return TextDocument(tuple(categories), tuple(links), tuple(attributes), tuple(locations))


def _head(value: str) -> tuple[str, list[str]]:
    """The head of a value and its ``;``-separated parameter segments."""
    parts = split(value, ";")
    if not parts:
        raise ParseError("empty value")
    return parts[0], parts[1:]


def _params(segments: list[str], known: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Split parameters into the known ones (lower-cased names, raw values) and the rest."""
    params: dict[str, str] = {}
    rest: list[str] = []
    for segment in segments:
        param = parse_param(segment)
        name = param.name.lower()
        if name not in known:
            rest.append(segment)
            continue
        if name in params:
            raise ParseError(f"parameter {name!r} given twice")
        params[name] = param.raw
    return params, rest


def read_category(value: str, where: str) -> ParsedCategory:
    """A category-value: ``term; scheme="…"; class="…"`` and optional parameters."""
    head, segments = _head(value)
    term = unquote(head)[0]
    if not TERM.fullmatch(term):
        raise ParseError(f"invalid term {term[:80]!r}")
    raw, _unknown = _params(segments, _CATEGORY_PARAMS)  # unknown parameters are ignored
    params = {name: unquote(text)[0] for name, text in raw.items()}
    scheme = params.pop("scheme", "")
    if not scheme or any(char.isspace() for char in scheme):
        raise ParseError(f"category {term!r} needs a scheme URI")
    cls = params.pop("class", "").lower()
    if cls not in CATEGORY_CLASSES:
        raise ParseError(f"category {term!r} needs a class: kind, mixin or action")
    return ParsedCategory(CategoryRef(scheme, term, cls), MappingProxyType(params), where)


def read_link(
    value: str, where: str, max_attributes: int = DEFAULT_LIMITS.max_attributes
) -> ParsedLink:
    """A link-value: ``<URI>; rel="…"; self="…"; category="…"; attr=value …``.

    :raises ParseError: also for more than ``max_attributes`` attributes.
    """
    head, segments = _head(value)
    if not (head.startswith("<") and head.endswith(">")) or not head[1:-1].strip():
        raise ParseError(f"a link starts with <URI>, got {head[:80]!r}")
    uri = head[1:-1].strip()
    if any(char.isspace() for char in uri):
        raise ParseError(f"invalid URI {uri[:80]!r}")
    raw, rest = _params(segments, _LINK_PARAMS)
    if len(rest) > max_attributes:
        raise ParseError(f"more than {max_attributes} attributes")
    params = {name: unquote(text)[0] for name, text in raw.items()}
    attributes: dict[str, AttributeValue] = {}
    for segment in rest:
        param = parse_param(segment)
        if not ATTRIBUTE_NAME.fullmatch(param.name):
            raise ParseError(f"invalid attribute name {param.name[:80]!r}")
        if param.name in attributes:
            raise ParseError(f"attribute {param.name!r} given twice")
        attributes[param.name] = parse_value(param.raw)
    self_location = params.get("self", "").strip() or None
    return ParsedLink(
        uri=uri,
        rel=tuple(params.get("rel", "").split()),
        self_location=self_location,
        categories=tuple(params.get("category", "").split()),
        attributes=MappingProxyType(attributes),
        where=where,
    )


def read_attribute(value: str, where: str) -> ParsedAttribute:
    """An attribute-repr: ``name=value``."""
    param = parse_param(value)
    if not ATTRIBUTE_NAME.fullmatch(param.name):
        raise ParseError(f"invalid attribute name {param.name[:80]!r}")
    return ParsedAttribute(param.name, parse_value(param.raw), where)


def read_location(value: str, where: str) -> tuple[str, str]:
    """A location-value: a URI-reference (``<URI>`` tolerated)."""
    location = value.strip()
    if location.startswith("<") and location.endswith(">"):
        location = location[1:-1].strip()
    if not location or any(char.isspace() for char in location):
        raise ParseError(f"invalid location {location[:80]!r}")
    return location, where
