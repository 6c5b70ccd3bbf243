"""The shape bound both renderings put on a client's JSON document.

OCCI's and CIMI's JSON decoders refuse a document deeper than the
``max_document_depth`` setting or with more values than
``max_document_elements``, each in its own error (docs/security.rst). The
walk is the same for both, so it is written once here; each rendering's
limits say how a refusal reads in that rendering.
"""

from __future__ import annotations

from typing import Any, Protocol


class ShapeLimits(Protocol):
    """What :func:`check_json_shape` needs of a rendering's limits."""

    @property
    def max_depth(self) -> int: ...

    @property
    def max_elements(self) -> int: ...

    def too_deep(self) -> Exception:
        """The rendering's error for a document nested too deep."""
        ...

    def too_many_values(self) -> Exception:
        """The rendering's error for a document with too many values."""
        ...


def check_json_shape(value: Any, limits: ShapeLimits) -> None:
    """Refuse a document deeper than ``max_depth`` or with more than ``max_elements`` values.

    One walk with an explicit stack, linear in the document: a hostile one
    can neither recurse the interpreter nor cost more than its size.

    :raises Exception: the rendering's own error, from ``limits``.
    """
    count = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.max_elements:
            raise limits.too_many_values()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limits.max_depth:
            raise limits.too_deep()
        stack.extend((child, depth + 1) for child in children)


__all__ = ["ShapeLimits", "check_json_shape"]
