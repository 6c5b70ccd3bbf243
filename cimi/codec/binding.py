"""The one table walker: wire form <-> neutral form, with validation.

Both codecs meet here. The *wire form* is the JSON shape of a document
(objects, arrays, ``{"href": ..}``, ``"properties": {k: v}``): the JSON codec
gets it from :func:`json.loads`, the XML codec builds it from the element tree
(with every scalar still as text). :func:`bind` turns wire into the *neutral
form* (typed Python values keyed by attribute name, without ``resourceURI``),
validating against the table; :func:`unbind` goes back, checking the neutral
value first. Nothing else in Concord parses a CIMI body, so JSON and XML agree
by construction.

Decisions (see the CIMI notes in ``docs/``):

* unknown attributes are an extension point (5.1, ``xs:any``, the ``...`` of
  the pseudo-schemas): ignored, unless the caller asks for ``strict``;
* in client bodies, attributes the client may not write in this mode are
  dropped silently (read-only ones always; create-only ones on edit), as a
  client echoing back a representation must not be refused (cimi.md 2.7);
* empty strings, maps and arrays mean "absent" (5.5.15); so does JSON null;
* a by-value template is checked for its own required attributes only when it
  has no ``href``: with an ``href`` its attributes override the referenced one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cimi.codec import scalars
from cimi.errors import DecodeError, EncodeError
from cimi.resources import NS, NS_ALT, Access, Field, Kind, Place, Role, Table, collection_of
from cimi.resources import table as lookup
from cimi.resources._model import STRING_KINDS

#: A reference's own ``href`` attribute (5.5.6).
HREF = Field("href", Kind.URI, Access.READ_WRITE, place=Place.ATTRIBUTE)
#: The target of references to types Concord does not model: just an href.
_OPAQUE = Table("ref", (), Role.STRUCTURE)


class Mode(enum.Enum):
    """What a decoded document is."""

    #: a client body for "add" (POST to a Collection) or an Action
    CREATE = "create"
    #: a client body for "edit" (PUT)
    EDIT = "edit"
    #: a full representation, as a provider sends it: nothing is dropped
    REPRESENTATION = "representation"


class _Absent:
    """Marks a value that decodes to nothing (an empty string, map or array)."""


ABSENT = _Absent()


@dataclass(frozen=True)
class _Context:
    mode: Mode
    lexical: bool
    strict: bool


def target_table(field: Field) -> Table:
    """The table a REF or COLLECTION value is walked with (by value, or expanded)."""
    if field.target is None:
        return _OPAQUE
    if field.kind is Kind.COLLECTION:
        return collection_of(field.target)
    return lookup(field.target)


def check_type_uri(table: Table, value: Any, path: str) -> None:
    """Check a document's ``resourceURI`` against the expected *table*.

    ``<Type>`` and ``<Type>Create`` are both accepted (5.5.12.1 names the body
    of "add" after the created type), in the CIMI 2 or the CIMI 1 namespace.
    """
    if not isinstance(value, str) or not value:
        raise DecodeError(f"{path or 'resourceURI'}: expected a type URI")
    base = table.name.removesuffix("Create")
    if value not in {f"{ns}/{name}" for ns in (NS, NS_ALT) for name in (base, base + "Create")}:
        raise DecodeError(f"resourceURI {value!r} does not match the expected type {table.uri}")


def bind(
    table: Table,
    wire: Any,
    *,
    mode: Mode = Mode.REPRESENTATION,
    lexical: bool = False,
    strict: bool = False,
) -> dict[str, Any]:
    """Validate a wire document against *table* and return its neutral form.

    :param wire: the JSON-shaped document (a mapping).
    :param mode: which attributes the document may set.
    :param lexical: True when scalars are XML text rather than JSON values.
    :param strict: reject unknown attributes instead of ignoring them.
    :raises DecodeError: naming the offending attribute.
    """
    if not isinstance(wire, Mapping):
        raise DecodeError(f"expected a {table.name} object")
    if wire.get("resourceURI") is not None:
        check_type_uri(table, wire["resourceURI"], "")
    ctx = _Context(mode, lexical, strict)
    return _bind_table(table, wire, ctx, "", href=False, enforce=True)


def _writable(field: Field, mode: Mode) -> bool:
    if mode is Mode.REPRESENTATION:
        return True
    if mode is Mode.EDIT:
        return field.access is Access.READ_WRITE
    return field.access is not Access.READ_ONLY


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bind_table(
    table: Table, wire: Mapping[str, Any], ctx: _Context, path: str, *, href: bool, enforce: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in wire.items():
        here = _join(path, key)
        if href and key == "href":
            field = HREF
        else:
            found = table.get(key)
            if found is None or found.place is Place.IMPLIED:
                if key != "resourceURI" and ctx.strict:
                    raise DecodeError(f"{here}: unknown attribute of {table.name}")
                continue
            field = found
            if not _writable(field, ctx.mode):
                continue
        if raw is None:
            continue
        value = _bind_field(field, raw, ctx, here)
        if value is not ABSENT:
            out[key] = value
    if enforce and ctx.mode is Mode.CREATE:
        for field in table.fields:
            if field.create_required and field.name not in out:
                raise DecodeError(f"{_join(path, field.name)}: required attribute is missing")
    return out


def _bind_field(field: Field, raw: Any, ctx: _Context, path: str) -> Any:
    if not field.many:
        return _bind_one(field, raw, ctx, path)
    if not isinstance(raw, list):
        raise DecodeError(f"{path}: expected an array")
    items = [_bind_one(field, item, ctx, f"{path}[{i}]") for i, item in enumerate(raw)]
    return [item for item in items if item is not ABSENT] or ABSENT


def _bind_one(field: Field, raw: Any, ctx: _Context, path: str) -> Any:
    kind = field.kind
    if kind.scalar:
        return _bind_scalar(field, raw, ctx, path)
    if not isinstance(raw, Mapping):
        raise DecodeError(f"{path}: expected an object")
    if kind is Kind.MAP:
        return _bind_map(raw, path) or ABSENT
    if kind is Kind.STRUCT or kind is Kind.RESOURCE:
        assert field.table is not None  # noqa: S101 (a table invariant)
        if kind is Kind.RESOURCE and raw.get("resourceURI") is not None:
            check_type_uri(field.table, raw["resourceURI"], _join(path, "resourceURI"))
        return _bind_table(field.table, raw, ctx, path, href=False, enforce=True) or ABSENT
    # REF or COLLECTION: an href, and/or the target's attributes by value.
    value = _bind_table(target_table(field), raw, ctx, path, href=True, enforce="href" not in raw)
    if not value:
        raise DecodeError(f"{path}: a reference needs an href")
    return value


def _bind_scalar(field: Field, raw: Any, ctx: _Context, path: str) -> Any:
    if field.kind in STRING_KINDS and isinstance(raw, str):
        empty = raw == "" if field.kind is Kind.STRING or not ctx.lexical else not raw.strip()
        if empty:
            return ABSENT
    try:
        if ctx.lexical:
            if not isinstance(raw, str):
                raise DecodeError(f"{path}: expected text")
            return scalars.from_text(field, raw)
        return scalars.from_json(field, raw)
    except scalars.ScalarError as exc:
        raise DecodeError(f"{path}: {exc}") from None


_KEY = Field("key", Kind.STRING)


def _bind_map(raw: Mapping[Any, Any], path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in raw.items():
        here = f"{path}[{key!r}]"
        if not isinstance(key, str) or not key:
            raise DecodeError(f"{here}: a key must be a non-empty string")
        if not isinstance(value, str):
            raise DecodeError(f"{here}: expected a string value")
        try:
            scalars.check(_KEY, key)
            scalars.check(_KEY, value)
        except scalars.ScalarError as exc:
            raise DecodeError(f"{here}: {exc}") from None
        out[key] = value
    return out


def unbind(table: Table, value: Any) -> dict[str, Any]:
    """Check a neutral value against *table* and return its wire (JSON) form.

    The result carries ``resourceURI`` for resources, collections, requests and
    Collection entries; empty strings, maps and arrays are left out (5.5.15).

    :raises EncodeError: when *value* does not fit the table.
    """
    return _unbind_table(table, value, "", href=False, typed=table.uri is not None)


def _unbind_table(
    table: Table, value: Any, path: str, *, href: bool, typed: bool
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise EncodeError(f"{path or table.name}: expected a mapping, got {type(value).__name__}")
    out: dict[str, Any] = {}
    if typed and table.uri:
        out["resourceURI"] = table.uri
    fields = (HREF, *table.fields) if href else table.fields
    for field in fields:
        if field.name in value and field.place is not Place.IMPLIED:
            wire = _unbind_field(field, value[field.name], _join(path, field.name))
            if wire is not ABSENT:
                out[field.name] = wire
    known = {f.name for f in fields if f.place is not Place.IMPLIED}
    unknown = sorted(set(value) - known)
    if unknown:
        raise EncodeError(f"{path or table.name}: unknown attribute(s) {', '.join(unknown)}")
    return out


def _unbind_field(field: Field, value: Any, path: str) -> Any:
    if not field.many:
        return _unbind_one(field, value, path)
    if not isinstance(value, list):
        raise EncodeError(f"{path}: expected a list")
    items = [_unbind_one(field, item, f"{path}[{i}]") for i, item in enumerate(value)]
    return [item for item in items if item is not ABSENT] or ABSENT


def _unbind_one(field: Field, value: Any, path: str) -> Any:
    kind = field.kind
    if kind.scalar:
        if kind in STRING_KINDS and value == "":
            return ABSENT
        try:
            scalars.check(field, value)
        except scalars.ScalarError as exc:
            raise EncodeError(f"{path}: {exc}") from None
        return scalars.to_json(field, value)
    if not isinstance(value, Mapping):
        raise EncodeError(f"{path}: expected a mapping, got {type(value).__name__}")
    if not value:
        return ABSENT
    if kind is Kind.MAP:
        for key, item in value.items():
            if not isinstance(key, str) or not key or not isinstance(item, str):
                raise EncodeError(f"{path}: keys must be non-empty strings, values strings")
            try:
                scalars.check(_KEY, key)
                scalars.check(_KEY, item)
            except scalars.ScalarError as exc:
                raise EncodeError(f"{path}[{key!r}]: {exc}") from None
        return dict(value)
    if kind is Kind.STRUCT or kind is Kind.RESOURCE:
        assert field.table is not None  # noqa: S101 (a table invariant)
        return _unbind_table(field.table, value, path, href=False, typed=kind is Kind.RESOURCE)
    return _unbind_table(target_table(field), value, path, href=True, typed=False)


# -- the trusted path: values the server built itself ---------------------------
#
# Every response is built by Concord's own bindings from engine rows, whose
# values the engine and the decoder already checked when they came in. Checking
# them again on the way out cost 60 % of a 1,000-entry listing (issue 15), so
# responses take this path: the same walk, compiled once per table, without
# the checks. Its output is the checked path's for every value that passes
# the checks (tests/unit/cimi/test_cimi_trusted_encoding.py); a value that
# would not is a bug on our side either way (an EncodeError is a 500 too).

Step = Callable[[Any], Any]


def unbind_trusted(table: Table, value: Mapping[str, Any]) -> dict[str, Any]:
    """The wire form of a neutral value the server built: :func:`unbind` without its checks.

    Only for values Concord built itself (its responses); a client's document
    goes through :func:`bind`, which checks everything.
    """
    encoded: dict[str, Any] = _trusted_table(table, False, table.uri is not None)(value)
    return encoded


#: Encoders by (table identity, href, typed). Tables are frozen module-level
#: constants; hashing one hashes all its fields, so they are keyed by identity
#: (the table is kept in the value, so the identity stays valid).
_ENCODERS: dict[tuple[int, bool, bool], tuple[Table, Step]] = {}


def _trusted_table(table: Table, href: bool, typed: bool) -> Step:
    """The encoder of *table*'s mappings (fields in table order, absent values left out)."""
    found = _ENCODERS.get((id(table), href, typed))
    if found is None:
        found = _ENCODERS[id(table), href, typed] = (table, _compile(table, href, typed))
    return found[1]


def _compile(table: Table, href: bool, typed: bool) -> Step:
    fields = (HREF, *table.fields) if href else table.fields
    steps = tuple((f.name, _trusted_field(f)) for f in fields if f.place is not Place.IMPLIED)
    uri = table.uri if typed and table.uri else None

    def encode(value: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"resourceURI": uri} if uri else {}
        for name, step in steps:
            if name in value:
                wire = step(value[name])
                if wire is not ABSENT:
                    out[name] = wire
        return out

    return encode


def _trusted_field(field: Field) -> Step:
    one = _trusted_one(field)
    if not field.many:
        return one

    def many(values: list[Any]) -> Any:
        items = [item for item in map(one, values) if item is not ABSENT]
        return items or ABSENT

    return many


def _keep(value: Any) -> Any:
    return value


def _string(value: Any) -> Any:
    return ABSENT if value == "" else value


def _nested(table: Callable[[], Table], href: bool, typed: bool) -> Step:
    # The table's encoder is made when first used: tables refer to each other in cycles.
    encoder: Step | None = None

    def encode(value: Mapping[str, Any]) -> Any:
        nonlocal encoder
        if not value:
            return ABSENT
        if encoder is None:
            encoder = _trusted_table(table(), href, typed)
        return encoder(value)

    return encode


def _trusted_one(field: Field) -> Step:
    kind = field.kind
    if kind is Kind.DATETIME:
        return scalars.format_datetime
    if kind.scalar:
        return _string if kind in STRING_KINDS else _keep
    if kind is Kind.MAP:
        return lambda value: dict(value) if value else ABSENT
    if kind is Kind.STRUCT or kind is Kind.RESOURCE:
        nested = field.table
        assert nested is not None  # noqa: S101 (a table invariant)
        return _nested(lambda: nested, False, kind is Kind.RESOURCE)
    return _nested(lambda: target_table(field), True, False)
