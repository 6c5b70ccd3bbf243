"""Response bodies as compact JSON, through orjson (issue 15).

The standard :mod:`json` module took 8 ms to encode a 1,000-entry CIMI
Collection, orjson 0.6 ms. orjson writes the same JSON text as
``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` (UTF-8, no
ASCII escaping, no spaces after separators) for everything a response holds:
strings, booleans, integers, floats in their shortest form, nested dicts and
lists in insertion order. The only deliberate change against the previous
bodies is that compaction (RFC 8259 §2 makes the white space insignificant).

What orjson refuses (integers beyond 64 bits, keys that are not strings)
falls back to the standard module, which writes the same compact form. Two
differences remain, neither reachable from engine values: a float's exponent
may be shorter (``1.5e-7``, not ``1.5e-07``), and NaN or an infinity is
written ``null`` where ``allow_nan=False`` raised.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(data: Any) -> bytes:
    """*data* as compact UTF-8 JSON.

    :raises TypeError: for a value that is not JSON data.
    """
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
