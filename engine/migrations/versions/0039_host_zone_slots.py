"""host zone slots: each host's number in its zone, random placement's seek

``random`` placement drew a host at a random ``OFFSET`` of the zone's index,
which the database walks (half the zone on average). Each host now holds a
number in its zone (``hosts.zone_slot``), exactly ``0 .. host_count - 1``
per zone, kept with the count (engine/inventory/zone_slots.py), and a
unique index on ``(zone_id, zone_slot)`` makes the draw a seek. This
migration numbers the hosts there are, per zone in (created, id) order.

Revision ID: 0039
Revises: 0033
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("hosts", sa.Column("zone_slot", sa.Integer(), nullable=True))
    hosts = sa.table(
        "hosts",
        sa.column("id", sa.String),
        sa.column("zone_id", sa.String),
        sa.column("created", sa.DateTime),
        sa.column("zone_slot", sa.Integer),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(hosts.c.zone_id, hosts.c.id)
        .where(hosts.c.zone_id.is_not(None))
        .order_by(hosts.c.zone_id, hosts.c.created, hosts.c.id)
    ).all()
    # Numbered in Python (one pass, portable): window functions in an UPDATE
    # of the table they read are not written alike on SQLite and MariaDB.
    slots = [
        {"host_id": host_id, "slot": slot}
        for _zone, zone_rows in itertools.groupby(rows, key=lambda row: row[0])
        for slot, (_z, host_id) in enumerate(zone_rows)
    ]
    if slots:
        bind.execute(
            sa.update(hosts)
            .where(hosts.c.id == sa.bindparam("host_id"))
            .values(zone_slot=sa.bindparam("slot")),
            slots,
        )
    op.create_index("uq_hosts_zone_slot", "hosts", ["zone_id", "zone_slot"], unique=True)


def downgrade() -> None:
    # The index first: SQLite refuses to drop an indexed column. A plain
    # column then, dropped in place (as 0025's).
    op.drop_index("uq_hosts_zone_slot", table_name="hosts")
    op.drop_column("hosts", "zone_slot")
