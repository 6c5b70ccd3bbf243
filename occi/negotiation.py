"""OCCI media types and the protocol version check (GFD.223 §3.2, GFD.229 §3)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pyramid.httpexceptions import HTTPNotAcceptable

from concord.negotiation import choose
from engine.errors import EngineError

if TYPE_CHECKING:
    from pyramid.request import Request

TEXT_PLAIN = "text/plain"
TEXT_OCCI_PLAIN = "text/occi+plain"
TEXT_OCCI = "text/occi"
URI_LIST = "text/uri-list"
OCCI_JSON = "application/occi+json"
JSON = "application/json"

#: What a category listing can be rendered as; text/plain is the default and
#: fall-back rendering (GFD.185 §3.5, kept in 1.2; occi.md §4.3).
CATEGORY_MEDIA = (TEXT_PLAIN, TEXT_OCCI_PLAIN, TEXT_OCCI, OCCI_JSON, JSON)

SUPPORTED_VERSION = (1, 2)
_VERSION = re.compile(r"\bOCCI/(\d+)\.(\d+)\b")


class VersionNotSupported(EngineError):
    """The client asked for an OCCI version above 1.2 (GFD.223 §3.2: answer 501)."""


def check_version(request: Request) -> None:
    """Refuse a client that announces an OCCI version higher than ours.

    :raises VersionNotSupported: mapped to 501 by the OCCI error renderer.
    """
    for major, minor in _VERSION.findall(request.headers.get("User-Agent", "")):
        if (int(major), int(minor)) > SUPPORTED_VERSION:
            raise VersionNotSupported(
                f"this server implements OCCI/1.2; the client asked for OCCI/{major}.{minor}"
            )


def media_type(request: Request, offers: tuple[str, ...]) -> str:
    """The rendering to answer with, or 406 when the client accepts none of ``offers``."""
    chosen = choose(request, offers, default=TEXT_PLAIN)
    if chosen is None:
        raise HTTPNotAcceptable(f"this resource can be rendered as: {', '.join(offers)}")
    return chosen
