"""Readable names for catalog entries and zones, shared by both renderings.

OCCI types templates and zones by terms (``os_tpl#debian-12``), CIMI addresses
configurations and images by hrefs (``machineConfigs/small``): both made from
the entry's name, so that a person can type them, and both the same words for
the same entry. Names are unique per owner only, so among the entries one
caller sees the oldest keeps the plain name and a later one with the same
name gets its id's first eight characters after it (``debian-12-3f2a9c1e``):
a name never changes when another entry is added. Ids stay aliases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: GFD.229 ``term`` as OCCI's registry checks it: also a safe URL path segment.
TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def make_term(text: str) -> str:
    """A valid term made from any identifier, e.g. an image name.

    Characters outside ``[A-Za-z0-9._-]`` become ``_``; a leading ``.``, ``-``
    or ``_`` gets an ``x`` in front.

    :raises ValueError: for an empty ``text``.
    """
    if not text:
        raise ValueError("a term cannot be empty")
    term = re.sub(r"[^A-Za-z0-9._-]", "_", text)
    return term if TERM.fullmatch(term) else "x" + term


def readable_terms(entries: Iterable[Any]) -> dict[str, str]:
    """``{entry id: term}``: terms made from names, unique among ``entries``
    (catalog entries or zones: anything with an ``id``, a ``name`` and a ``created``).

    Oldest first, each entry takes the first of ``<name>``, ``<name>-<id[:8]>``
    and ``<name>-<id>`` that no older entry took and that is no other entry's
    id (ids stay aliases: a term must never mean another entry's id).
    """
    ordered = sorted(entries, key=lambda entry: (entry.created, entry.id))
    ids = {entry.id for entry in ordered}
    taken: set[str] = set()
    terms: dict[str, str] = {}
    for entry in ordered:
        base = make_term(entry.name or entry.id)
        candidates = (base, f"{base}-{entry.id[:8]}", make_term(f"{base}-{entry.id}"))
        term = next(
            (c for c in candidates if c not in taken and (c not in ids or c == entry.id)),
            candidates[-1],
        )
        taken.add(term)
        terms[entry.id] = term
    return terms


__all__ = ["TERM", "make_term", "readable_terms"]
