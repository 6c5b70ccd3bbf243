"""A page of a resource Kind's collection read in SQL (GFD.223 §3.4, issue 15).

``page`` and ``number`` give a page by position in the collection as it is
listed: Kind by Kind in the collection's order, each Kind's entities oldest
first, without those whose deletion was accepted
(:data:`~occi.mapping.states.GONE`). Instead of loading every member and
slicing, the page's rows are read by seeking on that order
(:func:`engine.resources.paging.seek_page`); a Kind that lies wholly before
the page is only counted. The page is the one the slice gave (a test holds
them equal), and a member created while a client pages is listed after every
older one, so the pages already read keep their members.

Only collections of resource Kinds (compute, storage, network, and
``/resource/`` over them) are paged here; links, Mixin collections and
unbound paths, and any filter that must be matched on the renderings, keep
the slice (:func:`load_page` answers None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.filters import Page
from occi.mapping.load import RESOURCE_LISTS, Batch, Loaded, service_of
from occi.mapping.states import GONE

#: The engine states a listing leaves out.
_GONE_CODES = frozenset(state.value for state in GONE)


def load_page(
    ctx: OcciContext,
    tables: Sequence[t.KindTable],
    page: Page,
    *,
    full: bool,
    where: Mapping[t.KindTable, Any] | None = None,
) -> list[Loaded] | None:
    """The members of *page* of the collection of *tables*, or None: not pageable in SQL.

    :param full: load links and tags too (JSON renderings); without, the
        locations only.
    :param where: a condition per Kind (:func:`occi.mapping.sql_filters.split`).
    """
    if not tables or any(table not in RESOURCE_LISTS for table in tables):
        return None
    conditions = where or {}
    skip, wanted = (page.page - 1) * page.number, page.number
    found: list[Loaded] = []
    for index, table in enumerate(tables):
        service = service_of(ctx, table)
        condition = conditions.get(table)
        if skip and index < len(tables) - 1:
            members = service.count(ctx.scope, where=condition, exclude_states=_GONE_CODES)
            if members <= skip:
                skip -= members  # the whole Kind lies before the page
                continue
        rows = service.page(
            ctx.scope, skip=skip, limit=wanted, where=condition, exclude_states=_GONE_CODES
        )
        skip = 0
        found += _loaded(ctx, table, rows, full=full)
        wanted -= len(rows)
        if wanted <= 0:
            break
    return found


def _loaded(
    ctx: OcciContext, table: t.KindTable, rows: Iterable[Any], *, full: bool
) -> list[Loaded]:
    """*rows* as :func:`occi.mapping.load.load_kind` loads them."""
    rows = list(rows)
    if not full:
        return [Loaded(table, t.Facts(row)) for row in rows]
    if table is t.COMPUTE:
        batch = Batch(ctx, computes=rows)
        links = batch.links_by_compute()
        return [batch.compute(row, links) for row in rows]
    batch = Batch(ctx)
    return [
        Loaded(table, t.Facts(row), tags=batch.tags.get(row.id, []), zone_ids=ctx.zone_ids(row))
        for row in rows
    ]


__all__ = ["load_page"]
