"""``GET /capacity``: the operators' capacity report over HTTP, and who may read it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from helpers import basic
from unit.engine.allocation.rows import store_inventory
from webtest import TestApp

from engine.db import Database
from engine.inventory.models import Cluster, Host, Pod, StoragePool, Zone

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


def test_an_empty_pod_and_cluster_are_reported_with_zero_figures(
    app: TestApp, tenancy, database: Database
) -> None:
    # An operator builds the inventory top down: the pod and cluster exist
    # before their first host, and the report must show them (all zero).
    _inventory(database)
    with database.transaction() as session:
        zone_id = session.scalars(sa.select(Zone.id).where(Zone.name == "zone")).one()
        session.add(Pod(id="p2", zone_id=zone_id, name="p2"))
        session.flush()
        session.add(Cluster(id="c2", pod_id="p2", name="c2", hypervisor_type="test"))
    report = app.get("/capacity", headers=basic("admin", "admin-password")).json["capacity"]
    paths = [(r["level"], r["path"]) for r in report]
    assert ("pod", "zone/p2") in paths and ("cluster", "zone/p2/c2") in paths
    empty = next(r for r in report if r["path"] == "zone/p2/c2")
    for resource in ("vcpus", "memory_mib", "storage_bytes"):
        assert set(empty[resource].values()) == {0}
    zone = report[0]
    assert zone["vcpus"]["total"] == 16  # the empty cluster adds nothing
