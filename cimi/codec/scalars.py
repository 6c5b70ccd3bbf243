"""Scalar values: parsing from JSON and from XML text, checking, and formatting.

This is the one place that knows the lexical rules of DSP0263 2.0.0 5.5:

* boolean: only ``true`` and ``false``, case-sensitive (5.5.1);
* dateTime: ``xs:dateTime`` *with* a time zone (5.5.2); neutral value: an aware
  :class:`datetime.datetime` (fractions beyond microseconds are truncated);
* duration: ``xs:duration`` (5.5.3); neutral value: the validated string;
* integer: ``xs:integer`` (5.5.4); Concord bounds it to signed 64 bits;
* string: any XML 1.0 characters (5.5.5), so that every value decoded from
  JSON can also be written as XML;
* URI: no white space or control characters (5.5.10); relative URIs allowed.

XML text of non-string types is white-space collapsed (as XSD does); strings
keep their text exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from cimi.resources import Field, Kind

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

#: Characters XML 1.0 cannot carry (the complement of its Char production).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_URI_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DATETIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"T(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]+))?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})"
)
_DURATION = re.compile(
    r"-?P(?=[0-9]|T[0-9])([0-9]+Y)?([0-9]+M)?([0-9]+D)?"
    r"(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?"
)


class ScalarError(ValueError):
    """A scalar value breaks its field's rules; the message says why."""


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ``xs:dateTime`` with a mandatory zone into an aware datetime.

    :raises ScalarError: when *text* is not such a value.
    """
    m = _DATETIME.fullmatch(text)
    if m is None:
        raise ScalarError(
            f"expected a dateTime with a time zone, such as 2012-05-25T13:30:15-05:00, got {text!r}"
        )
    zone = m["tz"]
    if zone == "Z":
        tz = dt.UTC
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 14 or minutes > 59 or (hours == 14 and minutes):
            raise ScalarError(f"time zone offset out of range in {text!r}")
        sign = -1 if zone[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    try:
        return dt.datetime(
            int(m["y"]), int(m["mo"]), int(m["d"]),
            int(m["h"]), int(m["mi"]), int(m["s"]), micro, tzinfo=tz,
        )  # fmt: skip
    except ValueError as exc:
        raise ScalarError(f"invalid dateTime {text!r}: {exc}") from None


def format_datetime(value: dt.datetime) -> str:
    """The canonical ``xs:dateTime`` of an aware datetime (``Z`` for UTC)."""
    offset = value.utcoffset()
    if offset is None:
        raise ScalarError("a dateTime needs a time zone")
    if offset % dt.timedelta(minutes=1):
        raise ScalarError("a dateTime offset must be whole minutes")
    text = value.replace(tzinfo=None).isoformat()
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def check(field: Field, value: Any) -> None:
    """Check that *value* is a valid neutral value of the scalar *field*.

    :raises ScalarError: saying what is wrong.
    """
    kind = field.kind
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise ScalarError(f"expected a boolean, got {_show(value)}")
    elif kind is Kind.INTEGER:
        _check_integer(field, value)
    elif kind is Kind.DATETIME:
        if not isinstance(value, dt.datetime):
            raise ScalarError(f"expected a dateTime, got {_show(value)}")
        format_datetime(value)
    elif not isinstance(value, str):
        raise ScalarError(f"expected a string, got {_show(value)}")
    else:
        _check_string(field, value)


def _check_integer(field: Field, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScalarError(f"expected an integer, got {_show(value)}")
    low = INT_MIN if field.minimum is None else field.minimum
    high = INT_MAX if field.maximum is None else field.maximum
    if not low <= value <= high:
        raise ScalarError(f"{value} is out of range [{low}, {high}]")


def _check_string(field: Field, value: str) -> None:
    bad = _NOT_XML_CHAR.search(value)
    if bad:
        raise ScalarError(f"character U+{ord(bad.group()):04X} is not allowed")
    kind = field.kind
    if kind is Kind.URI and (not value or _URI_FORBIDDEN.search(value)):
        raise ScalarError(f"expected a URI without spaces or control characters, got {value!r}")
    if kind is Kind.ENUM and value not in field.values:
        raise ScalarError(f"{value!r} is not one of {', '.join(field.values)}")
    if kind is Kind.DURATION and not _DURATION.fullmatch(value):
        raise ScalarError(f"expected an xs:duration such as P1DT2H, got {value!r}")
    if field.pattern and not re.fullmatch(field.pattern, value):
        raise ScalarError(f"{value!r} does not match the pattern {field.pattern}")


def from_json(field: Field, value: Any) -> Any:
    """The neutral value of a scalar *field* decoded from JSON."""
    if field.kind is Kind.DATETIME:
        if not isinstance(value, str):
            raise ScalarError(f"expected a dateTime string, got {_show(value)}")
        value = parse_datetime(value)
    check(field, value)
    return value


def from_text(field: Field, text: str) -> Any:
    """The neutral value of a scalar *field* decoded from XML text."""
    kind = field.kind
    value: Any = text
    if kind is not Kind.STRING:
        value = text.strip(" \t\r\n")  # xs:whiteSpace collapse for non-string types
    if kind is Kind.INTEGER:
        if not _INTEGER.fullmatch(value):
            raise ScalarError(f"expected an integer, got {text!r}")
        if len(value.lstrip("+-").lstrip("0")) > 19:  # beyond 64 bits; int() would be slow
            raise ScalarError(f"{value} is out of range [{INT_MIN}, {INT_MAX}]")
        value = int(value)
    elif kind is Kind.BOOLEAN:
        if value not in ("true", "false"):
            raise ScalarError(f"expected true or false, got {text!r}")
        value = value == "true"
    elif kind is Kind.DATETIME:
        value = parse_datetime(value)
    check(field, value)
    return value


def to_json(field: Field, value: Any) -> Any:
    """The JSON value of a checked neutral scalar."""
    if field.kind is Kind.DATETIME:
        return format_datetime(value)
    return value


def to_text(value: Any) -> str:
    """The XML text of a JSON scalar (as produced by :func:`to_json`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
