"""CIMI collection queries (DSP0263 4.1.6): parse, check against a table, evaluate.

::

    query = parse_query(request.GET.items())  # QueryError -> 400
    check_query(query, table("Machine"))  # unknown attributes, bad types -> 400
    entries = [m for m in machines if matches(query.filter, m)]
    entries = page(order(entries, query.orderby), query.first, query.last)

The filter AST (:mod:`cimi.query.nodes`) has a visitor protocol so that a later
change can compile it to SQL instead of evaluating it in memory.
"""

from __future__ import annotations

from cimi.query.check import check_filter, check_query
from cimi.query.evaluate import Evaluator, matches, order, page, project
from cimi.query.filter import parse_filter
from cimi.query.nodes import (
    And,
    Attribute,
    Comparison,
    Literal,
    LiteralType,
    Node,
    Op,
    Or,
    Property,
    Visitor,
    to_string,
    visit,
)
from cimi.query.params import CollectionQuery, Expansion, Selection, SortKey, parse_query

__all__ = [
    "And",
    "Attribute",
    "CollectionQuery",
    "Comparison",
    "Evaluator",
    "Expansion",
    "Literal",
    "LiteralType",
    "Node",
    "Op",
    "Or",
    "Property",
    "Selection",
    "SortKey",
    "Visitor",
    "check_filter",
    "check_query",
    "matches",
    "order",
    "page",
    "parse_filter",
    "parse_query",
    "project",
    "to_string",
    "visit",
]
