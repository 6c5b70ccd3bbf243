"""listing order indexes: each owner's computes, volumes and networks in (created, id) order

A listing shows a tenant's resources oldest first, ``(created, id)``, and
OCCI's ``page``/``number`` read a page by position (engine.resources.paging):
the key of the row before the page is found on ``(account_id, created, id,
project_id, state)`` without reading a row (``project_id`` and ``state`` are
there because the owner filter and leaving out the deleted and those being
deleted read them), then the page is read by seeking past it. Without the
index the database sorted every row of the owner for each page.

Revision ID: 0031
Revises: 0025
Create Date: 2026-12-07 18:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0025"
branch_labels = None
depends_on = None

TABLES = ("computes", "volumes", "networks")
COLUMNS = ["account_id", "created", "id", "project_id", "state"]


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_listing_order", table, COLUMNS)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_listing_order", table_name=table)
