"""The APEL cloud v0.4 field table: what the export writes, the repository's reader reads back.

The round trip runs through :func:`engine.usage.export.apel_cloud_message`,
the writer ``concord usage export --format apel`` uses, and
:func:`engine.usage.apel.parse_cloud_message`, the reader of an accounting
repository's intake: any record made of the table's fields comes back equal.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InvalidInput
from engine.usage.apel import (
    APEL_CLOUD_HEADER,
    CLOUD_FIELDS,
    FIELDS_BY_NAME,
    MAX_INT,
    MAX_TIME,
    STATUSES,
    Field,
    Kind,
    parse_cloud_message,
    render_cloud_record,
)
from engine.usage.export import apel_cloud_message

_TEXT = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(lambda text: text not in ("", "None"))
)


def _value(field: Field) -> st.SearchStrategy[Any]:
    return {
        Kind.TEXT: _TEXT,
        Kind.INTEGER: st.integers(0, MAX_INT),
        Kind.FLOAT: st.integers(0, 10**9).map(lambda n: n / 100),
        Kind.TIME: st.integers(0, MAX_TIME),
        Kind.STATUS: st.sampled_from(STATUSES),
    }[field.kind]


RECORDS = st.fixed_dictionaries(
    {f.name: _value(f) for f in CLOUD_FIELDS if f.mandatory},
    optional={f.name: _value(f) for f in CLOUD_FIELDS if not f.mandatory},
)


# No timing checks: a loaded machine must not fail the test (records are big inputs).
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(RECORDS, min_size=1, max_size=120))
def test_export_then_parse_gives_the_same_records(records: list[dict[str, Any]]) -> None:
    messages = apel_cloud_message(records)
    assert len(messages) == -(-len(records) // 100)  # at most 100 records a message
    parsed = [r for message in messages for r in parse_cloud_message(message)]
    assert parsed == records


def test_iso_times_and_none_values_read_as_apel_reads_them() -> None:
    text = (
        f"{APEL_CLOUD_HEADER}\n\nVMUUID: vm-1\r\nSiteName: site-b\n"
        "StartTime: 2026-12-01T00:00:10Z\nEndTime: None\nImageId: https://x/y#z\n%%\n"
    )
    assert parse_cloud_message(text) == [
        {
            "VMUUID": "vm-1",
            "SiteName": "site-b",
            "StartTime": 1796083210,
            "ImageId": "https://x/y#z",
        }
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MachineName", "two\nlines"),
        ("MachineName", " padded "),
        ("MachineName", "None"),
        ("MachineName", "x" * 256),
        ("Memory", -1),
        ("Memory", True),
        ("Memory", "12"),
        ("Benchmark", float("nan")),
        ("StartTime", MAX_TIME + 1),
        ("Status", "gone"),
        ("Colour", "red"),
    ],
)
def test_the_writer_refuses_what_would_not_read_back(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        render_cloud_record({"VMUUID": "vm-1", name: value})


def test_every_field_of_the_table_is_apels() -> None:
    # APEL's CloudRecord._msg_fields (apel/apel, apel/db/records/cloud.py): 27 fields.
    assert len(FIELDS_BY_NAME) == len(CLOUD_FIELDS) == 27
    assert [f.name for f in CLOUD_FIELDS if f.mandatory] == ["VMUUID", "SiteName", "StartTime"]


@pytest.mark.parametrize(
    "tail",
    [
        "StartTime: 999999999999999\n",  # past the year 9999
        "StartTime: 2026-13-01T00:00:00Z\n",
        "WallDuration: 99999999999999999999\n",
        "Benchmark: 1e5\n",
    ],
)
def test_out_of_range_values_are_refused(tail: str) -> None:
    text = f"{APEL_CLOUD_HEADER}\nVMUUID: a\nSiteName: s\n" + (
        tail if tail.startswith("StartTime") else "StartTime: 1\n" + tail
    )
    with pytest.raises(InvalidInput, match="record 1"):
        parse_cloud_message(text)
