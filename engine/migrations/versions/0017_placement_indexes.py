"""placement indexes and groups: stored host zone and limits, a computed free share, an index
per ordering; placement groups unique per project

Placement in SQL read every host of the zone to sort it: the hosts table
had no index that serves an allocator's order. Each host now stores its zone
and its limits (size times its cluster's over-provisioning factors, computed in
Python by ``host_limits``), the database computes its free share from the
row (a virtual generated column, so the claim's conditional UPDATE keeps it
current), and ``(zone, created, id)``, ``(zone, free_share, created, id)``
and ``(zone, -free_share, created, id)`` are indexed: ``first_fit``, ``fill_first``
and ``disperse`` read their first qualifying hosts off an index.

Placement groups were unique per account; they are now unique per project
(OpenStack's server groups are a project's), or per account for those made
outside any project: ``owner_key`` is the project's id, else the account's.

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _free(limit: str, allocated: str) -> str:
    # As engine/inventory/models.py writes it (a migration does not import models).
    return f"CASE WHEN {limit} > 0 THEN ({limit} - {allocated}) * 1e0 / {limit} ELSE 0e0 END"


FREE_SHARE_SQL = (
    f"0.5e0 * ({_free('cpu_limit', 'allocated_vcpus')})"
    f" + 0.5e0 * ({_free('memory_limit', 'allocated_memory_mib')})"
)


def upgrade() -> None:
    op.add_column("hosts", sa.Column("cpu_limit", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("hosts", sa.Column("zone_id", sa.String(36), nullable=True))
    op.add_column(
        "hosts", sa.Column("memory_limit", sa.BigInteger(), nullable=False, server_default="0")
    )
    # The limits of the hosts there are, as host_limits computes them (in
    # Python: a CAST in SQL rounds on MariaDB).
    bind = op.get_bind()
    hosts = sa.table(
        "hosts",
        sa.column("id", sa.String),
        sa.column("cluster_id", sa.String),
        sa.column("zone_id", sa.String),
        sa.column("cpu_cores", sa.Integer),
        sa.column("memory_mib", sa.BigInteger),
        sa.column("cpu_limit", sa.Integer),
        sa.column("memory_limit", sa.BigInteger),
    )
    clusters = sa.table(
        "clusters",
        sa.column("id", sa.String),
        sa.column("pod_id", sa.String),
        sa.column("cpu_overprovisioning", sa.Float),
        sa.column("memory_overprovisioning", sa.Float),
    )
    pods = sa.table("pods", sa.column("id", sa.String), sa.column("zone_id", sa.String))
    rows = bind.execute(
        sa.select(
            hosts.c.id,
            pods.c.zone_id,
            hosts.c.cpu_cores,
            hosts.c.memory_mib,
            clusters.c.cpu_overprovisioning,
            clusters.c.memory_overprovisioning,
        )
        .join(clusters, hosts.c.cluster_id == clusters.c.id)
        .join(pods, clusters.c.pod_id == pods.c.id)
    ).all()
    for host_id, zone_id, cores, memory, cpu_factor, memory_factor in rows:
        bind.execute(
            sa.update(hosts)
            .where(hosts.c.id == host_id)
            .values(
                zone_id=zone_id,
                cpu_limit=int(cores * cpu_factor),
                memory_limit=int(memory * memory_factor),
            )
        )
    op.add_column(
        "hosts",
        sa.Column("free_share", sa.Double(), sa.Computed(FREE_SHARE_SQL, persisted=False)),
    )
    op.add_column(
        "hosts",
        sa.Column(
            "negated_free_share",
            sa.Double(),
            sa.Computed(f"-({FREE_SHARE_SQL})", persisted=False),
        ),
    )
    op.create_index("ix_hosts_zone_created", "hosts", ["zone_id", "created", "id"])
    op.create_index("ix_hosts_zone_free_share", "hosts", ["zone_id", "free_share", "created", "id"])
    op.create_index(
        "ix_hosts_zone_negated_free_share",
        "hosts",
        ["zone_id", "negated_free_share", "created", "id"],
    )

    # Placement groups: unique per project (per account outside projects).
    op.add_column(
        "placement_groups",
        sa.Column("owner_key", sa.String(36), nullable=False, server_default=""),
    )
    groups = sa.table(
        "placement_groups",
        sa.column("owner_key", sa.String),
        sa.column("project_id", sa.String),
        sa.column("account_id", sa.String),
    )
    bind.execute(
        sa.update(groups).values(
            owner_key=sa.func.coalesce(groups.c.project_id, groups.c.account_id)
        )
    )
    with op.batch_alter_table("placement_groups") as batch:
        batch.drop_constraint("uq_placement_groups_account_name", type_="unique")
        batch.create_unique_constraint("uq_placement_groups_owner_name", ["owner_key", "name"])


def downgrade() -> None:
    with op.batch_alter_table("placement_groups") as batch:
        batch.drop_constraint("uq_placement_groups_owner_name", type_="unique")
        batch.create_unique_constraint("uq_placement_groups_account_name", ["account_id", "name"])
        batch.drop_column("owner_key")
    op.drop_index("ix_hosts_zone_negated_free_share", table_name="hosts")
    op.drop_index("ix_hosts_zone_free_share", table_name="hosts")
    op.drop_index("ix_hosts_zone_created", table_name="hosts")
    op.drop_column("hosts", "zone_id")
    op.drop_column("hosts", "negated_free_share")
    op.drop_column("hosts", "free_share")
    op.drop_column("hosts", "memory_limit")
    op.drop_column("hosts", "cpu_limit")
