"""root disks count against primary_storage: charge the ones made before

A guest's root disk was claimed in its pool but not charged to its owner's
``primary_storage`` limit; from this revision on it is, and it is given
back with the claim. Every root disk still claimed (``computes.root_pool_id``
set, whatever the compute's state: a deleted compute's copy on a host that
was down still holds its claim until reconciliation removes it) is charged
here, so that giving it back later does not take from what volumes use.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:00:00
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GIB = 1024**3
# The tables as this revision knows them (never the models, which move on).
computes = sa.table(
    "computes",
    sa.column("account_id", sa.String),
    sa.column("project_id", sa.String),
    sa.column("domain_id", sa.String),
    sa.column("root_pool_id", sa.String),
    sa.column("root_disk_bytes", sa.BigInteger),
)
domains = sa.table("domains", sa.column("id", sa.String), sa.column("parent_id", sa.String))
counts = sa.table(
    "resource_counts",
    sa.column("owner_kind", sa.String),
    sa.column("owner_id", sa.String),
    sa.column("resource_type", sa.String),
    sa.column("used", sa.BigInteger),
)


def _root_disk_charges(connection: sa.Connection) -> dict[tuple[str, str], int]:
    """GiB of claimed root disks per charged owner: its project or account, its domains."""
    parents = dict(connection.execute(sa.select(domains.c.id, domains.c.parent_id)).all())
    owed: dict[tuple[str, str], int] = {}
    claimed = connection.execute(
        sa.select(
            computes.c.account_id,
            computes.c.project_id,
            computes.c.domain_id,
            computes.c.root_disk_bytes,
        ).where(computes.c.root_pool_id.is_not(None))
    )
    for account_id, project_id, domain_id, size in claimed:
        amount = math.ceil((size or 0) / GIB)
        if amount <= 0:
            continue
        chain = [("project", project_id)] if project_id else [("account", account_id)]
        domain = domain_id
        while domain is not None and parents.get(domain) is not None:  # ROOT has no counters
            chain.append(("domain", domain))
            domain = parents[domain]
        for owner in chain:
            owed[owner] = owed.get(owner, 0) + amount
    return owed


def _key(kind: str, owner_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        counts.c.owner_kind == kind,
        counts.c.owner_id == owner_id,
        counts.c.resource_type == "primary_storage",
    )


def upgrade() -> None:
    connection = op.get_bind()
    for (kind, owner_id), amount in _root_disk_charges(connection).items():
        moved = connection.execute(
            sa.update(counts).where(*_key(kind, owner_id)).values(used=counts.c.used + amount)
        )
        if not moved.rowcount:
            connection.execute(
                sa.insert(counts).values(
                    owner_kind=kind, owner_id=owner_id, resource_type="primary_storage", used=amount
                )
            )


def downgrade() -> None:
    connection = op.get_bind()
    for (kind, owner_id), amount in _root_disk_charges(connection).items():
        connection.execute(
            sa.update(counts)
            .where(*_key(kind, owner_id))
            .values(used=sa.case((counts.c.used > amount, counts.c.used - amount), else_=0))
        )
