"""The lexical layer of the text renderings: lists, parameters, quoted strings, values.

GFD.229 headers are RFC 7230 lists (``#rule``): values separated by commas,
each value a head followed by ``;``-separated parameters. Commas and
semicolons inside quoted strings, and inside the ``<URI>`` that opens a Link
value, are not separators (occi.md §10 item 4). Every function here runs in
linear time and raises only :class:`ParseError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from occi.model import AttributeValue
from occi.parsing.errors import ParseError

_INTEGER = re.compile(r"[+-]?[0-9]+")
# GFD.229 float = *DIGIT "." *DIGIT; an exponent is accepted too (tolerance).
_FLOAT = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?[0-9]+[eE][+-]?[0-9]+")
# An unquoted value: RFC 7230 token characters and the URI characters clients
# write without quotes (occi.md §10 item 8: enum values arrive unquoted).
_BARE = re.compile(r'[^\s",;\\]+')
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def split(value: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quoted strings and a leading ``<URI>``.

    Empty elements are dropped (RFC 7230 §7 lets lists contain them).

    :raises ParseError: for an unterminated quoted string or ``<``.
    """
    parts: list[str] = []
    start = 0
    index = 0
    length = len(value)
    blank = True  # nothing but whitespace since the last separator
    while index < length:
        char = value[index]
        if char == '"':
            index = read_quoted(value, index)[1]
            blank = False
            continue
        if char == "<" and blank:
            close = value.find(">", index)
            if close < 0:
                raise ParseError("'<' without a closing '>'")
            index = close + 1
            blank = False
            continue
        if char == separator:
            parts.append(value[start:index])
            start = index + 1
            blank = True
        elif not char.isspace():
            blank = False
        index += 1
    parts.append(value[start:])
    return [part.strip() for part in parts if part.strip()]


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted-string opening at ``text[start]``; return it and the index after it.

    Escapes: RFC 7230 quoted-pair (``\\x`` is ``x``), plus ``\\n``, ``\\r``,
    ``\\t`` and ``\\uXXXX``, which Concord's renderer writes for control
    characters (they cannot appear raw in a header line).

    :raises ParseError: when the string is not terminated or an escape is invalid.
    """
    chars: list[str] = []
    index = start + 1
    length = len(text)
    while index < length:
        char = text[index]
        if char == '"':
            return "".join(chars), index + 1
        if char == "\\":
            if index + 1 >= length:
                break
            escaped, index = _escape(text, index + 1)
            chars.append(escaped)
            continue
        chars.append(char)
        index += 1
    raise ParseError("unterminated quoted string")


def _escape(text: str, index: int) -> tuple[str, int]:
    """The character escaped at ``text[index]`` (after the backslash) and the next index."""
    char = text[index]
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char], index + 1
    if char == "u" and _HEX4.fullmatch(text, index + 1, index + 5):
        code = int(text[index + 1 : index + 5], 16)
        index += 5
        if (
            0xD800 <= code <= 0xDBFF
            and text.startswith("\\u", index)
            and _HEX4.fullmatch(text, index + 2, index + 6)
        ):
            low = int(text[index + 2 : index + 6], 16)
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), index + 6
        if 0xD800 <= code <= 0xDFFF:
            raise ParseError(f"\\u{code:04x} is half of a surrogate pair")
        return chr(code), index
    return char, index + 1


def unquote(text: str) -> tuple[str, bool]:
    """``(value, was_quoted)`` of a parameter value: a whole quoted-string or a bare token.

    :raises ParseError: for text after a closing quote.
    """
    text = text.strip()
    if not text.startswith('"'):
        return text, False
    value, end = read_quoted(text, 0)
    if text[end:].strip():
        raise ParseError(f"unexpected text after a quoted string: {text[end:].strip()!r}")
    return value, True


@dataclass(frozen=True)
class Param:
    """One ``name=value`` parameter; ``raw`` keeps the value as written, quotes included."""

    name: str
    raw: str

    @property
    def text(self) -> str:
        """The value unquoted (a bare token as is)."""
        return unquote(self.raw)[0]


def parse_param(segment: str) -> Param:
    """``name = value`` (whitespace around ``=`` tolerated, occi.md §10 item 6).

    :raises ParseError: when there is no ``=`` or no name.
    """
    name, equals, raw = segment.partition("=")
    name = name.strip()
    if not equals or not name:
        raise ParseError(f"expected name=value, got {segment!r}")
    return Param(name, raw.strip())


def parse_value(raw: str) -> AttributeValue:
    """A typed attribute-value (GFD.229: string | number | bool | enum-val).

    Quoted means string; ``true``/``false`` (any case) mean booleans; digits
    mean int or float (a sign and an exponent are tolerated); any other bare
    token is a string (unquoted enum values, occi.md §10 item 8).

    :raises ParseError: for an empty value, an unusable number or stray characters.
    """
    raw = raw.strip()
    if raw.startswith('"'):
        return unquote(raw)[0]
    if not raw:
        raise ParseError("missing value")
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if _INTEGER.fullmatch(raw):
        try:
            return int(raw)
        except ValueError:
            raise ParseError(f"number too long ({len(raw)} digits)") from None
    if _FLOAT.fullmatch(raw):
        number = float(raw)
        if not math.isfinite(number):
            raise ParseError(f"number out of range: {raw[:40]}")
        return number
    if _BARE.fullmatch(raw):
        return raw
    raise ParseError(f"invalid value {raw[:80]!r}: quote strings")
