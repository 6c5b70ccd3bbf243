"""Who sees which catalog entry, and how close it is to the caller.

Split from :mod:`engine.catalog.service` to keep it short; the service is
the only user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.lifecycle import Kind
from engine.scope import Role, Scope
from engine.tenancy.models import Domain

#: Each kind of entry as the subject of an error (engine.errors, "Structured details").
SUBJECTS: Mapping[type[Any], str] = {
    Image: Kind.IMAGE.value,
    ComputeOffering: "compute_offering",
    DiskOffering: "disk_offering",
    NetworkOffering: "network_offering",
}


def same(column: Any, value: str | None) -> sa.ColumnElement[bool]:
    """``column`` equals ``value``, NULL included."""
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def visible(scope: Scope, model: type[Any]) -> sa.ColumnElement[bool]:
    """Which entries of ``model`` ``scope`` sees: public ones restricted to its
    domains (or below, for a domain administrator), and private ones it may see."""
    if scope.is_root_admin:
        return sa.true()
    # Restricted to the caller's domain or one above it: visible here.
    ancestors = [i for i in scope.domain_path.strip("/").split("/") if i]
    restriction = sa.or_(model.domain_id.is_(None), model.domain_id.in_(ancestors))
    if scope.role is Role.DOMAIN_ADMIN:
        # ... and administrators see what they restricted to their subdomains.
        subtree = sa.select(Domain.id).where(Domain.path.startswith(scope.domain_path))
        restriction = sa.or_(restriction, model.domain_id.in_(subtree))
    public = sa.and_(model.account_id.is_(None), restriction)
    private = sa.and_(
        model.account_id.is_not(None),
        scope.owner_filter(model.account_id, model.project_id, model.domain_id),
    )
    return sa.or_(public, private)


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


__all__ = ["SUBJECTS", "closeness", "same", "visible"]
