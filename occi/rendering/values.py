"""Lexical rendering of text values: quoted strings and typed attribute values (GFD.229 §3.1).

The inverse of :mod:`occi.parsing.lexer`; the two are tested as a pair.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import singledispatch

# RFC 7230 §3.2.6 quoted-pair covers '"' and '\'. A header line cannot carry
# CR, LF or other control characters at all, so those are written as the JSON
# escapes \n, \r, \t and \u00XX (occi.md §10 item 4; Concord's parser reads
# them back, and reads any other backslash pair as RFC 7230 does).
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# One table for str.translate: every header line is full of quoted values, and
# translating in C is what keeps rendering cheap next to a bare app.
_TRANSLATION = {
    code: _ESCAPES.get(chr(code), f"\\u{code:04x}") for code in (*range(0x20), 0x7F)
} | {ord(char): escaped for char, escaped in _ESCAPES.items()}


def quote(value: str) -> str:
    """A quoted-string (RFC 7230 §3.2.6) that fits on one header line."""
    return '"' + value.translate(_TRANSLATION) + '"'


@singledispatch
def attribute_value(value: object) -> str:
    """An attribute-value (GFD.229 §3.1: string | number | bool).

    Lists and objects have no text form (occi.md §10 item 8); they are written
    as a quoted JSON string, which any client can still read.
    """
    raise TypeError(f"{type(value).__name__} is not an attribute value")


@attribute_value.register
def _(value: str) -> str:
    return quote(value)


@attribute_value.register
def _(value: bool) -> str:
    return "true" if value else "false"


@attribute_value.register
def _(value: int) -> str:
    # GFD.229 int = *DIGIT; a minus sign is Concord's extension (occi.md §10 item 8).
    return str(value)


@attribute_value.register
def _(value: float) -> str:
    # GFD.229 float = *DIGIT "." *DIGIT: positional notation, no exponent, and
    # the shortest digits that read back as the same float.
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


@attribute_value.register(list)
@attribute_value.register(dict)
def _(value: object) -> str:
    return quote(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
