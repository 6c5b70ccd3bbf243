"""The collection query parameters of DSP0263 4.1.6, parsed from a query string.

``parse_query(request.GET.items())`` returns a :class:`CollectionQuery`.
Rules (decisions marked so are recorded in ``docs/``):

* ``$filter`` (4.1.6.1): see :mod:`cimi.query.filter`; several ``$filter``
  parameters must all hold (decision, as SlipStream does);
* ``$select`` (4.1.6.3): comma-separated attribute names or paths
  (``machines/name``); several are unioned; ``*`` selects everything;
* ``$expand`` (4.1.6.4): comma-separated reference or collection attributes,
  or ``*``; several are unioned;
* ``$orderby`` (4.1.6.6): ``attr[:asc|:desc]``, comma-separated; the OData
  form ``attr desc`` is accepted too (decision); several are concatenated;
* ``$first`` / ``$last`` (4.1.6.2): 1-based, inclusive; ``$first`` >= 1,
  ``$last`` >= 0 (``$last=0`` returns no entries, only the Collection);
* ``$format`` (4.1.6.5): ``json`` or ``xml``; it overrides ``Accept``;
* ``$first``, ``$last`` and ``$format`` may appear once; any other parameter
  starting with ``$`` is refused (decision: a client asking for a feature we
  lack must not get silently wrong results); other parameters are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cimi.errors import QueryError
from cimi.query.filter import parse_filter
from cimi.query.nodes import And, Node

#: Query parameters this module understands.
PARAMETERS = ("$filter", "$select", "$expand", "$orderby", "$first", "$last", "$format")
FORMATS = ("json", "xml")

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*")
_ORDER = re.compile(r"(?P<path>[^:\s]+)(?:(?::|\s+)(?P<dir>asc|desc))?")
_INDEX = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Selection:
    """``$select``: which attributes to return; ``all`` when none was given or ``*``."""

    paths: frozenset[tuple[str, ...]] = frozenset()
    all: bool = True

    def tree(self) -> dict[str, Any]:
        """The selected paths as a nested dict, None marking a whole attribute.

        ``machines/name`` gives ``{"machines": {"name": None}}``; selecting
        ``machines`` as well gives ``{"machines": None}``.
        """
        root: dict[str, Any] = {}
        for path in sorted(self.paths, key=len):
            node: dict[str, Any] | None = root
            for step in path[:-1]:
                assert node is not None  # noqa: S101 (checked below)
                node = node.setdefault(step, {})
                if node is None:
                    break  # a shorter path already selects the whole attribute
            else:
                assert node is not None  # noqa: S101 (the loop did not break)
                node[path[-1]] = None
        return root


@dataclass(frozen=True)
class Expansion:
    """``$expand``: which references to inline; ``all`` for ``*``."""

    names: frozenset[str] = frozenset()
    all: bool = False

    def __contains__(self, name: object) -> bool:
        return self.all or name in self.names


@dataclass(frozen=True)
class SortKey:
    """One ``$orderby`` key."""

    path: tuple[str, ...]
    descending: bool = False


@dataclass(frozen=True)
class CollectionQuery:
    """Every collection query parameter of one request, parsed and checked for form."""

    filter: Node | None = None
    select: Selection = field(default_factory=Selection)
    expand: Expansion = field(default_factory=Expansion)
    orderby: tuple[SortKey, ...] = ()
    first: int | None = None
    last: int | None = None
    format: str | None = None


def _names(name: str, value: str) -> list[tuple[str, ...]] | None:
    """Comma-separated paths; None for ``*``."""
    items = [item.strip() for item in value.split(",")]
    if items == ["*"]:
        return None
    paths = []
    for item in items:
        if not _PATH.fullmatch(item):
            raise QueryError(f"{name}: {item!r} is not an attribute name")
        paths.append(tuple(item.split("/")))
    return paths


def _orderby(value: str) -> list[SortKey]:
    keys = []
    for item in value.split(","):
        m = _ORDER.fullmatch(item.strip())
        if m is None or not _PATH.fullmatch(m["path"]):
            raise QueryError(f"$orderby: {item.strip()!r} is not 'attribute[:asc|:desc]'")
        keys.append(SortKey(tuple(m["path"].split("/")), m["dir"] == "desc"))
    return keys


def _index(name: str, value: str, minimum: int) -> int:
    text = value.strip()
    if not _INDEX.fullmatch(text) or int(text) < minimum:
        raise QueryError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(text)


def parse_query(params: Iterable[tuple[str, str]] | Mapping[str, str]) -> CollectionQuery:
    """Parse the CIMI query parameters among *params* (pairs, repeats allowed).

    :raises QueryError: naming the parameter at fault.
    """
    pairs = params.items() if isinstance(params, Mapping) else params
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        if name.startswith("$"):
            if name not in PARAMETERS:
                raise QueryError(f"unsupported query parameter {name}")
            grouped.setdefault(name, []).append(value)
    for name in ("$first", "$last", "$format"):
        if len(grouped.get(name, ())) > 1:
            raise QueryError(f"{name} given more than once")

    filters = [parse_filter(text) for text in grouped.get("$filter", ())]
    node: Node | None = None
    if len(filters) == 1:
        node = filters[0]
    elif filters:
        terms: list[Node] = []
        for f in filters:
            terms.extend(f.terms if isinstance(f, And) else (f,))
        node = And(tuple(terms))

    selected: set[tuple[str, ...]] = set()
    select_all = False
    for value in grouped.get("$select", ()):
        paths = _names("$select", value)
        if paths is None:
            select_all = True
        else:
            selected.update(paths)
    select = (
        Selection(frozenset(selected), all=False) if selected and not select_all else Selection()
    )

    expand = Expansion()
    for value in grouped.get("$expand", ()):
        paths = _names("$expand", value)
        if paths is None:
            expand = Expansion(all=True)
            break
        expand = Expansion(expand.names | {"/".join(p) for p in paths})

    orderby = tuple(key for value in grouped.get("$orderby", ()) for key in _orderby(value))
    first = _index("$first", grouped["$first"][0], 1) if "$first" in grouped else None
    last = _index("$last", grouped["$last"][0], 0) if "$last" in grouped else None

    fmt = None
    if "$format" in grouped:
        fmt = grouped["$format"][0].strip().lower()
        if fmt not in FORMATS:
            raise QueryError(f"$format must be json or xml, got {grouped['$format'][0]!r}")
    return CollectionQuery(node, select, expand, orderby, first, last, fmt)
