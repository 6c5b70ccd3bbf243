"""OCCI request parsers: one per media type, all producing :mod:`occi.model` structures.

=====================================  ==============================  ===================
Content-Type                           parser                          reads
=====================================  ==============================  ===================
text/occi (and no Content-Type)        :class:`text.HeaderParser`      HTTP headers
text/plain, text/occi+plain            :class:`text.PlainParser`       body lines
application/occi+json,                 :class:`json.JsonParser`        body (JSON Schema)
application/json
=====================================  ==============================  ===================

Every parser has the same five methods, one per thing a view can expect:
``entity``, ``entities``, ``action``, ``locations`` and ``categories``, each
taking a :class:`Message`. A parser raises :class:`ParseError` (an
:class:`engine.errors.InvalidInput`, so 400) and nothing else, whatever the input.
"""

from __future__ import annotations

from typing import Protocol

from occi.model import ActionInvocation, CategoryDefinitions, Entity, EntityCollection, Locations
from occi.parsing.errors import ParseError, UnsupportedMediaType
from occi.parsing.json import JsonParser
from occi.parsing.message import Message
from occi.parsing.text import HeaderParser, PlainParser

__all__ = [
    "PARSERS",
    "HeaderParser",
    "JsonParser",
    "Message",
    "ParseError",
    "Parser",
    "PlainParser",
    "UnsupportedMediaType",
    "chosen_type",
    "parser_for",
]


class Parser(Protocol):
    """What every OCCI parser offers (see the module docstring)."""

    media_types: tuple[str, ...]

    def entity(self, message: Message) -> Entity:
        """One resource or link rendering."""
        ...

    def entities(self, message: Message) -> EntityCollection:
        """One or more entities to create."""
        ...

    def action(self, message: Message) -> ActionInvocation:
        """An action invocation."""
        ...

    def locations(self, message: Message) -> Locations:
        """A list of entity locations."""
        ...

    def categories(self, message: Message) -> CategoryDefinitions:
        """Full Category renderings."""
        ...


#: Media type -> parser. occi.md §10 item 2: without a Content-Type the data is
#: read from the headers, as for text/occi.
PARSERS: dict[str, Parser] = {
    media_type: parser
    for parser in (HeaderParser(), PlainParser(), JsonParser())
    for media_type in parser.media_types
}


def _listed(content_type: str | None) -> list[tuple[str, str]]:
    """``(media type, charset)`` of each comma-separated item of a Content-Type value."""
    items = []
    for item in (content_type or "").split(","):
        media_type, *parameters = item.split(";")
        charset = "utf-8"
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                charset = value.strip().strip('"') or charset
        if media_type.strip():
            items.append((media_type.strip().lower(), charset))
    return items


def chosen_type(content_type: str | None) -> tuple[str, str]:
    """``(media type, charset)`` a request's Content-Type is read as ("" when none given).

    A value that lists several media types, comma-separated, is read as the
    first one listed that an OCCI parser reads: IM's OCCI connector (the EGI
    federation's production client, ``im`` 1.19.1) sends
    ``Content-Type: text/plain,text/occi`` with every POST, meaning "the data is
    in the body". RFC 9110 §8.3 allows one type only; docs/occi.rst records this
    robustness choice and its evidence.

    :raises UnsupportedMediaType: when no listed type is one OCCI reads (the
        view answers 415, naming the first).
    """
    listed = _listed(content_type)
    if not listed:
        return "", "utf-8"
    for media_type, charset in listed:
        if media_type in PARSERS:
            return media_type, charset
    raise UnsupportedMediaType(listed[0][0])


def parser_for(content_type: str | None) -> Parser:
    """The parser for a Content-Type header value (see :func:`chosen_type`).

    Without a Content-Type the data is read from the headers, as for text/occi.

    :raises UnsupportedMediaType: for a type OCCI does not read (the view answers 415).
    """
    media_type, _charset = chosen_type(content_type)
    return PARSERS[media_type or "text/occi"]
