"""SQLAlchemy models, one module per aggregate.

Importing this package registers every table on :data:`engine.db.Base.metadata`,
which Alembic and the test fixtures rely on.
"""

from engine.db import Base
from engine.models import (
    catalog,
    compute,
    events,
    inventory,
    jobs,
    network,
    quotas,
    resources,
    storage,
    tags,
    templates,
    tenancy,
)

# MariaDB's default utf8mb4 collation ignores case and trailing spaces, so
# "ALICE" or "alice " would sign in as alice there but not on SQLite. A
# binary, no-pad collation makes every name, key and nonce compare exactly on
# both back-ends. (MariaDB's name; MySQL 8 calls its equivalent
# utf8mb4_0900_bin.)
for _table in Base.metadata.tables.values():
    _table.dialect_kwargs["mysql_charset"] = "utf8mb4"
    _table.dialect_kwargs["mysql_collate"] = "utf8mb4_nopad_bin"

__all__ = [
    "catalog",
    "compute",
    "events",
    "inventory",
    "jobs",
    "network",
    "quotas",
    "resources",
    "storage",
    "tags",
    "templates",
    "tenancy",
]
