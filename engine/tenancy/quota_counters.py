"""The quota counters' statements: every counter of a charge or a release in one.

:class:`engine.tenancy.quotas.QuotaService` decides the owner chain and the
limits; these functions move the counters (``resource_counts``) of every
owner of the chain, for every resource type, in a single ``UPDATE``. One
statement takes the counters' row locks in index order, the same order in
every transaction, charge or release alike (the lock order of the quotas
module: counters before capacity rows, still holds, as callers charge
first).
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.tenancy.models import UNLIMITED, LimitOwner, ResourceType
from engine.tenancy.quota_models import ResourceCount


def _key(kind: LimitOwner, owner_id: str, rt: ResourceType) -> sa.ColumnElement[bool]:
    return sa.and_(
        ResourceCount.owner_kind == kind,
        ResourceCount.owner_id == owner_id,
        ResourceCount.resource_type == rt,
    )


def _keys_in(
    chain: list[tuple[LimitOwner, str]], types: Mapping[ResourceType, int]
) -> sa.ColumnElement[bool]:
    """The counters of every owner of *chain* for every resource type of *types*.

    The pair's ``IN`` alone is exact but no index serves it on SQLite (a scan
    of every tenant's counters, bench/scale.py); the ``IN`` on each column of
    the primary key lets both databases seek it, the pair keeps it exact.
    """
    return sa.and_(
        ResourceCount.owner_kind.in_(sorted({kind for kind, _owner in chain})),
        ResourceCount.owner_id.in_(sorted({owner for _kind, owner in chain})),
        sa.tuple_(ResourceCount.owner_kind, ResourceCount.owner_id).in_(chain),
        ResourceCount.resource_type.in_(list(types)),
    )


def _per_type(amounts: Mapping[ResourceType, int]) -> sa.ColumnElement[int]:
    """The amount of the counter's resource type, as a SQL expression."""
    return sa.case(
        *((ResourceCount.resource_type == rt, amount) for rt, amount in amounts.items()),
        else_=0,
    )


def lock_all(
    session: Session, chain: list[tuple[LimitOwner, str]], wanted: Mapping[ResourceType, int]
) -> None:
    """Lock every counter of a charge, in index order, before :func:`increment_all` moves them.

    Without it, a refused charge deadlocks the charges queued behind it on
    MariaDB: the conditional ``UPDATE`` keeps the locks of the counters it
    did move (rolling back to a savepoint gives no row lock back), and when
    the counter that refused comes first in the index (an account before
    its domains), the refused transaction then reads it again while the
    next one holds it and waits for the counters the first still holds.
    Holding them all from one statement, in the order every charge and
    release takes them, leaves nothing to take later. SQLite needs none: a
    writer holds the whole database, and it has no ``FOR UPDATE``.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(
        sa.select(ResourceCount.used)
        .where(_keys_in(chain, wanted))
        .order_by(ResourceCount.owner_kind, ResourceCount.owner_id, ResourceCount.resource_type)
        .with_for_update()
    )


def increment_all(
    session: Session,
    chain: list[tuple[LimitOwner, str]],
    wanted: Mapping[ResourceType, int],
    limits: Mapping[tuple[LimitOwner, str, ResourceType], int],
) -> bool:
    """Count every amount on every owner of *chain* in one conditional ``UPDATE``.

    True when every counter moved; False when one would pass its limit or
    does not exist yet (the caller rolls the attempt back). One statement
    takes the counters' row locks in index order, the same order in
    every transaction (and :func:`release_all` takes them the same way).
    """
    amount = _per_type(wanted)
    statement = sa.update(ResourceCount).where(_keys_in(chain, wanted))
    limited = [
        (_key(kind, owner_id, rt), maximum)
        for (kind, owner_id, rt), maximum in limits.items()
        if maximum != UNLIMITED
    ]
    if limited:
        limit = sa.case(*limited, else_=UNLIMITED)
        statement = statement.where(
            sa.or_(limit == UNLIMITED, ResourceCount.used + amount <= limit)
        )
    statement = statement.values(used=ResourceCount.used + amount).execution_options(
        synchronize_session=False
    )
    counted = session.execute(statement).rowcount  # type: ignore[attr-defined]
    return bool(counted == len(chain) * len(wanted))


def release_all(
    session: Session, chain: list[tuple[LimitOwner, str]], given: Mapping[ResourceType, int]
) -> None:
    """Give back *given* on every owner of *chain* (never below zero), in one ``UPDATE``."""
    amount = _per_type(given)
    left = sa.case((ResourceCount.used > amount, ResourceCount.used - amount), else_=0)
    session.execute(
        sa.update(ResourceCount)
        .where(_keys_in(chain, given))
        .values(used=left)
        .execution_options(synchronize_session=False)
    )


__all__ = ["increment_all", "lock_all", "release_all"]
