"""Collections with their query parameters (DSP0263 4.1.6), and ``$expand`` of references.

A Collection is built from the binding's entries rendered to the neutral form,
then (in this order, as SlipStream does) filtered (``$filter``), sorted
(``$orderby``), counted, paged (``$first``/``$last``), expanded (``$expand``)
and trimmed (``$select``). The first four run in the database for the
Collections that describe their attributes in SQL (:mod:`cimi.mapping.queried`:
Machines, Volumes, Networks), so that only the page's rows are read and
rendered; in memory for the others. Decisions (docs/cimi.rst):

* ``count`` is the number of entries that match ``$filter``, before paging,
  so that a client paging through a Collection knows its size;
* ``$select`` on a Collection names attributes of its entries (``name``, or
  ``machines/name``) or of the Collection (``count``); ``id`` and ``count``
  (required, 5.5.12) are always kept, and an entry keeps its ``id``; an
  attribute both have (``$select=id``) selects it in the entries too, so
  ``$select=id`` lists the entries' ids;
* ``$expand`` replaces a reference by the referenced resource (its ``href``
  kept), or a Collection reference by the Collection (entries included);
  references to what Concord does not serve, or that the caller cannot see,
  stay references; expansion is one level deep.
"""

from __future__ import annotations

from typing import Any

from cimi.codec.binding import target_table
from cimi.mapping import Binding, Context, route
from cimi.mapping.base import operation
from cimi.query import CollectionQuery, Expansion, Selection, matches, order, page, project
from cimi.query.sql import compile_filter, order_clauses
from cimi.resources import Kind, Table
from engine.errors import NotFound


def collection(
    ctx: Context,
    binding: Binding,
    parent: tuple[str, ...],
    query: CollectionQuery,
    *,
    expand: bool = True,
) -> dict[str, Any]:
    """The neutral Collection of *binding* below *parent*, *query* applied.

    :raises NotFound: the parent resource is not visible.
    """
    binding.check_parent(ctx, parent)
    table = binding.collection_table
    # The entries' attributes a $select keeps (issue 15): the others are
    # neither read nor rendered; $expand and the trimming below see the
    # kept ones exactly as they would in the whole entry.
    only = selected_entry_attributes(table, query.select)
    found = in_database(ctx, binding, parent, query, only=only)
    if found is not None:
        count, objects = found
        binding.prepare(ctx, objects, only)
        entries = [binding.render(ctx, obj, only) for obj in objects]
    else:
        count, entries = in_memory(ctx, binding, parent, query)
    if expand and (query.expand.all or query.expand.names):
        entries = [expanded(ctx, e, binding.table, query.expand) for e in entries]
    href = binding.collection_href(ctx, parent)
    items = table.items_field
    assert items is not None  # noqa: S101 (every Collection table has entries)
    value: dict[str, Any] = {"id": href, "count": count, items.name: entries}
    if binding.can_add(ctx, parent):
        value["operations"] = [operation("add", href)]
    return selected_collection(value, table, query.select)


def in_database(
    ctx: Context,
    binding: Binding,
    parent: tuple[str, ...],
    query: CollectionQuery,
    *,
    only: frozenset[str] | None = None,
) -> tuple[int, list[Any]] | None:
    """``count`` and the objects of the requested page, filtered, sorted and paged in SQL.

    None when the binding has no SQL description or the query names an
    attribute it lacks: :func:`in_memory` answers instead. Only the page's
    rows are read; a second statement counts the matches when paging hides
    some of them.

    :param only: the entries' attributes to be rendered (a ``$select``):
        only the columns they need are read, as rows
        (:meth:`~cimi.mapping.base.Binding.row_columns`), when the binding
        says which; None reads whole objects.
    """
    columns = binding.columns(ctx)
    if columns is None:
        return None
    where = None if query.filter is None else compile_filter(query.filter, columns)
    order_by = order_clauses(query.orderby, columns)
    if (query.filter is not None and where is None) or order_by is None:
        return None
    offset = 0 if query.first is None else query.first - 1
    limit = None if query.last is None else max(query.last - offset, 0)
    selected = None if only is None else binding.row_columns(only)
    objects = (
        []
        if limit == 0
        else binding.fetch_page(ctx, parent, where, order_by, offset, limit, selected)
    )
    if offset == 0 and (limit is None or len(objects) < limit):
        return len(objects), objects  # the page holds every match: no count needed
    return binding.count(ctx, parent, where), objects


def in_memory(
    ctx: Context, binding: Binding, parent: tuple[str, ...], query: CollectionQuery
) -> tuple[int, list[dict[str, Any]]]:
    """``count`` and the entries of the page: every object rendered, then the query applied.

    What every Collection without a SQL description does, and the oracle the
    SQL path is tested against.
    """
    objects = binding.fetch_all(ctx, parent)
    binding.prepare(ctx, objects)
    entries = [binding.render(ctx, obj) for obj in objects]
    if query.filter is not None:
        entries = [entry for entry in entries if matches(query.filter, entry)]
    if query.orderby:
        entries = order(entries, query.orderby)
    return len(entries), page(entries, query.first, query.last)


def _selected(table: Table, selection: Selection) -> tuple[set[str], bool, set[tuple[str, ...]]]:
    """What ``$select`` keeps of a Collection: its own attributes, whether its
    entries whole, and else the paths kept in each entry."""
    items = table.items_field
    assert items is not None  # noqa: S101 (every Collection table has entries)
    keep = {"id", "count"}
    entry_table = items.table or target_table(items)
    entry_paths: set[tuple[str, ...]] = set()
    whole_entries = False
    for path in selection.paths:
        if path[0] == items.name:
            if len(path) == 1:
                whole_entries = True
            else:
                entry_paths.add(path[1:])
            continue
        if table.get(path[0]) is not None:
            keep.add(path[0])
        if table.get(path[0]) is None or entry_table.get(path[0]) is not None:
            # An attribute the entries have too (``id``): a client selecting it
            # wants the entries' values, not entries trimmed away.
            entry_paths.add(path)
    return keep, whole_entries, entry_paths


def selected_entry_attributes(table: Table, selection: Selection) -> frozenset[str] | None:
    """The attributes of the entries that ``$select`` keeps (by their first step), or
    None: the entries are kept whole. Empty when no entry is kept at all."""
    if selection.all:
        return None
    _, whole_entries, entry_paths = _selected(table, selection)
    if whole_entries:
        return None
    return frozenset(path[0] for path in entry_paths)


def selected_collection(
    value: dict[str, Any], table: Table, selection: Selection
) -> dict[str, Any]:
    """*value* (a neutral Collection) trimmed by ``$select`` (4.1.6.3)."""
    if selection.all:
        return value
    items = table.items_field
    assert items is not None  # noqa: S101 (every Collection table has entries)
    keep, whole_entries, entry_paths = _selected(table, selection)
    result = {k: v for k, v in value.items() if k in keep}
    if whole_entries:
        result[items.name] = value.get(items.name, [])
    elif entry_paths:
        chosen = Selection(frozenset(entry_paths), all=False)
        result[items.name] = [project(entry, chosen) for entry in value.get(items.name, [])]
    return result


def expanded(ctx: Context, value: dict[str, Any], table: Table, names: Expansion) -> dict[str, Any]:
    """*value* with the references *names* asks for replaced by their targets (4.1.6.4)."""
    result = dict(value)
    for field in table.fields:
        if field.name not in names or field.kind not in (Kind.REF, Kind.COLLECTION):
            continue
        if field.target is None or field.many:
            continue
        current = value.get(field.name)
        if not isinstance(current, dict) or "href" not in current:
            continue
        target = resolve(ctx, current["href"])
        if target is not None:
            allowed = {f.name for f in target_table(field).fields}
            result[field.name] = {
                "href": current["href"],
                **{k: v for k, v in target.items() if k in allowed},
            }
    return result


def resolve(ctx: Context, href: str) -> dict[str, Any] | None:
    """The neutral resource or Collection at *href*, or None when it is not ours or not visible."""
    segments = ctx.links.segments(href)
    found = route(segments) if segments else None
    if found is None:
        return None
    binding, ids, is_resource = found
    try:
        if is_resource:
            return binding.render(ctx, binding.fetch(ctx, ids))
        return collection(ctx, binding, ids, CollectionQuery(), expand=False)
    except NotFound:
        return None


__all__ = [
    "collection",
    "expanded",
    "in_database",
    "in_memory",
    "resolve",
    "selected_collection",
    "selected_entry_attributes",
]
