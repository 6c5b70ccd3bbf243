"""Content negotiation with explicit defaults (never left to chance)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from webob.acceptparse import create_accept_header

if TYPE_CHECKING:
    from pyramid.request import Request


def choose(request: Request, offers: Sequence[str], default: str | None = None) -> str | None:
    """The best of ``offers`` for the request's Accept header.

    A missing, empty or ``*/*`` Accept header yields ``default`` (or the
    first offer). Returns None when the client accepts none of the offers,
    which the caller answers with 406.
    """
    return _choose(request.headers.get("Accept", "").strip(), tuple(offers), default)


# Clients send a handful of distinct Accept headers, and parsing one with its
# offers costs more than the rest of a small request's negotiation; the bound
# keeps a client that varies it on purpose from growing the cache.
@lru_cache(maxsize=512)
def _choose(raw: str, offers: tuple[str, ...], default: str | None) -> str | None:
    if not raw:
        return default or offers[0]
    accept = create_accept_header(raw)
    ranked = accept.acceptable_offers(list(offers))
    if not ranked:
        return None
    best_quality = ranked[0][1]
    best = [offer for offer, quality in ranked if quality == best_quality]
    # Among equally acceptable offers (e.g. "*/*"), prefer the default.
    if default in best:
        return default
    return best[0]
