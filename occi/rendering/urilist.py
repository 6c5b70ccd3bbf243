"""``text/uri-list`` (RFC 2483) for listings only (GFD.229 §3.4).

"If a request is done with the text/uri-list in the Accept header, while not
requesting for a Listing a Bad Request MUST be returned": anything but a
listing raises :class:`NotAListing`, which the views turn into 400.
"""

from __future__ import annotations

from functools import singledispatch

from occi.model import EntityCollection, Locations, absolute


class NotAListing(TypeError):
    """text/uri-list was asked for something that is not a listing (GFD.229 §3.4: 400)."""


@singledispatch
def render_uri_list(document: object, base_url: str | None = None) -> str:
    """One absolute URL per CRLF-terminated line (RFC 2483 §5).

    :raises NotAListing: for anything but :class:`Locations` or an :class:`EntityCollection`.
    """
    raise NotAListing(f"text/uri-list renders listings only, not {type(document).__name__}")


@render_uri_list.register
def _(locations: Locations, base_url: str | None = None) -> str:
    return "".join(f"{absolute(base_url, location)}\r\n" for location in locations.locations)


@render_uri_list.register
def _(collection: EntityCollection, base_url: str | None = None) -> str:
    locations = []
    for entity in collection.entities:
        if entity.location is None:
            raise ValueError("an entity in a collection needs a location to be listed")
        locations.append(entity.location)
    return render_uri_list(Locations(tuple(locations)), base_url)
