"""The JSON codec: bytes <-> wire form, then :mod:`cimi.codec.binding` <-> neutral form.

Parsing rules on top of RFC 8259: UTF-8 only (a BOM is tolerated); the top
level is an object; a key appears once per object (a map's keys are unique,
DSP0263 2.0.0 5.5.7); ``NaN`` and ``Infinity`` are refused; size and nesting
are bounded by :class:`~cimi.codec.limits.Limits`.
"""

from __future__ import annotations

import json
from typing import Any

from cimi.codec.binding import Mode, bind, unbind
from cimi.codec.limits import DEFAULT_LIMITS, Limits
from cimi.errors import DecodeError
from cimi.resources import Table

MEDIA_TYPE = "application/json"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise DecodeError(f"duplicate key {key!r} in a JSON object")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in node)
    return deepest


def loads(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse a JSON body into its wire form (a dict), safely.

    :raises DecodeError: for anything but a bounded, well-formed JSON object.
    """
    limits.check_size(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"a JSON body must be UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        wire = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise limits.too_deep() from None
    except ValueError as exc:  # e.g. an integer literal with thousands of digits
        raise DecodeError(f"malformed JSON: {exc}") from None
    if not isinstance(wire, dict):
        raise DecodeError("a CIMI JSON body must be an object")
    if _depth(wire) > limits.max_depth:
        raise limits.too_deep()
    return wire


def decode(
    data: bytes,
    table: Table,
    *,
    mode: Mode = Mode.REPRESENTATION,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Decode a JSON body of type *table* into its neutral form.

    :param mode: what the body is for (see :class:`~cimi.codec.binding.Mode`).
    :param strict: reject unknown attributes rather than ignore them.
    :raises DecodeError: with a message precise enough for a 400 answer.
    """
    return bind(table, loads(data, limits), mode=mode, strict=strict)


def dumps(wire: Any, *, indent: int | None = None) -> bytes:
    """Serialise a wire form as UTF-8 JSON."""
    return json.dumps(wire, ensure_ascii=False, indent=indent).encode("utf-8")


def encode(table: Table, value: Any, *, indent: int | None = None) -> bytes:
    """Encode a neutral value of type *table* as a JSON document.

    :raises EncodeError: when *value* does not fit the table.
    """
    return dumps(unbind(table, value), indent=indent)
