"""``$filter`` and ``$orderby`` compiled to SQL (DSP0263 4.1.6.1, 4.1.6.6).

A binding that can be queried in SQL describes, per attribute path of its
neutral form, how that value is computed from its row (:class:`Value` and its
constructors: :func:`text`, :func:`href`, :func:`mapped`, :func:`integer`,
:func:`flag`, :func:`instant`, :func:`constant`). :class:`SqlFilter` is the
:class:`~cimi.query.nodes.Visitor` that folds a filter into one SQL
condition; :func:`order_clauses` turns ``$orderby`` into ``ORDER BY`` terms.
Both return None when the query names something the description lacks: the
caller then falls back to evaluating in memory, never to a wrong answer.

The SQL must decide exactly what :mod:`cimi.query.evaluate` decides over the
rendered entry (a Hypothesis test holds the two equal on SQLite and MariaDB):

* an absent value (NULL, and an empty string, which rendering prunes, 5.5.15)
  makes every comparison false, ``!=`` too; there is no negation in the
  grammar, so SQL's NULL propagation through AND/OR gives the same answer;
* strings compare by code point, case- and trailing-space-sensitively: on
  MariaDB through the ``utf8mb4_nopad_bin`` collation (its default collation
  folds case and its ``_bin`` one ignores trailing spaces);
* an integer attribute against a decimal literal compares as numbers, exactly
  (``cpu < 2.5`` is ``cpu < 3``), never through a float;
* a literal beyond what a column can hold (a 20-digit integer, the year 1
  west of Greenwich) decides the comparison without reaching the database;
* sorting puts absent values last ascending, first descending, and keeps the
  listing's own order (oldest first) among equal values, as the stable
  in-memory sort does.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

from cimi.query.nodes import Attribute, Comparison, Literal, LiteralType, Node, Op, Property, visit
from cimi.query.params import SortKey

#: The collation that compares MariaDB strings as Python does (by code point).
BINARY_COLLATION = "utf8mb4_nopad_bin"
#: A column or a SQL expression over the row (a mapped attribute is one).
Column = sa.SQLColumnExpression[Any]


def element(column: Column) -> ColumnElement[Any]:
    """*column* as a SQL expression element (a mapped attribute gives its column)."""
    clause = getattr(column, "__clause_element__", None)
    found = clause() if clause is not None else column
    assert isinstance(found, ColumnElement)  # noqa: S101 (every column expression is one)
    return found


_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_ORDER: dict[Op, Callable[[Any, Any], Any]] = {
    Op.EQ: lambda a, b: a == b,
    Op.NE: lambda a, b: a != b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Value:
    """How one attribute of the neutral form is computed from a row.

    :param expression: the value (None for a :func:`constant`).
    :param present: when the entry has the attribute at all.
    :param type: the literal type it compares with.
    :param is_text: a string (collated on MariaDB).
    :param value: a constant's value.
    """

    expression: ColumnElement[Any] | None
    present: ColumnElement[bool]
    type: LiteralType
    is_text: bool = False
    value: Any = None


def text(expression: Column) -> Value:
    """A string column; NULL and ``''`` are absent (rendering prunes both)."""
    expression = element(expression)
    return Value(
        expression,
        sa.and_(expression.is_not(None), expression != ""),
        LiteralType.STRING,
        is_text=True,
    )


def href(prefix: str, key: Column, suffix: str = "") -> Value:
    """``prefix + key + suffix`` (an ``id`` or a reference's ``href``); absent without a key."""
    key = element(key)
    expression = sa.literal(prefix, sa.String) + key + sa.literal(suffix, sa.String)
    return Value(expression, sa.and_(key.is_not(None), key != ""), LiteralType.STRING, is_text=True)


def mapped(expression: Column, table: Mapping[str, str | None]) -> Value:
    """A stored code translated through *table* (engine state -> CIMI state); unmapped: absent."""
    expression = element(expression)
    pairs = {code: word for code, word in table.items() if word}
    if not pairs:
        return constant(None)
    case = sa.case(pairs, value=expression, else_=sa.null())
    return Value(case, expression.in_(sorted(pairs)), LiteralType.STRING, is_text=True)


def integer(expression: Column, scale: int = 1) -> Value:
    """An integer column, multiplied by *scale* (MiB -> KiB)."""
    expression = element(expression)
    value = expression * scale if scale != 1 else expression
    return Value(value, expression.is_not(None), LiteralType.INTEGER)


def flag(expression: Column) -> Value:
    """A boolean column (``false`` is present: only NULL is absent)."""
    expression = element(expression)
    return Value(expression, expression.is_not(None), LiteralType.BOOLEAN)


def instant(expression: Column) -> Value:
    """A timestamp column stored as naive UTC (:class:`engine.db.UTCDateTime`)."""
    expression = element(expression)
    return Value(expression, expression.is_not(None), LiteralType.DATETIME)


def constant(value: Any) -> Value:
    """The same value for every entry (None, ``''``: absent for every entry)."""
    kind = {str: LiteralType.STRING, bool: LiteralType.BOOLEAN, int: LiteralType.INTEGER}
    present = value is not None and value != ""
    return Value(
        None,
        sa.true() if present else sa.false(),
        kind.get(type(value), LiteralType.STRING),
        value=value,
    )


class PropertyText(ColumnElement[str]):
    """The string at *key* of a JSON object column; NULL when absent or not a string.

    SQLite reads it with ``json_each`` (no JSON path, so any key is safe);
    MariaDB with a quoted, escaped JSON path.
    """

    inherit_cache = False
    type = sa.String()

    def __init__(self, column: Column, key: str) -> None:
        self.column = element(column)
        self.json_key = key


@compiles(PropertyText, "sqlite")
def _property_sqlite(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    key = compiler.process(sa.literal(element.json_key, sa.String), **kw)
    # Both operands are compiled SQL (the key a bound parameter): no text of a client's.
    return (
        f"(SELECT json_each.value FROM json_each({column}) "  # noqa: S608
        f"WHERE json_each.key = {key} AND json_each.type = 'text')"
    )


@compiles(PropertyText, "mysql")
@compiles(PropertyText, "mariadb")
def _property_mysql(element: PropertyText, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    escaped = element.json_key.replace("\\", "\\\\").replace('"', '\\"')
    path = compiler.process(sa.literal(f'$."{escaped}"', sa.String), **kw)
    found = f"JSON_EXTRACT({column}, {path})"
    return (
        f"(CASE WHEN JSON_TYPE({found}) = 'STRING' "
        f"THEN CONVERT(JSON_UNQUOTE({found}) USING utf8mb4) END)"
    )


def properties(column: Column) -> Callable[[str], Value]:
    """The ``property['key']`` (and ``properties/key``) values of a JSON map column."""

    def value(key: str) -> Value:
        expression = PropertyText(column, key)
        return Value(expression, expression.is_not(None), LiteralType.STRING, is_text=True)

    return value


@dataclass(frozen=True)
class Columns:
    """What a binding's rows give for each attribute path of its entries.

    :param values: attribute path -> :class:`Value`.
    :param properties: the ``properties`` map, or None when the type has none.
    :param references: names of references rendered as ``{"href": ..}`` only:
        any other step below them is absent.
    :param dialect: the database's dialect name (``sqlite``, ``mysql``, ``mariadb``).
    """

    values: Mapping[tuple[str, ...], Value]
    properties: Callable[[str], Value] | None
    references: frozenset[str]
    dialect: str

    def find(self, path: Sequence[str]) -> Value | None:
        """The value at *path*; :func:`constant` None when the entry never has it; None unknown."""
        found = self.values.get(tuple(path))
        if found is not None:
            return found
        if path[0] == "properties" and self.properties is not None and len(path) == 2:
            return self.properties(path[1])
        if path[0] in self.references and len(path) > 1:
            return constant(None)
        return None

    def sortable(self, value: Value) -> ColumnElement[Any] | None:
        """The value as the database should compare and sort it."""
        expression = value.expression
        if expression is not None and value.is_text and self.dialect in ("mysql", "mariadb"):
            return expression.collate(BINARY_COLLATION)
        return expression


class Unsupported(Exception):
    """The query names an attribute the description lacks (evaluate in memory)."""


class SqlFilter:
    """A :class:`~cimi.query.nodes.Visitor` folding a checked filter into one SQL condition."""

    def __init__(self, columns: Columns) -> None:
        self.columns = columns

    def comparison(self, node: Comparison) -> ColumnElement[bool]:
        """One comparison: false when absent, else the comparison of the values."""
        target, op, literal = node.normalized()
        if isinstance(target, Property):
            if self.columns.properties is None:
                return sa.false()
            value = self.columns.properties(target.key)
        else:
            assert isinstance(target, Attribute)  # noqa: S101 (normalized() ensures it)
            found = self.columns.find(target.path)
            if found is None:
                raise Unsupported("/".join(target.path))
            value = found
        if value.expression is None:
            return _decided(_constant_holds(value.value, op, literal))
        compared = self._compare(value, op, literal)
        if isinstance(compared, bool):
            return sa.and_(value.present, sa.true()) if compared else sa.false()
        return sa.and_(value.present, compared)

    def _compare(self, value: Value, op: Op, literal: Literal) -> ColumnElement[bool] | bool:
        if literal.type is not value.type and not (
            literal.type is LiteralType.DECIMAL and value.type is LiteralType.INTEGER
        ):
            return False  # the checks refuse this; a mismatch is false, as in memory
        expression = self.columns.sortable(value)
        assert expression is not None  # noqa: S101 (constants are decided by the caller)
        if value.type is LiteralType.INTEGER:
            return _integer(expression, op, literal.value)
        if value.type is LiteralType.DATETIME:
            assert isinstance(literal.value, dt.datetime)  # noqa: S101 (a Literal invariant)
            return _instant(expression, op, literal.value)
        return _ORDER[op](expression, sa.literal(literal.value, expression.type))

    def and_(self, terms: list[ColumnElement[bool]]) -> ColumnElement[bool]:
        """All terms hold."""
        return sa.and_(*terms)

    def or_(self, terms: list[ColumnElement[bool]]) -> ColumnElement[bool]:
        """Some term holds."""
        return sa.or_(*terms)


def _decided(holds: bool) -> ColumnElement[bool]:
    return sa.true() if holds else sa.false()


def _constant_holds(value: Any, op: Op, literal: Literal) -> bool:
    if value is None or value == "":
        return False
    if literal.type is LiteralType.STRING and isinstance(value, str):
        return bool(_ORDER[op](value, literal.value))
    if literal.type is LiteralType.BOOLEAN and isinstance(value, bool):
        return bool(_ORDER[op](value, literal.value))
    if literal.type in (LiteralType.INTEGER, LiteralType.DECIMAL) and type(value) is int:
        return bool(_ORDER[op](Decimal(value), Decimal(literal.value)))  # type: ignore[arg-type]
    return False


def _integer(expression: ColumnElement[Any], op: Op, number: Any) -> ColumnElement[bool] | bool:
    """``expression op number`` for an integer expression, *number* an int or a Decimal."""
    exact = Decimal(number)
    if exact != exact.to_integral_value():
        # Between two integers: = is never true, != always, and the order
        # comparisons move to the integer on the right side of the gap.
        if op is Op.EQ:
            return False
        if op is Op.NE:
            return True
        bound = math.floor(exact) if op in (Op.LE, Op.GT) else math.ceil(exact)
    else:
        bound = int(exact)
    if bound > _INT_MAX or bound < _INT_MIN:
        # Beyond any stored value (SQLite and MariaDB integers are 64-bit).
        above = bound > _INT_MAX
        return {
            Op.EQ: False,
            Op.NE: True,
            Op.LT: above,
            Op.LE: above,
            Op.GT: not above,
            Op.GE: not above,
        }[op]
    result: ColumnElement[bool] = _ORDER[op](expression, sa.literal(bound, sa.BigInteger))
    return result


def _instant(
    expression: ColumnElement[Any], op: Op, when: dt.datetime
) -> ColumnElement[bool] | bool:
    """``expression op when`` for a UTC timestamp column."""
    try:
        when.astimezone(dt.UTC)
    except OverflowError:
        # Only a year-1 or year-9999 literal cannot be written in UTC: it lies
        # before (or after) every stored timestamp.
        before = when.year == 1
        return {
            Op.EQ: False,
            Op.NE: True,
            Op.LT: not before,
            Op.LE: not before,
            Op.GT: before,
            Op.GE: before,
        }[op]
    result: ColumnElement[bool] = _ORDER[op](expression, sa.literal(when, expression.type))
    return result


def compile_filter(node: Node, columns: Columns) -> ColumnElement[bool] | None:
    """The SQL condition of the checked filter *node*, or None when it cannot be compiled."""
    try:
        return visit(node, SqlFilter(columns))
    except Unsupported:
        return None


def order_clauses(keys: Sequence[SortKey], columns: Columns) -> list[ColumnElement[Any]] | None:
    """``ORDER BY`` terms for *keys* (before the listing's own order), or None."""
    clauses: list[ColumnElement[Any]] = []
    for key in keys:
        value = columns.find(key.path)
        if value is None:
            return None
        expression = columns.sortable(value)
        if expression is None:
            continue  # the same for every entry: it orders nothing
        # Absent entries share one sort value (NULL), so that among them the
        # next key, then the listing's own order, decides, as in memory.
        absent_last = sa.case((value.present, 0), else_=1)
        known = sa.case((value.present, expression), else_=sa.null())
        if key.descending:
            clauses += [absent_last.desc(), known.desc()]
        else:
            clauses += [absent_last, known.asc()]
    return clauses


__all__ = [
    "BINARY_COLLATION",
    "Columns",
    "PropertyText",
    "SqlFilter",
    "Value",
    "compile_filter",
    "constant",
    "flag",
    "href",
    "instant",
    "integer",
    "mapped",
    "order_clauses",
    "properties",
    "text",
]
