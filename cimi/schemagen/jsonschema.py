"""JSON Schemas (draft 2020-12) of the CIMI JSON serialisation, generated from the tables.

One document per type (``Machine.json``, ``MachineCollection.json``,
``MachineCreate.json``, ``Action.json``...) plus ``common.json`` for the shared
data types. Each type document has:

* ``$defs.shape``: the attributes and their types, none required;
* ``$defs.byValue``: the shape plus ``href``: a reference given by value or
  expanded (5.5.6);
* the root: the shape, its ``resourceURI`` constant, and what is required in a
  full representation (requests: what the consumer must send).

Objects stay open (``additionalProperties`` is not false): the ``...`` of the
2.0.0 pseudo-schemas is an extension point. Arrays have at least one entry and
strings at least one character, since empty values are omitted (5.5.15).
"""

from __future__ import annotations

from typing import Any

from cimi.codec.scalars import INT_MAX, INT_MIN
from cimi.resources import Field, Kind, Place, Role, Table, collection_of

BASE = "https://concord.invalid/schemas/cimi/json/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

COMMON: dict[str, Any] = {
    "$schema": DRAFT,
    "$id": BASE + "common.json",
    "title": "CIMI data types (DSP0263 2.0.0 5.5)",
    "$defs": {
        "string": {"type": "string", "minLength": 1},
        "uri": {"type": "string", "pattern": "^[^\\u0000-\\u0020\\u007f]+$"},
        "dateTime": {
            "type": "string",
            "pattern": (
                "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?"
                "(Z|[+-][0-9]{2}:[0-9]{2})$"
            ),
        },
        "duration": {
            "type": "string",
            "pattern": (
                "^-?P(?=[0-9]|T[0-9])([0-9]+Y)?([0-9]+M)?([0-9]+D)?"
                "(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\\.[0-9]+)?S)?)?$"
            ),
        },
        "properties": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"minLength": 1},
            "additionalProperties": {"type": "string"},
        },
        "ref": {
            "type": "object",
            "properties": {"href": {"$ref": "#/$defs/uri"}},
            "minProperties": 1,
        },
    },
}


def _common(name: str) -> dict[str, Any]:
    return {"$ref": f"common.json#/$defs/{name}"}


def _scalar(field: Field) -> dict[str, Any]:
    kind = field.kind
    if kind is Kind.INTEGER:
        low = INT_MIN if field.minimum is None else field.minimum
        high = INT_MAX if field.maximum is None else field.maximum
        return {"type": "integer", "minimum": low, "maximum": high}
    if kind is Kind.BOOLEAN:
        return {"type": "boolean"}
    if kind is Kind.ENUM:
        return {"enum": list(field.values)}
    if kind is Kind.STRING and field.pattern:
        return {"type": "string", "pattern": f"^(?:{field.pattern})$"}
    names = {
        Kind.STRING: "string",
        Kind.URI: "uri",
        Kind.DATETIME: "dateTime",
        Kind.DURATION: "duration",
    }
    return _common(names[kind])


def _one(field: Field) -> dict[str, Any]:
    kind = field.kind
    if kind.scalar:
        return _scalar(field)
    if kind is Kind.MAP:
        return _common("properties")
    if kind is Kind.STRUCT:
        assert field.table is not None  # noqa: S101 (a table invariant)
        return _shape(field.table, required=[f.name for f in field.table.fields if f.required])
    if kind is Kind.RESOURCE:
        assert field.table is not None  # noqa: S101 (a table invariant)
        return {"$ref": f"{field.table.name}.json"}
    if field.target is None:
        return _common("ref")
    target = collection_of(field.target).name if kind is Kind.COLLECTION else field.target
    return {"$ref": f"{target}.json#/$defs/byValue"}


def _property(field: Field) -> dict[str, Any]:
    schema = _one(field)
    if field.many:
        schema = {"type": "array", "minItems": 1, "items": schema}
    if field.doc:
        schema = {"description": field.doc, **schema}
    return schema


def _shape(table: Table, required: list[str] | None = None) -> dict[str, Any]:
    properties = {f.name: _property(f) for f in table.fields if f.place is not Place.IMPLIED}
    shape: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        shape["required"] = required
    return shape


def required_fields(table: Table) -> list[str]:
    """What a full document of *table* must carry: requests what the consumer must send."""
    if table.role is Role.REQUEST:
        return [f.name for f in table.fields if f.create_required]
    return [f.name for f in table.fields if f.required]


def document(table: Table) -> dict[str, Any]:
    """The JSON Schema document of *table*."""
    root_required = ([] if table.role is Role.REQUEST else ["resourceURI"]) + required_fields(table)
    return {
        "$schema": DRAFT,
        "$id": f"{BASE}{table.name}.json",
        "title": table.name,
        "description": table.doc,
        "$ref": "#/$defs/shape",
        "properties": {"resourceURI": {"const": table.uri}},
        "required": root_required,
        "$defs": {
            "shape": _shape(table),
            "byValue": {
                "$ref": "#/$defs/shape",
                "properties": {"href": _common("uri")},
                "minProperties": 1,
            },
        },
    }
