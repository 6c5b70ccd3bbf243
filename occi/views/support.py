"""What every OCCI view shares: negotiation, parsing and responses.

* :func:`negotiate`: the rendering to answer with, chosen explicitly from
  :data:`MEDIA` with ``text/plain`` as the default and fall-back (GFD.185
  §3.5, kept in 1.2: occi.md §10 item 1); 406 when the client accepts none.
  ``text/uri-list`` is among them so that asking it of something that is not
  a listing is the 400 GFD.229 §3.4 demands, not a 406.
* :func:`parser` and :func:`message`: the request's body (or headers) in the
  format its Content-Type names; 415 for any other (occi.md §10 item 1).
* :func:`respond`: one rendering, with ``Vary: Accept`` and the supported
  types in ``Accept`` (GFD.223 §3.2: the server SHOULD list them).
* :func:`header_filter` and :func:`query`: filters from request headers
  (GFD.223 §3.5: filtering uses header renderings whatever the body) and
  query parameters split on ``&`` or ``;`` (occi.md §10 item 25).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from pyramid.response import Response

from engine.errors import InvalidInput
from occi.mapping.filters import Filter, Page, has_query_filter, page_of, query_filter
from occi.model import Entity, EntityCollection, Locations
from occi.negotiation import (
    JSON,
    OCCI_JSON,
    TEXT_OCCI,
    TEXT_OCCI_PLAIN,
    TEXT_PLAIN,
    URI_LIST,
    media_type,
)
from occi.parsing import (
    HeaderParser,
    Message,
    Parser,
    UnsupportedMediaType,
    chosen_type,
    parser_for,
)
from occi.parsing.headers import HEADER_NAMES
from occi.parsing.limits import Limits
from occi.rendering import render, wsgi_headers

if TYPE_CHECKING:
    from pyramid.request import Request

#: Every rendering a response can have, the default first (GFD.229, GFD.226).
MEDIA = (TEXT_PLAIN, TEXT_OCCI_PLAIN, TEXT_OCCI, OCCI_JSON, JSON, URI_LIST)
#: Listed in every response's ``Accept`` header (GFD.223 §3.2).
ACCEPTED = ", ".join(MEDIA)
#: Media types whose listings carry only locations (GFD.229 §3.1.2).
TEXT_MEDIA = frozenset({TEXT_PLAIN, TEXT_OCCI_PLAIN, TEXT_OCCI, URI_LIST})
_SEPARATORS = re.compile(r"[&;]")


def negotiate(request: Request) -> str:
    """The rendering to answer with (raises HTTPNotAcceptable, 406, when none fits)."""
    return media_type(request, MEDIA)


def full_listing(media: str) -> bool:
    """Whether a listing in ``media`` renders entities in full (JSON) or by location (text)."""
    return media not in TEXT_MEDIA


def message(request: Request) -> Message:
    """The parts of the request a parser reads (its base URL strips absolute references).

    The body's charset is the one of the media type the request is read as
    (:func:`occi.parsing.chosen_type`), not WebOb's reading of the whole header.
    """
    try:
        _media_type, charset = chosen_type(request.headers.get("Content-Type"))
    except UnsupportedMediaType:
        charset = "utf-8"  # a GET's filter headers: its Content-Type names no body
    return Message.from_wsgi(
        request.headers.items(),
        request.body,
        base_url=request.public_url,
        charset=charset,
        limits=Limits.from_settings(request.registry.concord_settings),
    )


def parser(request: Request) -> Parser:
    """The parser of the request's Content-Type (raises UnsupportedMediaType: 415)."""
    return parser_for(request.headers.get("Content-Type"))


def header_filter(request: Request) -> Filter:
    """The filter rendered in the request's headers, if any (GFD.223 §3.5)."""
    document: Entity = HeaderParser().entity(message(request))
    return Filter.of(document)


def listing_filter(request: Request) -> tuple[Filter, Page | None]:
    """A GET listing's filter (headers and attribute query parameters) and page."""
    given = query(request)
    wanted, page = header_filter(request), page_of(given)
    attributes = query_filter(request.occi.ctx.registry, given) if has_query_filter(given) else {}
    if attributes:
        wanted = Filter(wanted.categories, {**wanted.attributes, **attributes})
    return wanted, page


def has_body(request: Request) -> bool:
    """Whether the request carries a body with anything but white space in it."""
    return bool(request.body.strip())


def renders_something(request: Request) -> bool:
    """Whether the request carries an OCCI rendering: a body, or OCCI headers (text/occi)."""
    # "Location" is HTTP's own response header, not a client's X-OCCI-Location.
    return has_body(request) or any(
        name.lower() in HEADER_NAMES and name.lower() != "location" for name in request.headers
    )


def body_locations(request: Request) -> Locations | None:
    """The locations a DELETE's body names, or None when it has no body.

    A body that names no location is refused (400) rather than read as "all":
    a DELETE whose body the server ignored would delete more than was meant.
    """
    if not has_body(request) and request.headers.get("Content-Type", "") != TEXT_OCCI:
        return None
    locations = parser(request).locations(message(request))
    if not locations.locations:
        if not has_body(request):
            return None  # text/occi without X-OCCI-Location headers: no list given
        raise InvalidInput("a DELETE body lists the locations to remove (X-OCCI-Location)")
    return locations


def query(request: Request) -> dict[str, str]:
    """The query parameters, split on ``&`` or ``;`` (the last of a repeated name wins).

    :raises InvalidInput: a name or value is not UTF-8 once percent-decoded
        (the edge refuses such requests first; this never guesses a meaning).
    """
    found: dict[str, str] = {}
    try:
        for part in _SEPARATORS.split(request.query_string):
            if not part:
                continue
            name, _, value = part.partition("=")
            found[unquote_plus(name, errors="strict")] = unquote_plus(value, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput("the query string is not valid UTF-8 once percent-decoded") from None
    return found


def respond(
    request: Request,
    media: str,
    document: object,
    *,
    status: int = 200,
    location: str | None = None,
) -> Response:
    """A response with ``document`` rendered in ``media``.

    :param location: a path made absolute for the ``Location`` header (201).
    :raises NotAListing: text/uri-list for something that is not a listing (400).
    """
    base_url = request.public_url
    rendered = render(media, document, base_url)
    response = Response(rendered.body, content_type=rendered.content_type, charset="utf-8")
    response.status_int = status
    for name, value in wsgi_headers(_folded(rendered.headers)):
        response.headers.add(name, value)
    if location is not None:
        response.headers["Location"] = base_url.rstrip("/") + location
    response.headers["Vary"] = "Accept"
    response.headers["Accept"] = ACCEPTED
    return response


def created(request: Request, media: str, entities: Sequence[Entity]) -> Response:
    """201 Created with ``Location`` (GFD.223 §3.7, occi.md §10 items 12 and 14).

    Text renderings list the new locations (an entity_collection_rendering,
    GFD.223: "201 with an entity location or a list of locations"); JSON,
    which has no list of locations, renders the new entities in full.
    """
    locations = [entity.location or "" for entity in entities]
    if media in TEXT_MEDIA:
        document: object = Locations(tuple(locations))
    elif len(entities) == 1:
        document = entities[0]
    else:
        document = EntityCollection.of(entities)
    return respond(request, media, document, status=201, location=locations[0] or None)


def _folded(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Repeated fields joined into one comma-separated field, in order of first appearance.

    GFD.229 §3.3: clients MUST read both forms and comma-separated values are
    RECOMMENDED; every value is quoted where it holds a comma (the renderer's
    quoted-strings), so joining keeps them apart.
    """
    joined: dict[str, list[str]] = {}
    for name, value in headers:
        joined.setdefault(name, []).append(value)
    return [(name, ", ".join(values)) for name, values in joined.items()]


def no_content(request: Request) -> Response:
    """204 No Content (GFD.223 §3.7: a DELETE is 200 or 204)."""
    response = Response(status=204)
    response.headers["Vary"] = "Accept"
    return response


__all__ = [
    "ACCEPTED",
    "MEDIA",
    "TEXT_MEDIA",
    "body_locations",
    "created",
    "full_listing",
    "has_body",
    "header_filter",
    "listing_filter",
    "message",
    "negotiate",
    "no_content",
    "parser",
    "query",
    "renders_something",
    "respond",
]
