"""Catalog entries addressed by readable names: ``machineConfigs/small``.

A MachineConfiguration, MachineImage or VolumeImage's href carries the same
readable term its OCCI template has (:func:`concord.terms.readable_terms`:
made from its name, unique among the entries the caller sees, stable), so
that a person can type it. Its id stays an alias: an href with the id is
still understood.
"""

from __future__ import annotations

from typing import Any

from cimi.mapping.base import Context
from concord.terms import readable_terms


def _terms(ctx: Context, model: type[Any]) -> dict[str, str]:
    key = f"terms.{model.__name__}"
    if key not in ctx.memo:
        ctx.memo[key] = readable_terms(ctx.engine.catalog.list_entries(ctx.scope, model))
    found: dict[str, str] = ctx.memo[key]
    return found


def href_id(ctx: Context, model: type[Any], entry_id: str) -> str:
    """The segment of an entry's href: its readable term (its id if the caller
    does not see it)."""
    return _terms(ctx, model).get(entry_id, entry_id)


def entry_id(ctx: Context, model: type[Any], segment: str) -> str:
    """The catalog id an href segment names: a readable term, or an id as it is."""
    for found_id, term in _terms(ctx, model).items():
        if term == segment:
            return found_id
    return segment


__all__ = ["entry_id", "href_id"]
