"""Coercion of attribute values to their definitions (occi.md §10 items 8 and 9).

The text rendering has no integer/float distinction, clients quote numbers and
booleans (ooi sends ``"true"``), and JSON clients send ``2`` for ``2.0``. So a
value is checked *and* converted by its definition's type, through one table
keyed by :class:`~occi.categories.types.AttributeType`.

This module sits below :mod:`occi.categories.types`, which imports it: it says
what it needs of a definition as the :class:`Constrained` protocol, which
:class:`~occi.categories.types.Attribute` satisfies, rather than import it.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

from occi.model import AttributeValue

_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class Constrained(Protocol):
    """What coercion reads of an attribute definition (an ``Attribute`` has it all)."""

    @property
    def name(self) -> str:
        """The attribute's name, for messages."""

    @property
    def type(self) -> str:
        """An ``AttributeType`` value: ``"string"``, ``"integer"``, ..."""

    @property
    def enum(self) -> tuple[str, ...]:
        """The allowed values, if it is an enumeration."""

    @property
    def pattern(self) -> str | None:
        """A POSIX ERE every string value matches."""

    @property
    def minimum(self) -> int | float | None:
        """The lowest allowed number."""

    @property
    def maximum(self) -> int | float | None:
        """The highest allowed number."""


def coerce(attribute: Constrained, value: object) -> AttributeValue:
    """``value`` converted to ``attribute``'s type and checked against its constraints.

    :raises ValueError: naming the attribute and what was wrong.
    """
    try:
        converted = _CONVERTERS[attribute.type](value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{attribute.name}: {exc}") from None
    _check_constraints(attribute, converted)
    return converted


def _check_constraints(attribute: Constrained, value: AttributeValue) -> None:
    if attribute.enum and value not in attribute.enum:
        raise ValueError(f"{attribute.name}: {value!r} is not one of {', '.join(attribute.enum)}")
    pattern = attribute.pattern
    if pattern is not None and isinstance(value, str) and not _compiled(pattern).search(value):
        raise ValueError(f"{attribute.name}: {value!r} does not match {pattern}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if attribute.minimum is not None and value < attribute.minimum:
            raise ValueError(f"{attribute.name}: {value} is below {attribute.minimum}")
        if attribute.maximum is not None and value > attribute.maximum:
            raise ValueError(f"{attribute.name}: {value} is above {attribute.maximum}")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    # GFD.229 §3.1.1 patterns are POSIX EREs; the subset used here (anchors,
    # alternation, classes, repetition) means the same in Python's re.
    return re.compile(pattern)


def _string(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"expected a string, got {_name(value)}")


def _integer(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _float(value: object) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    numeric = isinstance(value, int | float)
    if not (numeric or (isinstance(value, str) and _FLOAT.fullmatch(value.strip()))):
        raise ValueError(f"expected a number, got {value!r}")
    result = float(value)  # type: ignore[arg-type]
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"expected true or false, got {value!r}")


def _uri(value: object) -> str:
    text = _string(value)
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"expected a URI, got {value!r}")
    return text


def _ip(value: object) -> str:
    # GFD.224 §3.4.1 calls occi.networkinterface.address an "IPv4 or IPv6
    # Address" but its example is 192.168.0.1/24: accept both forms.
    text = _string(value).strip()
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError(f"expected an IPv4 or IPv6 address, got {value!r}") from None
    return text


def _cidr(value: object) -> str:
    text = _string(value).strip()
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"expected an address range in CIDR notation, got {value!r}") from None
    return text


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {_name(value)}")
    return value


def _hash(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {_name(value)}")
    return value


def _name(value: object) -> str:
    return type(value).__name__


# Keyed by the AttributeType values (a StrEnum member hashes as its string), so
# this module needs no import of occi.categories.types, which imports it.
_CONVERTERS: dict[str, Callable[[object], AttributeValue]] = {
    "string": _string,
    "enum": _string,
    "integer": _integer,
    "float": _float,
    "boolean": _boolean,
    "uri": _uri,
    "ip": _ip,
    "cidr": _cidr,
    "list": _list,
    "hash": _hash,
}
