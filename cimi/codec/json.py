"""The JSON codec: bytes <-> wire form, then :mod:`cimi.codec.binding` <-> neutral form.

Parsing rules on top of RFC 8259: UTF-8 only (a BOM is tolerated); the top
level is an object; a key appears once per object (a map's keys are unique,
DSP0263 2.0.0 5.5.7); ``NaN`` and ``Infinity`` are refused; size, nesting, the
number of values and the members of one object are bounded by
:class:`~cimi.codec.limits.Limits`, all in time linear in the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cimi.codec.binding import Mode, bind, unbind, unbind_trusted
from cimi.codec.limits import DEFAULT_LIMITS, Limits
from cimi.errors import DecodeError
from cimi.resources import Table
from concord import compact_json
from concord.limits import check_json_shape

MEDIA_TYPE = "application/json"


def _object_hook(limits: Limits) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """Build each object from its members: a key once, at most ``max_attributes`` members."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(pairs) > limits.max_attributes:
            raise limits.too_many_attributes("a JSON object", "members")
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise DecodeError(f"duplicate key {key!r} in a JSON object")
            obj[key] = value
        return obj

    return build


def _no_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not a JSON number")


def check_shape(value: Any, limits: Limits) -> None:
    """Refuse a document deeper than ``max_depth`` or with more than ``max_elements`` values.

    One walk, linear in the document (members per object are bounded as
    objects are built, see :func:`_object_hook`).
    """
    check_json_shape(value, limits)


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
        wire = json.loads(text, object_pairs_hook=_object_hook(limits), parse_constant=_no_constant)
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
    check_shape(wire, limits)
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
    """Serialise a wire form as UTF-8 JSON: compact (orjson), or indented for people."""
    if indent is None:
        return compact_json.dumps(wire)
    return json.dumps(wire, ensure_ascii=False, indent=indent).encode("utf-8")


def encode(table: Table, value: Any, *, indent: int | None = None, trusted: bool = False) -> bytes:
    """Encode a neutral value of type *table* as a JSON document.

    :param trusted: the server built *value* itself: skip the checks
        (:func:`~cimi.codec.binding.unbind_trusted`, same output).
    :raises EncodeError: when *value* does not fit the table (checked path).
    """
    wire = unbind_trusted(table, value) if trusted else unbind(table, value)
    return dumps(wire, indent=indent)
