"""The ``$filter`` AST (DSP0263 4.1.6.1), a visitor protocol, and the canonical printer.

The tree is small and closed::

    Node       = Comparison | And | Or
    And, Or    = two or more terms; an And never directly holds an And (nor Or an Or)
    Comparison = operand Op operand, one side a Literal and the other an
                 Attribute (a path, ``machineConfig/cpu``) or, on the left only,
                 a Property (``property['key']``)

A later change compiles this tree to SQL: implement :class:`Visitor` and call
:func:`visit`; :class:`cimi.query.evaluate.Evaluator` is the in-memory twin.
:func:`to_string` prints the canonical text, which parses back to an equal tree.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

from cimi.codec.scalars import format_datetime

T = TypeVar("T")


class Op(enum.Enum):
    """A comparison operator."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def flipped(self) -> Op:
        """The operator with its operands swapped: ``3 < cpu`` is ``cpu > 3``."""
        return _FLIPPED[self]


_FLIPPED = {Op.EQ: Op.EQ, Op.NE: Op.NE, Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE}


class LiteralType(enum.Enum):
    """The type of a literal value."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"


LiteralValue = str | int | Decimal | bool | dt.datetime


@dataclass(frozen=True)
class Literal:
    """A value: its type is explicit, so that ``1``, ``1.0`` and ``true`` differ."""

    type: LiteralType
    value: LiteralValue


@dataclass(frozen=True)
class Attribute:
    """An attribute path: ``("cpu",)`` or ``("machineConfig", "cpu")``."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Property:
    """``property['key']``: an entry of the consumer's ``properties`` map."""

    key: str


Operand = Attribute | Property | Literal


@dataclass(frozen=True)
class Comparison:
    """``left op right``, one side a :class:`Literal`."""

    left: Operand
    op: Op
    right: Operand

    def normalized(self) -> tuple[Attribute | Property, Op, Literal]:
        """The comparison with the attribute on the left: ``3 < cpu`` -> ``cpu > 3``."""
        if isinstance(self.left, Literal):
            assert not isinstance(self.right, Literal)  # noqa: S101 (the parser ensures it)
            return self.right, self.op.flipped(), self.left
        assert isinstance(self.right, Literal)  # noqa: S101 (the parser ensures it)
        return self.left, self.op, self.right


@dataclass(frozen=True)
class And:
    """All terms hold."""

    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one term holds."""

    terms: tuple[Node, ...]


Node = Comparison | And | Or


class Visitor(Protocol[T]):
    """Folds a filter tree bottom-up: the hook for the SQL compiler and the evaluator."""

    def comparison(self, node: Comparison) -> T:
        """The value of one comparison."""
        ...

    def and_(self, terms: list[T]) -> T:
        """The conjunction of already-visited terms."""
        ...

    def or_(self, terms: list[T]) -> T:
        """The disjunction of already-visited terms."""
        ...


def visit(node: Node, visitor: Visitor[T]) -> T:
    """Fold *node* with *visitor* (depth is bounded by the parser)."""
    if isinstance(node, Comparison):
        return visitor.comparison(node)
    terms = [visit(term, visitor) for term in node.terms]
    return visitor.and_(terms) if isinstance(node, And) else visitor.or_(terms)


def quote(text: str) -> str:
    """A single-quoted string literal, ``\\`` and ``'`` escaped with a backslash."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def literal_text(literal: Literal) -> str:
    """The canonical text of a literal."""
    value = literal.value
    if literal.type is LiteralType.STRING:
        assert isinstance(value, str)  # noqa: S101 (a Literal invariant)
        return quote(value)
    if literal.type is LiteralType.BOOLEAN:
        return "true" if value else "false"
    if literal.type is LiteralType.DATETIME:
        assert isinstance(value, dt.datetime)  # noqa: S101 (a Literal invariant)
        return format_datetime(value)
    if literal.type is LiteralType.DECIMAL:
        text = format(value, "f")
        return text if "." in text else text + ".0"
    return str(value)


def operand_text(operand: Operand) -> str:
    """The canonical text of an operand."""
    if isinstance(operand, Literal):
        return literal_text(operand)
    if isinstance(operand, Property):
        return f"property[{quote(operand.key)}]"
    return "/".join(operand.path)


def to_string(node: Node) -> str:
    """The canonical ``$filter`` text of *node*, with the fewest parentheses."""
    if isinstance(node, Comparison):
        return f"{operand_text(node.left)}{node.op.value}{operand_text(node.right)}"
    if isinstance(node, And):
        return " and ".join(
            f"({to_string(t)})" if isinstance(t, Or) else to_string(t) for t in node.terms
        )
    return " or ".join(to_string(t) for t in node.terms)
