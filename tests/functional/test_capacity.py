"""``GET /capacity``: the operators' capacity report over HTTP, and who may read it."""

from __future__ import annotations

import datetime as dt

from helpers import basic
from unit.engine.allocation.rows import store_inventory
from webtest import TestApp

from engine.db import Database
from engine.inventory.models import Cluster, Host, StoragePool

GIB = 1024**3
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _inventory(database: Database) -> None:
    factors = {"cpu_overprovisioning": 2.0, "memory_overprovisioning": 1.0}
    hosts = [
        Host(
            id=name,
            name=name,
            cluster=Cluster(id="c1", pod_id="p1", **factors),
            cpu_cores=8,
            memory_mib=4096,
            allocated_vcpus=allocated,
            allocated_memory_mib=1024,
            ha_reserved=ha,
            tags="",
            created=EPOCH,
        )
        for name, allocated, ha in (("h1", 6, False), ("h2", 2, True))
    ]
    store_inventory(database, hosts)
    with database.transaction() as session:
        session.add(
            StoragePool(
                cluster_id="c1",
                host_id="h1",
                name="local",
                pool_name="local",
                capacity_bytes=100 * GIB,
                allocated_bytes=30 * GIB,
            )
        )


def test_root_administrators_read_every_level_with_its_figures(
    app: TestApp, tenancy, database: Database
) -> None:
    _inventory(database)
    report = app.get("/capacity", headers=basic("admin", "admin-password")).json["capacity"]
    assert [(r["level"], r["path"]) for r in report] == [
        ("zone", "zone"),
        ("pod", "zone/p1"),
        ("cluster", "zone/p1/c1"),
        ("host", "zone/p1/c1/h1"),
        ("host", "zone/p1/c1/h2"),
        ("pool", "zone/p1/c1/h1/local"),
    ]
    zone = report[0]
    # 16 cores x 2 = 32 vCPUs; 8 allocated; h2's 14 unallocated are for HA: 10 free.
    assert zone["vcpus"] == {
        "total": 16,
        "limit": 32,
        "allocated": 8,
        "used": 0,
        "ha_reserved": 14,
        "free": 10,
    }
    assert zone["memory_mib"]["free"] == 8192 - 2048 - 3072
    assert zone["storage_bytes"] == {
        "total": 100 * GIB,
        "limit": 200 * GIB,  # the cluster's default storage factor, 2
        "allocated": 30 * GIB,
        "used": 30 * GIB,
        "ha_reserved": 0,
        "free": 170 * GIB,
    }
    assert report[4]["vcpus"]["free"] == 0  # h2 takes only HA restarts
    one_zone = app.get("/capacity?zone=zone", headers=basic("admin", "admin-password"))
    assert one_zone.json == {"capacity": report}


def test_no_one_else_reads_capacity_or_learns_zone_names(
    app: TestApp, tenancy, database: Database
) -> None:
    _inventory(database)
    for path in ("/capacity", "/capacity?zone=zone", "/capacity?zone=nowhere"):
        assert app.get(path, headers=basic("alice", "alice-password"), status=403)
        assert app.get(path, headers=basic("acmeadmin", "acmeadmin-password"), status=403)
        app.get(path, status=401)
    app.get("/capacity?zone=nowhere", headers=basic("admin", "admin-password"), status=404)
