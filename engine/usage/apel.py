"""The APEL Cloud Usage Record v0.4 message: one field table, its writer and its reader.

An APEL cloud message (apel/apel ``apel/db/records/cloud.py``; EGI's cASO
writes it, SSM carries it, the APEL repository loads it) is text: the line
``APEL-cloud-message: v0.4``, then records of ``Key: value`` lines, one field
per line, records separated by ``%%`` lines. :data:`CLOUD_FIELDS` says, for
every field APEL defines, its kind and whether it is mandatory; the writer
(:func:`render_cloud_messages`, used by the usage export) and the reader
(:func:`parse_cloud_message`, used by a federation's accounting repository)
both follow it, so the format is declared once.

A parsed record is a dict of the fields present, in the message's order:
text as ``str``, integers as ``int``, ``Benchmark`` as ``float`` and times as
whole seconds since the epoch (APEL accepts an epoch integer or an ISO 8601
UTC time ``YYYY-MM-DDTHH:MM:SSZ``; both read as the epoch integer). APEL
writes an absent value as ``None``: it is read as absent.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from engine.errors import InvalidInput

#: The first line of every cloud message.
APEL_CLOUD_HEADER = "APEL-cloud-message: v0.4"
#: APEL's limit of records per message (GGUS #143436).
APEL_MAX_RECORDS = 100
#: The line between two records.
SEPARATOR = "%%"
#: The longest text value: APEL's repository keeps them in VARCHAR(255) columns.
MAX_TEXT = 255
#: The largest integer value (a signed 64-bit column).
MAX_INT = 2**63 - 1
#: The statuses of a guest's record.
STATUSES = ("started", "completed", "suspended")

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_FLOAT = re.compile(r"\d{1,15}(\.\d{1,15})?")


class Kind(Enum):
    """What a field holds."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    TIME = "time"
    STATUS = "status"


@dataclass(frozen=True)
class Field:
    """One field of the record: its name, kind and whether a record must have it."""

    name: str
    kind: Kind
    mandatory: bool = False


#: Every field of an APEL cloud v0.4 record, in APEL's order
#: (``CloudRecord._msg_fields``); APEL refuses any other.
CLOUD_FIELDS: tuple[Field, ...] = (
    Field("RecordCreateTime", Kind.TIME),
    Field("VMUUID", Kind.TEXT, mandatory=True),
    Field("SiteName", Kind.TEXT, mandatory=True),
    Field("CloudComputeService", Kind.TEXT),
    Field("MachineName", Kind.TEXT),
    Field("LocalUserId", Kind.TEXT),
    Field("LocalGroupId", Kind.TEXT),
    Field("GlobalUserName", Kind.TEXT),
    Field("FQAN", Kind.TEXT),
    Field("Status", Kind.STATUS),
    Field("StartTime", Kind.TIME, mandatory=True),
    Field("EndTime", Kind.TIME),
    Field("SuspendDuration", Kind.INTEGER),
    Field("WallDuration", Kind.INTEGER),
    Field("CpuDuration", Kind.INTEGER),
    Field("CpuCount", Kind.INTEGER),
    Field("NetworkType", Kind.TEXT),
    Field("NetworkInbound", Kind.INTEGER),
    Field("NetworkOutbound", Kind.INTEGER),
    Field("PublicIPCount", Kind.INTEGER),
    Field("Memory", Kind.INTEGER),
    Field("Disk", Kind.INTEGER),
    Field("BenchmarkType", Kind.TEXT),
    Field("Benchmark", Kind.FLOAT),
    Field("StorageRecordId", Kind.TEXT),
    Field("ImageId", Kind.TEXT),
    Field("CloudType", Kind.TEXT),
)
FIELDS_BY_NAME: Mapping[str, Field] = {f.name: f for f in CLOUD_FIELDS}
MANDATORY = tuple(f.name for f in CLOUD_FIELDS if f.mandatory)


#: The last second APEL's repository can store (9999-12-31T23:59:59Z).
MAX_TIME = 253402300799


def _read_time(text: str) -> int:
    if text.isdigit() and len(text) <= 12:
        if int(text) > MAX_TIME:
            raise ValueError("is after the year 9999")
        return int(text)
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError("a time is whole seconds since 1970 or YYYY-MM-DDTHH:MM:SSZ")
    year, month, day, hour, minute, sec = (int(part) for part in match.groups())
    moment = dt.datetime(year, month, day, hour, minute, sec, tzinfo=dt.UTC)
    return int(moment.timestamp())


def read_value(field: Field, text: str) -> Any:
    """The value of ``field`` written as ``text`` (stripped, not ``None``).

    :raises ValueError: ``text`` is not a value of the field's kind.
    """
    if field.kind is Kind.INTEGER:
        if not text.isdigit() or len(text) > 19 or int(text) > MAX_INT:
            raise ValueError("must be a whole number, 0 or more")
        return int(text)
    if field.kind is Kind.FLOAT:
        if _FLOAT.fullmatch(text) is None:
            raise ValueError("must be a decimal number, 0 or more")
        return float(text)
    if field.kind is Kind.TIME:
        return _read_time(text)
    if field.kind is Kind.STATUS and text not in STATUSES:
        raise ValueError(f"must be one of {', '.join(STATUSES)}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return text


def write_value(field: Field, value: Any) -> str:
    """``value`` as ``field`` is written: the inverse of :func:`read_value`.

    :raises ValueError: the value is not of the field's kind, or would not read back.
    """
    if field.kind is Kind.TIME and isinstance(value, dt.datetime):
        value = int(value.timestamp())
    if field.kind in (Kind.INTEGER, Kind.TIME):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{field.name}: {value!r} is not a whole number")
        text = str(value)
    elif field.kind is Kind.FLOAT:
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{field.name}: {value!r} is not a finite number")
        text = repr(float(value))
    else:
        text = str(value)
    try:
        if read_value(field, text) != value:
            raise ValueError("changes when read back")
    except ValueError as exc:
        raise ValueError(f"{field.name}: {value!r} cannot be written: {exc}") from None
    if text != text.strip() or "\n" in text or "\r" in text or not text or text == "None":
        raise ValueError(f"{field.name}: {value!r} cannot be written on one line")
    return text


def render_cloud_record(record: Mapping[str, Any]) -> str:
    """One record's ``Key: value`` lines, in the record's order; ``None`` values left out.

    :raises ValueError: a field APEL does not define, or a value not of its kind.
    """
    lines = []
    for name, value in record.items():
        field = FIELDS_BY_NAME.get(name)
        if field is None:
            raise ValueError(f"{name} is not a field of an APEL cloud record")
        if value is not None:
            lines.append(f"{name}: {write_value(field, value)}")
    return "\n".join(lines)


def render_cloud_messages(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """APEL cloud messages of at most :data:`APEL_MAX_RECORDS` records each."""
    messages = []
    for first in range(0, len(records), APEL_MAX_RECORDS):
        bodies = [render_cloud_record(r) for r in records[first : first + APEL_MAX_RECORDS]]
        messages.append(APEL_CLOUD_HEADER + "\n" + f"\n{SEPARATOR}\n".join(bodies) + "\n")
    return messages


def _finish(record: dict[str, Any], number: int) -> dict[str, Any]:
    missing = [name for name in MANDATORY if name not in record]
    if missing:
        raise InvalidInput(
            f"record {number}: {', '.join(missing)} missing (mandatory in APEL)",
            subject="apel_message",
            reason="malformed",
        )
    return record


def parse_cloud_message(text: str) -> list[dict[str, Any]]:
    """The records of an APEL cloud v0.4 message, checked against :data:`CLOUD_FIELDS`.

    Blank lines and empty records (two ``%%`` in a row, a final ``%%``) are
    skipped, as APEL's loader skips them. One pass over the text.

    :raises InvalidInput: not a v0.4 cloud message, a line that is not
        ``Key: value``, a field APEL does not define or given twice in a
        record, a value not of its field's kind, a mandatory field missing,
        or no record at all; the message names the record and line.
    """
    lines = text.split("\n")
    position = 0
    while position < len(lines) and not lines[position].strip():
        position += 1
    if position == len(lines) or lines[position].strip() != APEL_CLOUD_HEADER:
        raise InvalidInput(
            f"not an APEL cloud message: the first line must be {APEL_CLOUD_HEADER!r}",
            subject="apel_message",
            reason="malformed",
        )
    records: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    seen: set[str] = set()
    for number, raw in enumerate(lines[position + 1 :], start=position + 2):
        line = raw.strip()
        if not line:
            continue
        if line == SEPARATOR:
            if seen:
                records.append(_finish(current, len(records) + 1))
            current, seen = {}, set()
            continue
        name, colon, value = line.partition(":")
        name, value = name.strip(), value.strip()
        where = f"record {len(records) + 1}, line {number}"
        if not colon:
            raise InvalidInput(
                f"{where}: not a 'Key: value' line", subject="apel_message", reason="malformed"
            )
        field = FIELDS_BY_NAME.get(name)
        if field is None:
            raise InvalidInput(
                f"{where}: {name[:64]!r} is not a field of an APEL cloud record",
                subject="apel_message",
                reason="malformed",
            )
        if name in seen:
            raise InvalidInput(
                f"{where}: {name} given twice", subject="apel_message", reason="malformed"
            )
        seen.add(name)
        if value in ("", "None"):
            continue
        try:
            current[name] = read_value(field, value)
        except ValueError as exc:
            raise InvalidInput(
                f"{where}: {name} {exc}", field=name, subject="apel_message", reason="malformed"
            ) from None
    if seen:
        records.append(_finish(current, len(records) + 1))
    if not records:
        raise InvalidInput(
            "the APEL cloud message holds no record", subject="apel_message", reason="malformed"
        )
    return records


__all__ = [
    "APEL_CLOUD_HEADER",
    "APEL_MAX_RECORDS",
    "CLOUD_FIELDS",
    "FIELDS_BY_NAME",
    "Field",
    "Kind",
    "parse_cloud_message",
    "read_value",
    "render_cloud_messages",
    "render_cloud_record",
    "write_value",
]
