"""Values registered under path prefixes, looked up by the longest prefix a path falls under.

Each rendering claims its paths by prefix (``/cimi`` for CIMI, ``/`` for
OCCI's catch-all): its error renderer (:func:`concord.errors.add_error_renderer`)
and the product it names in the ``Server`` header
(:func:`concord.tweens.add_server_product`) are looked up this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it (a prefix is whole path segments)."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


class PrefixTable(Generic[T]):
    """Values by path prefix; the longest prefix a path falls under wins."""

    def __init__(self) -> None:
        self._entries: list[tuple[str, T]] = []

    def add(self, prefix: str, value: T) -> None:
        """Register ``value`` for the paths under ``prefix``."""
        self._entries.append((prefix, value))
        self._entries.sort(key=lambda entry: len(entry[0]), reverse=True)

    def match(self, path: str) -> tuple[str, T] | None:
        """``(prefix, value)`` of the longest prefix ``path`` falls under, if any."""
        for prefix, value in self._entries:
            if under(path, prefix):
                return prefix, value
        return None

    def __iter__(self) -> Iterator[tuple[str, T]]:
        """``(prefix, value)`` pairs, longest prefix first."""
        return iter(self._entries)


__all__ = ["PrefixTable", "under"]
