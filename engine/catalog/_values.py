"""Validation of the values catalog entries carry (sizes, words, text, properties).

Shared by :mod:`engine.catalog.service`; each check raises
:class:`~engine.errors.InvalidInput` naming the field, or returns the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from engine.errors import InvalidInput

#: The largest value of a 32-bit signed column.
INT32 = 2**31 - 1
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_MAX_PROPERTIES = 64


def integer(field: str, value: int, low: int, high: int = INT32) -> int:
    """Return ``value`` if it is an int (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be an integer", field=field, reason="integer")
    if not low <= value <= high:
        raise InvalidInput(
            f"{field} must be between {low} and {high}",
            field=field,
            value=value,
            reason="range",
            minimum=low,
            maximum=high,
        )
    return value


def word(field: str, value: str) -> str:
    """Return ``value`` if it is one short word (``linux``, ``x86_64``)."""
    if not isinstance(value, str) or not _WORD.match(value):
        raise InvalidInput(f"invalid {field} {value!r}", field=field, reason="format")
    return value


def text(field: str, value: str | None, limit: int = 1024) -> str | None:
    """Return ``value`` if it is ``None`` or text of at most ``limit`` characters."""
    if value is not None and (not isinstance(value, str) or len(value) > limit or "\x00" in value):
        raise InvalidInput(
            f"{field} is text of at most {limit} characters",
            field=field,
            reason="too_long",
            maximum=limit,
        )
    return value


def properties(value: Mapping[str, str] | None) -> dict[str, str]:
    """Return a copy of a string-to-string map of at most 64 entries (``None``: empty)."""
    # CIMI properties are a string-to-string map; so are ours.
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > _MAX_PROPERTIES:
        raise InvalidInput(
            f"properties map at most {_MAX_PROPERTIES} names to text",
            field="properties",
            reason="too_many",
            maximum=_MAX_PROPERTIES,
        )
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 255 or not isinstance(item, str):
            raise InvalidInput("property names are 1 to 255 characters; values are text")
        text("a property value", item)
    return dict(value)


__all__ = ["integer", "properties", "text", "word"]
