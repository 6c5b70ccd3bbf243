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


def parser_for(content_type: str | None) -> Parser:
    """The parser for a Content-Type header value (parameters such as charset ignored).

    :raises UnsupportedMediaType: for a type OCCI does not read (the view answers 415).
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not media_type:
        return PARSERS["text/occi"]
    try:
        return PARSERS[media_type]
    except KeyError:
        raise UnsupportedMediaType(media_type) from None
