"""OCCI renderings: text/occi headers, text/plain (which wraps them), JSON, uri-list.

Every renderer consumes the neutral structures of :mod:`occi.model` and
dispatches on their type (:func:`functools.singledispatch`); :func:`render`
picks the renderer for a media type from one table.

==========================  =========================================  ===================
media type                  module                                     carries data in
==========================  =========================================  ===================
text/occi                   :mod:`~occi.rendering.headers`             headers (body "OK")
text/plain, text/occi+plain :mod:`~occi.rendering.text`                body lines
application/occi+json,      :mod:`~occi.rendering.json`                body
application/json
text/uri-list               :mod:`~occi.rendering.urilist`             body (listings only)
==========================  =========================================  ===================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from occi.rendering.headers import Header, render_headers
from occi.rendering.json import dumps, render_json
from occi.rendering.text import OCCI_HEADERS_BODY, render_plain
from occi.rendering.urilist import NotAListing, render_uri_list

__all__ = ["MEDIA_TYPES", "NotAListing", "Rendered", "render", "wsgi_headers"]


@dataclass(frozen=True)
class Rendered:
    """What a view sends: the Content-Type, extra headers and the body text (UTF-8)."""

    content_type: str
    headers: tuple[Header, ...]
    body: str


def _text_occi(document: object, base_url: str | None) -> Rendered:
    return Rendered("text/occi", tuple(render_headers(document, base_url)), OCCI_HEADERS_BODY)


def _plain(media_type: str) -> Callable[[object, str | None], Rendered]:
    def render_body(document: object, base_url: str | None) -> Rendered:
        return Rendered(media_type, (), render_plain(document, base_url))

    return render_body


def _json(media_type: str) -> Callable[[object, str | None], Rendered]:
    def render_body(document: object, base_url: str | None) -> Rendered:
        return Rendered(media_type, (), dumps(render_json(document, base_url)))

    return render_body


def _uri_list(document: object, base_url: str | None) -> Rendered:
    return Rendered("text/uri-list", (), render_uri_list(document, base_url))


#: Media type -> renderer (GFD.229 §3, GFD.226 §2; application/json is an alias).
MEDIA_TYPES: dict[str, Callable[[object, str | None], Rendered]] = {
    "text/occi": _text_occi,
    "text/plain": _plain("text/plain"),
    "text/occi+plain": _plain("text/occi+plain"),
    "application/occi+json": _json("application/occi+json"),
    "application/json": _json("application/json"),
    "text/uri-list": _uri_list,
}


def render(media_type: str, document: object, base_url: str | None = None) -> Rendered:
    """Render a neutral OCCI structure in ``media_type``.

    :raises KeyError: for a media type OCCI does not render.
    :raises NotAListing: for text/uri-list and something that is not a listing.
    """
    return MEDIA_TYPES[media_type](document, base_url)


def wsgi_headers(headers: tuple[Header, ...] | list[Header]) -> list[Header]:
    """Header values as WSGI wants them (PEP 3333: latin-1 ``str`` holding the bytes).

    The values are UTF-8 on the wire: RFC 7230 §3.2.6 obs-text lets a
    quoted-string carry octets above 0x7F, and UTF-8 is what clients decode.
    """
    return [(name, value.encode("utf-8").decode("latin-1")) for name, value in headers]
