"""Check parsed query parameters against a field table, so that mistakes are a 400.

The evaluator is total (a mismatch is simply false), but a client that filters
on an attribute the type does not have, or compares an integer with a string,
deserves to be told (decision, see ``docs/``). The views call
:func:`check_query` before running a query; a SQL compiler can rely on it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from cimi.codec.binding import HREF, target_table
from cimi.errors import QueryError
from cimi.query.nodes import Attribute, Comparison, LiteralType, Node, visit
from cimi.query.params import CollectionQuery
from cimi.resources import Field, Kind, Place, Role, Table
from cimi.resources import table as lookup

_PROPERTY_VALUE = Field("property", Kind.STRING)

#: Field kinds each literal type may be compared with.
_COMPATIBLE = {
    LiteralType.STRING: {Kind.STRING, Kind.URI, Kind.ENUM, Kind.DURATION},
    LiteralType.INTEGER: {Kind.INTEGER},
    LiteralType.DECIMAL: {Kind.INTEGER},
    LiteralType.BOOLEAN: {Kind.BOOLEAN},
    LiteralType.DATETIME: {Kind.DATETIME},
}
#: Kinds $orderby accepts (4.1.6.6: boolean, dateTime, duration, integer, string).
_ORDERABLE = {Kind.BOOLEAN, Kind.DATETIME, Kind.DURATION, Kind.INTEGER, Kind.STRING, Kind.URI}


def resolve(table: Table, path: Sequence[str]) -> Field | None:
    """The field at *path* below *table* (through structures, references and maps)."""
    current: Table | None = table
    found: Field | None = None
    for step in path:
        if found is not None and found.kind is Kind.MAP:
            found, current = _PROPERTY_VALUE, None
            continue
        if found is not None and found.kind in (Kind.REF, Kind.COLLECTION) and step == "href":
            found, current = HREF, None
            continue
        if current is None:
            return None
        found = current.get(step)
        if found is None or found.place is Place.IMPLIED or found.many:
            return None
        if found.kind in (Kind.STRUCT, Kind.RESOURCE):
            current = found.table
        elif found.kind in (Kind.REF, Kind.COLLECTION):
            current = target_table(found)
        else:
            current = None
    return found


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiouAEIOU" else f"a {word}"


class _Checker:
    def __init__(self, table: Table) -> None:
        self.table = table

    def comparison(self, node: Comparison) -> None:
        target, _, literal = node.normalized()
        if not isinstance(target, Attribute):
            return  # property['key'] = 'string': the parser already checked it
        name = "/".join(target.path)
        field = resolve(self.table, target.path)
        if field is None:
            raise QueryError(f"$filter: {self.table.name} has no attribute {name}")
        if not field.kind.scalar:
            raise QueryError(f"$filter: {name} is {_a(field.kind.value)}, not a comparable value")
        if field.kind not in _COMPATIBLE[literal.type]:
            raise QueryError(
                f"$filter: {name} is {_a(field.kind.value)} and cannot be compared "
                f"with {_a(literal.type.value)}"
            )

    def and_(self, terms: list[None]) -> None:
        return None

    def or_(self, terms: list[None]) -> None:
        return None


def check_filter(node: Node, table: Table) -> None:
    """Check every attribute of a filter exists in *table* and fits its literal.

    :raises QueryError: for the first attribute that does not.
    """
    visit(node, _Checker(table))


def check_query(query: CollectionQuery, table: Table) -> None:
    """Check *query* against *table*: a resource, or a Collection (then its entries).

    ``$filter`` and ``$orderby`` address the entries of a Collection;
    ``$select`` and ``$expand`` may name attributes of the entries or of the
    Collection itself (``count``, or paths such as ``machines/name``).

    :raises QueryError: naming the first unknown or unusable attribute.
    """
    entries = lookup(table.member) if table.role is Role.COLLECTION and table.member else table
    if query.filter is not None:
        check_filter(query.filter, entries)
    for key in query.orderby:
        field = resolve(entries, key.path)
        name = "/".join(key.path)
        if field is None or field.kind not in _ORDERABLE:
            raise QueryError(f"$orderby: {name} is not a sortable attribute of {entries.name}")
    for path in query.select.paths:
        if resolve(entries, path) is None and _top(table, path) is None:
            raise QueryError(f"$select: {entries.name} has no attribute {'/'.join(path)}")
    for name in sorted(query.expand.names):
        field = entries.get(name) or table.get(name)
        if field is None or field.kind not in (Kind.REF, Kind.COLLECTION):
            raise QueryError(f"$expand: {name} is not a reference of {entries.name}")


def _top(table: Table, path: Sequence[str]) -> Field | None:
    """A $select path on a Collection itself: its own attributes, or entries/attribute."""
    field = table.get(path[0])
    if field is None or len(path) == 1:
        return field
    if field.kind is Kind.RESOURCE and field.table is not None:
        return resolve(field.table, path[1:])
    return None
