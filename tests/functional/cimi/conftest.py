"""Fixtures of the CIMI functional tests: a small cloud, the app, clients, a job runner.

The cloud is zone ``z1`` with one simulated libvirt host (``test:///``, 16
cores, 32 GiB, a local pool ``images``; one host, so every volume is
reachable from every guest), public offerings (``small`` 1 vCPU 512 MiB,
``large`` 2 vCPUs 2 GiB with a 10 GiB root disk; disk offering ``1GiB`` and a
custom-size one; network offering ``isolated``) and a public firmware-only
image, over the tenants of ``tests/conftest.py``. Jobs run only when a test
calls ``cloud.run()``, so tests see the transient states.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from functional.cimi.support import Cimi
from helpers import basic
from unit.engine.cloud import add_cluster
from webtest import TestApp

from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool, write_test_host
from engine.handlers import register_all
from engine.inventory.models import Host, StoragePool
from engine.jobs.worker import HandlerRegistry, Worker

POOL = "images"


@dataclass
class Cloud:
    """The seeded cloud and its job runner."""

    database: Database
    worker: Worker
    ids: dict[str, str]

    def run(self) -> int:
        """Run every queued job now; return how many ran."""
        return self.worker.run_until_idle()


def seed(database: Database, tmp_path: Path) -> dict[str, str]:
    """Create the zone, host, pool, offerings and image; return their ids."""
    with database.transaction() as session:
        cluster = add_cluster(session, "test")
        uri = write_test_host(
            tmp_path / "host-1.xml",
            hostname="host-1",
            cpu_cores=16,
            cpu_mhz=2400,
            memory_mib=32768,
            pools=[(POOL, 100, "/var/lib/concord/host-1")],
        )
        host = Host(
            cluster_id=cluster.id,
            name="host-1",
            uri=uri,
            hypervisor_type="test",
            hostname="host-1",
            cpu_cores=16,
            cpu_mhz=2400,
            memory_mib=32768,
        )
        session.add(host)
        session.flush()
        session.add(
            StoragePool(
                cluster_id=cluster.id,
                host_id=host.id,
                name=f"host-1-{POOL}",
                pool_name=POOL,
                capacity_bytes=100 * 1024**3,
            )
        )
        rows = {
            "small": ComputeOffering(name="small", vcpus=1, memory_mib=512),
            "large": ComputeOffering(name="large", vcpus=2, memory_mib=2048, root_disk_gib=10),
            "1GiB": DiskOffering(name="1GiB", size_gib=1),
            "custom": DiskOffering(name="custom", size_gib=None),
            "isolated": NetworkOffering(name="isolated"),
            "firmware": Image(name="firmware", min_memory_mib=64, state="available"),
        }
        session.add_all(rows.values())
        session.flush()
        return {"zone": cluster.pod.zone_id, "host": host.id, **{k: v.id for k, v in rows.items()}}


@pytest.fixture
def cloud(database: Database, tenancy: object, tmp_path: Path) -> Iterator[Cloud]:
    """The seeded cloud; its simulated host is discarded at the end."""
    ids = {**tenancy.ids, **seed(database, tmp_path)}  # type: ignore[attr-defined]
    pool = ConnectionPool()
    drivers = DriverCache(pool)
    registry = HandlerRegistry()
    register_all(registry)
    try:
        yield Cloud(database, Worker(database, drivers, registry, worker_id="cimi-tests"), ids)
    finally:
        drivers.close()
        pool.close_all()


@pytest.fixture(params=["json", "xml"])
def fmt(request: pytest.FixtureRequest) -> str:
    """Each lifecycle test runs in both renderings."""
    return str(request.param)


def client(app: TestApp, user: str, fmt: str = "json") -> Cimi:
    """A CIMI client acting as *user* (password ``<user>-password``)."""
    return Cimi(app, fmt, basic(user, f"{user}-password"))


@pytest.fixture
def alice(app: TestApp, cloud: Cloud, fmt: str) -> Cimi:
    """alice (account dev, domain acme), in the test's rendering."""
    return client(app, "alice", fmt)


@pytest.fixture
def carol(app: TestApp, cloud: Cloud) -> Cimi:
    """carol, a tenant of another domain (globex), in JSON."""
    return client(app, "carol")


@pytest.fixture
def admin(app: TestApp, cloud: Cloud, fmt: str) -> Cimi:
    """The root administrator, in the test's rendering."""
    return client(app, "admin", fmt)
