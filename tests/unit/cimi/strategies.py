"""Hypothesis strategies that generate valid neutral values from the CIMI field tables.

Everything generated is non-empty where the spec omits empty values (5.5.15),
so a value survives encode -> decode unchanged and can be compared with ``==``.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from hypothesis import strategies as st

from cimi.codec.binding import target_table
from cimi.codec.scalars import INT_MAX, INT_MIN
from cimi.resources import Field, Kind, Place, Role, Table
from cimi.schemagen.jsonschema import required_fields

#: Deepest nesting of by-value references and expanded collections generated.
MAX_DEPTH = 1

#: Any character XML 1.0 can carry (no surrogates, no C0 controls but tab, LF, CR).
xml_chars = st.characters(
    exclude_categories=("Cs", "Cc"),
    exclude_characters="\ufffe\uffff",
    include_characters="\t\n\r",
)
texts = st.text(xml_chars, min_size=1, max_size=12)
map_values = st.text(xml_chars, max_size=8)
_segments = st.text("abcdefghijklmnopqrstuvwxyz0123456789._~-", min_size=1, max_size=8)
uris = st.builds(
    "".join,
    st.tuples(st.sampled_from(["", "http://example.com/", "https://h.test/cimi/"]), _segments),
) | st.lists(_segments, min_size=1, max_size=3).map("/".join)
zones = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
datetimes = st.datetimes(
    min_value=dt.datetime(1000, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=zones
)
base64_text = st.binary(min_size=1, max_size=12).map(lambda b: base64.b64encode(b).decode())
properties = st.dictionaries(texts, map_values, min_size=1, max_size=3)


def scalar(field: Field) -> st.SearchStrategy[Any]:
    """Valid neutral values of a scalar field."""
    kind = field.kind
    if kind is Kind.INTEGER:
        low = INT_MIN if field.minimum is None else field.minimum
        high = INT_MAX if field.maximum is None else field.maximum
        return st.integers(low, high)
    if kind is Kind.BOOLEAN:
        return st.booleans()
    if kind is Kind.DATETIME:
        return datetimes
    if kind is Kind.ENUM:
        return st.sampled_from(field.values)
    if kind is Kind.URI:
        return uris
    if kind is Kind.DURATION:
        return st.from_regex(r"P[0-9]{1,3}DT[0-9]{1,2}H", fullmatch=True)
    if field.pattern:  # the only patterned field is Base64 userData
        return base64_text
    return texts


def one(field: Field, depth: int) -> st.SearchStrategy[Any]:
    """Valid neutral values of one entry of *field*."""
    kind = field.kind
    if kind.scalar:
        return scalar(field)
    if kind is Kind.MAP:
        return properties
    if kind is Kind.STRUCT:
        assert field.table is not None
        return neutral(field.table, depth, complete=True).filter(bool)
    if kind is Kind.RESOURCE:
        assert field.table is not None
        return neutral(field.table, depth + 1, complete=True)
    href = st.fixed_dictionaries({"href": uris})
    if depth >= MAX_DEPTH or field.target is None:
        return href
    by_value = neutral(target_table(field), depth + 1, complete=False)
    with_href = st.builds(lambda h, v: {**v, **h}, href, by_value)
    return st.one_of(href, with_href, by_value.filter(bool))


def value(field: Field, depth: int) -> st.SearchStrategy[Any]:
    """Valid neutral values of *field* (a list for arrays)."""
    if field.many:
        return st.lists(one(field, depth), min_size=1, max_size=3)
    return one(field, depth)


def neutral(table: Table, depth: int = 0, *, complete: bool = True) -> st.SearchStrategy[Any]:
    """Valid neutral values of *table*.

    :param complete: include every attribute the table's schema requires (a
        full representation); by-value references need none.
    """
    fields = [f for f in table.fields if f.place is not Place.IMPLIED]
    if table.role is Role.STRUCTURE:
        needed = {f.name for f in fields if f.required}
    else:
        needed = set(required_fields(table)) if complete else set()
    required = {f.name: value(f, depth) for f in fields if f.name in needed}
    optional = {f.name: value(f, depth) for f in fields if f.name not in needed}
    return st.fixed_dictionaries(required, optional=optional)
