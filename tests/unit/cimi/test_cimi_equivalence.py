"""Property tests: for every type, JSON and XML carry the same neutral value, and both
serialisations satisfy the checked-in schemas (which are generated independently of the
codecs, from the same tables).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from unit.cimi.strategies import neutral

from cimi import schemas
from cimi.codec import Mode
from cimi.codec import json as json_codec
from cimi.codec import xml as xml_codec
from cimi.errors import DecodeError
from cimi.resources import TABLES, Role, Table


@pytest.mark.parametrize("name", sorted(TABLES))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_json_and_xml_carry_the_same_value_and_fit_the_schemas(
    name: str, data: st.DataObject
) -> None:
    table = TABLES[name]
    value: dict[str, Any] = data.draw(neutral(table))

    as_json = json_codec.encode(table, value)
    as_xml = xml_codec.encode(table, value)

    assert json_codec.decode(as_json, table) == value
    assert xml_codec.decode(as_xml, table) == value
    assert schemas.json_errors(table, json.loads(as_json)) == []
    assert schemas.xml_errors(table, etree.fromstring(as_xml)) == []

    # As client bodies, both forms keep (or refuse) exactly the same attributes.
    if table.role is not Role.COLLECTION:
        for mode in (Mode.CREATE, Mode.EDIT):
            assert outcome(json_codec.decode, as_json, table, mode) == outcome(
                xml_codec.decode, as_xml, table, mode
            )


def outcome(decode: Any, data: bytes, table: Table, mode: Mode) -> object:
    """The decoded value, or the message of the DecodeError."""
    try:
        return decode(data, table, mode=mode)
    except DecodeError as exc:
        return str(exc)
