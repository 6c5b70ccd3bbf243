"""ha_items.retry_at: when an unconfirmed fence is tried again

A host whose fence could not be confirmed waits for an operator, and its
fencer is tried again meanwhile on a back-off schedule (engine.ha.recovery):
this column says when the next attempt is due (NULL: none scheduled).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db import UTCDateTime

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ha_items") as batch:
        batch.add_column(sa.Column("retry_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ha_items") as batch:
        batch.drop_column("retry_at")
