"""Every table of the engine, gathered from the capability packages' ``models`` modules.

Importing this module registers every table on :data:`engine.db.Base.metadata`,
which Alembic and the test fixtures rely on.
"""

from engine.allocation import models as allocation_models
from engine.catalog import models as catalog_models
from engine.compute import models as compute_models
from engine.db import Base
from engine.events import models as event_models
from engine.federation import models as federation_models
from engine.ha import models as ha_models
from engine.inventory import dedicated as dedication_models
from engine.inventory import models as inventory_models
from engine.jobs import models as job_models
from engine.network import models as network_models
from engine.resources import models as resource_models
from engine.resources import tag_models
from engine.storage import models as storage_models
from engine.templates import models as template_models
from engine.tenancy import models as tenancy_models
from engine.tenancy import quota_models
from engine.usage import models as usage_models

# MariaDB's default utf8mb4 collation ignores case and trailing spaces, so
# "ALICE" or "alice " would sign in as alice there but not on SQLite. A
# binary, no-pad collation makes every name, key and nonce compare exactly on
# both back-ends. (MariaDB's name; MySQL 8 calls its equivalent
# utf8mb4_0900_bin.)
for _table in Base.metadata.tables.values():
    _table.dialect_kwargs["mysql_charset"] = "utf8mb4"
    _table.dialect_kwargs["mysql_collate"] = "utf8mb4_nopad_bin"

__all__ = [
    "allocation_models",
    "catalog_models",
    "compute_models",
    "dedication_models",
    "event_models",
    "federation_models",
    "ha_models",
    "inventory_models",
    "job_models",
    "network_models",
    "quota_models",
    "resource_models",
    "storage_models",
    "tag_models",
    "template_models",
    "tenancy_models",
    "usage_models",
]
