"""The trusted encoding path (responses) writes exactly what the checked path writes.

:func:`cimi.codec.binding.unbind_trusted` skips the per-value checks of
:func:`~cimi.codec.binding.unbind` for values the server built itself
(issue 15). For any valid neutral value of any table, including the empty
strings, maps and arrays that both must leave out (DSP0263 5.5.15), both paths
give the same wire form, so the same JSON and XML bytes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.cimi.strategies import neutral

from cimi.codec import json as json_codec
from cimi.codec import xml as xml_codec
from cimi.codec.binding import unbind, unbind_trusted
from cimi.resources import TABLES, Kind, Place
from cimi.resources._model import STRING_KINDS


def _emptied(table: Any, value: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """*value* with some attributes set to the empty forms the encoder leaves out."""
    out = dict(value)
    for field in table.fields:
        if field.place is Place.IMPLIED or not data.draw(st.booleans()):
            continue
        if field.many:
            out[field.name] = []
        elif field.kind in STRING_KINDS:
            out[field.name] = ""
        elif field.kind in (Kind.MAP, Kind.STRUCT, Kind.REF, Kind.COLLECTION):
            out[field.name] = {}
    return out


@pytest.mark.parametrize("name", sorted(TABLES))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_trusted_path_writes_what_the_checked_path_writes(
    name: str, data: st.DataObject
) -> None:
    table = TABLES[name]
    value: dict[str, Any] = data.draw(neutral(table))
    if data.draw(st.booleans()):
        value = _emptied(table, value, data)

    checked = unbind(table, value)
    assert unbind_trusted(table, value) == checked
    assert list(unbind_trusted(table, value)) == list(checked)  # the same order too
    assert json_codec.encode(table, value, trusted=True) == json_codec.encode(table, value)
    assert xml_codec.encode(table, value, trusted=True) == xml_codec.encode(table, value)
