"""Generic CIMI codecs: one JSON and one XML serialisation, both driven by the tables.

Both decode into, and encode from, the same *neutral form*: a dict keyed by
CIMI attribute name whose values are typed (``str``, ``int``, ``bool``, aware
``datetime``, nested dicts, lists); ``resourceURI`` is implied by the table and
never part of it. So ``xml.decode(xml.encode(t, v), t) == json.decode(json.encode(t, v), t)``
holds by construction: both go through :mod:`cimi.codec.binding`.

:func:`decode` and :func:`encode` pick the codec by media type.
"""

from __future__ import annotations

from typing import Any

from cimi.codec import json as json_codec
from cimi.codec import xml as xml_codec
from cimi.codec.binding import Mode
from cimi.codec.limits import DEFAULT_LIMITS, Limits
from cimi.errors import DecodeError
from cimi.resources import Table

__all__ = ["JSON", "XML", "Limits", "Mode", "decode", "encode"]

JSON = json_codec.MEDIA_TYPE
XML = xml_codec.MEDIA_TYPE
#: Media types accepted on input, by codec; ``text/xml`` as Deltacloud accepted it.
_DECODERS = {
    "application/json": json_codec.decode,
    "application/xml": xml_codec.decode,
    "text/xml": xml_codec.decode,
}


def decode(
    data: bytes,
    table: Table,
    media_type: str,
    *,
    mode: Mode = Mode.REPRESENTATION,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Decode *data* of *media_type* (parameters such as ``charset`` ignored) as *table*.

    :raises DecodeError: for an unsupported media type too; the views answer
        415 for that case before calling this.
    """
    base = media_type.split(";", 1)[0].strip().lower()
    decoder = _DECODERS.get(base)
    if decoder is None:
        raise DecodeError(f"unsupported media type {base!r}: use {JSON} or {XML}")
    return decoder(data, table, mode=mode, strict=strict, limits=limits)


def encode(table: Table, value: Any, media_type: str, *, trusted: bool = False) -> bytes:
    """Encode a neutral *value* of *table* as *media_type* (JSON or XML).

    :param trusted: *value* is the server's own (a response): encoded without
        re-checking every value (:func:`~cimi.codec.binding.unbind_trusted`).
    """
    if media_type == XML:
        return xml_codec.encode(table, value, trusted=trusted)
    if media_type == JSON:
        return json_codec.encode(table, value, trusted=trusted)
    raise ValueError(f"no CIMI encoder for {media_type!r}")
