"""Apply parsed query parameters to neutral resources, in memory.

* :class:`Evaluator` / :func:`matches`: ``$filter`` (4.1.6.1) over neutral dicts;
* :func:`order`: ``$orderby`` (4.1.6.6);
* :func:`page`: ``$first`` / ``$last`` (4.1.6.2), 1-based and inclusive;
* :func:`project`: ``$select`` (4.1.6.3).

Comparison semantics (decisions, see ``docs/``): an attribute that is absent,
or whose value has a type the literal cannot be compared with, makes the
comparison false, for ``!=`` too (as SQL NULL does); strings compare by code
point, case-sensitively; integers and decimals compare as numbers; ``false <
true``; dateTimes compare as instants. A path step into an array matches
nothing. Sorting puts absent values last in ascending order, first in
descending order.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from cimi.query.nodes import (
    Attribute,
    Comparison,
    Literal,
    LiteralType,
    Node,
    Op,
    Property,
    visit,
)
from cimi.query.params import Selection, SortKey

_MISSING = object()

_OPS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def lookup(resource: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at *path* in a neutral resource, or a sentinel when there is none."""
    value: Any = resource
    for step in path:
        if not isinstance(value, Mapping) or step not in value:
            return _MISSING
        value = value[step]
    return value


def _comparable(value: Any, literal: Literal) -> Any:
    """*value* converted for comparison with *literal*, or :data:`_MISSING`."""
    kind = literal.type
    if kind is LiteralType.STRING:
        return value if isinstance(value, str) else _MISSING
    if kind is LiteralType.BOOLEAN:
        return value if isinstance(value, bool) else _MISSING
    if kind is LiteralType.DATETIME:
        return value if isinstance(value, dt.datetime) and value.tzinfo else _MISSING
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return _MISSING
    return Decimal(value) if kind is LiteralType.DECIMAL else value


def compare(value: Any, op: Op, literal: Literal) -> bool:
    """``value op literal`` with the type rules of this module."""
    if value is _MISSING:
        return False
    converted = _comparable(value, literal)
    if converted is _MISSING:
        return False
    right: Any = literal.value
    if literal.type is LiteralType.INTEGER and isinstance(converted, Decimal):
        right = Decimal(right)
    return _OPS[op](converted, right)


class Evaluator:
    """A :class:`~cimi.query.nodes.Visitor` that decides a filter for one resource."""

    def __init__(self, resource: Mapping[str, Any]) -> None:
        self.resource = resource

    def comparison(self, node: Comparison) -> bool:
        """Decide one comparison."""
        target, op, literal = node.normalized()
        if isinstance(target, Property):
            properties = self.resource.get("properties")
            value = (
                properties.get(target.key, _MISSING)
                if isinstance(properties, Mapping)
                else _MISSING
            )
        else:
            assert isinstance(target, Attribute)  # noqa: S101 (normalized() ensures it)
            value = lookup(self.resource, target.path)
        return compare(value, op, literal)

    def and_(self, terms: list[bool]) -> bool:
        """All terms hold."""
        return all(terms)

    def or_(self, terms: list[bool]) -> bool:
        """Some term holds."""
        return any(terms)


def matches(node: Node | None, resource: Mapping[str, Any]) -> bool:
    """Whether *resource* satisfies the filter *node* (None: no filter, always true)."""
    return node is None or visit(node, Evaluator(resource))


def _rank(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, int | Decimal):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, dt.datetime):
        return (3, value)
    return (4, 0)  # structures and arrays are not ordered among themselves


def _sort_key(path: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda resource: _rank(lookup(resource, path))


def order(resources: Iterable[Mapping[str, Any]], keys: Sequence[SortKey]) -> list[Any]:
    """Sort *resources* by *keys* (stable; the first key is the primary one)."""
    items = list(resources)
    for key in reversed(keys):
        present = [r for r in items if lookup(r, key.path) is not _MISSING]
        absent = [r for r in items if lookup(r, key.path) is _MISSING]
        present.sort(key=_sort_key(key.path), reverse=key.descending)
        items = absent + present if key.descending else present + absent
    return items


def page(items: Sequence[Any], first: int | None, last: int | None) -> list[Any]:
    """The entries ``first..last`` (1-based, inclusive; defaults 1 and the end) (4.1.6.2)."""
    start = 0 if first is None else first - 1
    stop = len(items) if last is None else last
    return list(items[start:stop]) if stop > start else []


def project(resource: Mapping[str, Any], selection: Selection) -> dict[str, Any]:
    """*resource* trimmed to the selected attributes; ``id`` is always kept (5.7.1)."""
    if selection.all:
        return dict(resource)
    return _project(resource, selection.tree(), keep_id=True)


def _project(value: Mapping[str, Any], tree: Mapping[str, Any], *, keep_id: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in tree and not (keep_id and key == "id"):
            continue
        sub = tree.get(key)
        if sub:  # a nested selection: trim deeper
            if isinstance(item, Mapping):
                item = _project(item, sub, keep_id=False)
            elif isinstance(item, list):
                item = [
                    _project(i, sub, keep_id=True) if isinstance(i, Mapping) else i for i in item
                ]
        out[key] = item
    return out
