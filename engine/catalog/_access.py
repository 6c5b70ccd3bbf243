"""Who sees which catalog entry, and how close it is to the caller.

Split from :mod:`engine.catalog.service` to keep it short; the service is
the only user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as sa

from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.lifecycle import Kind
from engine.prepared import prepared
from engine.scope import (
    Role,
    Scope,
    VisibilityShape,
    domain_chain,
    prepared_owner_filter,
    subtree,
)

#: Each kind of entry as the subject of an error (engine.errors, "Structured details").
SUBJECTS: Mapping[type[Any], str] = {
    Image: Kind.IMAGE.value,
    ComputeOffering: "compute_offering",
    DiskOffering: "disk_offering",
    NetworkOffering: "network_offering",
}


E = TypeVar("E", Image, ComputeOffering, DiskOffering, NetworkOffering)
_ANCESTORS = "catalog_ancestors"
_SUBTREE = "catalog_subtree"


def same(column: Any, value: str | None) -> sa.ColumnElement[bool]:
    """``column`` equals ``value``, NULL included."""
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def visible(shape: VisibilityShape, model: type[Any]) -> sa.ColumnElement[bool]:
    """Which entries of ``model`` a caller of ``shape`` sees: public ones restricted
    to its domains (or below, for a domain administrator), and private ones it may see.

    The caller's values are bound parameters (:func:`visible_parameters`), so
    that the statements of the catalog's reads are built once per shape
    (:func:`engine.prepared.prepared`): every OCCI rendering of a compute
    lists the catalog for its templates' terms.
    """
    role, _ = shape
    if role is Role.ROOT_ADMIN:
        return sa.true()
    # Restricted to the caller's domain or one above it: visible here.
    ancestors: sa.BindParameter[list[str]] = sa.bindparam(_ANCESTORS, expanding=True)
    restriction = sa.or_(model.domain_id.is_(None), model.domain_id.in_(ancestors))
    if role is Role.DOMAIN_ADMIN:
        # ... and administrators see what they restricted to their subdomains.
        below: sa.BindParameter[str] = sa.bindparam(_SUBTREE)
        restriction = sa.or_(restriction, model.domain_id.in_(subtree(below)))
    public = sa.and_(model.account_id.is_(None), restriction)
    private = sa.and_(
        model.account_id.is_not(None),
        prepared_owner_filter(shape, model.account_id, model.project_id, model.domain_id),
    )
    return sa.or_(public, private)


def entries_query(model: type[E], scope: Scope, by: str) -> tuple[sa.Select[E], dict[str, Any]]:
    """The catalog read of one kind for ``scope``, built once per caller shape,
    and the parameters to execute it with (:func:`visible_parameters`).

    :param by: ``all`` (by name), ``id`` or ``name`` (then also bind
        ``entry_id`` or ``entry_name``).
    """
    shape = scope.visibility_shape

    def build() -> sa.Select[E]:
        query = sa.select(model).where(visible(shape, model))
        if by == "id":
            return query.where(model.id == sa.bindparam("entry_id"))
        if by == "name":
            return query.where(model.name == sa.bindparam("entry_name"))
        return query.order_by(model.name, model.created, model.id)

    return prepared(("catalog", model, shape, by), build), visible_parameters(scope)


def visible_parameters(scope: Scope) -> dict[str, Any]:
    """The bound values of :func:`visible` for ``scope``."""
    ancestors = domain_chain(scope.domain_path)
    return {
        **scope.visibility_parameters(),
        _ANCESTORS: ancestors,
        _SUBTREE: scope.domain_path,
    }


def closeness(scope: Scope, entry: Any) -> tuple[int, int]:
    """How close an entry is to ``scope`` (lower first): its project, its
    account, its domains deepest first, the whole cloud, then the rest."""
    if entry.account_id is not None:
        if scope.project_id is not None and entry.project_id == scope.project_id:
            return (0, 0)
        if entry.account_id == scope.account_id and entry.project_id is None:
            return (1, 0)
        return (4, 0)
    if entry.domain_id is None:
        return (3, 0)
    position = scope.domain_path.find(f"/{entry.domain_id}/")
    # Restricted to one of the caller's domains: the deeper, the closer. An
    # administrator's view of a subdomain's entries is as remote as others' own.
    return (2, -position) if position >= 0 else (4, 0)


__all__ = ["SUBJECTS", "closeness", "entries_query", "same", "visible", "visible_parameters"]
