"""A small cloud of simulated libvirt hosts for the compute, worker and reconcile tests.

Zone ``z1`` > pod > cluster of two ``test:///`` hosts (4 cores, 8 GiB each,
written by :func:`write_test_host` with matching capacity), a local pool
``images`` per host, offerings ``small`` (1 vCPU, 512 MiB) and ``large``
(2 vCPU, 2 GiB, HA), a public firmware-only image, and the tenants of
``tests/conftest.py``. Rows are created directly (not through the inventory
and catalog services) so these tests depend only on the models.

Each cloud opens its hosts through a private connection pool: closing it at
the end of the test discards the simulated hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.catalog.models import ComputeOffering, Image
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.base import HypervisorDriver
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool, write_test_host
from engine.drivers.specs import PowerState
from engine.events.models import Event
from engine.handlers import register_all
from engine.inventory.models import Cluster, Host, Pod, StoragePool, Zone
from engine.jobs.models import Job
from engine.jobs.worker import HandlerRegistry, Worker
from engine.lifecycle import Action
from engine.scope import Scope
from engine.storage.models import StorageAttachment, Volume
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quota_models import ResourceCount

POOL = "images"
HOST_CORES = 4
HOST_MEMORY_MIB = 8192
USERS = ("alice", "bob", "carol", "acmeadmin", "admin")


@dataclass
class Cloud:
    """Handles on the seeded cloud."""

    database: Database
    pool: ConnectionPool
    drivers: DriverCache
    registry: HandlerRegistry
    worker: Worker
    root: Scope
    scopes: dict[str, Scope]
    ids: dict[str, str] = field(default_factory=dict)

    def driver(self, host: str = "host-1") -> HypervisorDriver:
        """The driver of a host by name."""
        with self.database.transaction() as session:
            uri = session.scalar(sa.select(Host.uri).where(Host.name == host))
        assert uri is not None
        return self.drivers(uri)

    def compute(self, compute_id: str) -> Compute:
        """A compute row, read in its own transaction."""
        with self.database.transaction() as session:
            compute = session.get(Compute, compute_id)
            assert compute is not None
            return compute

    def guest(self, compute_id: str) -> str:
        """The guest id of a compute: what the host knows its guest by (never the compute id).

        Tests ask the driver about a compute's guest through this, as the engine does.
        """
        with self.database.transaction() as session:
            guest_id = session.scalar(sa.select(Compute.guest_id).where(Compute.id == compute_id))
        assert guest_id is not None, f"no compute {compute_id}"
        return guest_id

    def computes_of(self, guest_ids) -> set[str]:
        """The compute ids of guests the host lists (``driver.list_guests()`` keys)."""
        with self.database.transaction() as session:
            found = dict(
                session.execute(
                    sa.select(Compute.guest_id, Compute.id).where(
                        Compute.guest_id.in_(list(guest_ids))
                    )
                ).all()
            )
        return {found.get(g, g) for g in guest_ids}

    def job(self, job_id: str) -> Job:
        """A job row, read in its own transaction."""
        with self.database.transaction() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def host(self, name: str = "host-1") -> Host:
        """A host row by name."""
        with self.database.transaction() as session:
            host = session.scalar(sa.select(Host).where(Host.name == name))
            assert host is not None
            return host

    def used(self, account: str, resource: ResourceType) -> int:
        """How much of ``resource`` an account has in use."""
        with self.database.transaction() as session:
            used = session.scalar(
                sa.select(ResourceCount.used).where(
                    ResourceCount.owner_kind == LimitOwner.ACCOUNT,
                    ResourceCount.owner_id == self.ids[account],
                    ResourceCount.resource_type == resource,
                )
            )
            return int(used or 0)

    def events(self, resource_id: str | None = None) -> list[Event]:
        """Recorded events, oldest first (of one resource if given)."""
        with self.database.transaction() as session:
            query = sa.select(Event).order_by(Event.seq)
            if resource_id is not None:
                query = query.where(Event.resource_id == resource_id)
            return list(session.scalars(query))

    def event_types(self, resource_id: str) -> list[str]:
        """The types of a resource's events, oldest first."""
        return [event.type for event in self.events(resource_id)]

    def run_jobs(self) -> int:
        """Run every queued job; return how many ran."""
        return self.worker.run_until_idle()


def add_cluster(session: sa.orm.Session, hypervisor_type: str, **options: Any) -> Cluster:
    """Add zone ``z1``, its pod ``p1`` and their cluster ``c1`` of ``hypervisor_type``.

    :param options: more columns of the cluster (``cpu_overprovisioning``...).
    """
    zone = Zone(name="z1")
    session.add(zone)
    session.flush()
    pod = Pod(zone_id=zone.id, name="p1")
    session.add(pod)
    session.flush()
    cluster = Cluster(pod_id=pod.id, name="c1", hypervisor_type=hypervisor_type, **options)
    session.add(cluster)
    session.flush()
    return cluster


def _add_host(session: sa.orm.Session, tmp_path: Path, cluster: Cluster, name: str) -> Host:
    uri = write_test_host(
        tmp_path / f"{name}.xml",
        hostname=name,
        cpu_cores=HOST_CORES,
        cpu_mhz=2400,
        memory_mib=HOST_MEMORY_MIB,
        pools=[(POOL, 10, f"/var/lib/concord/{name}")],
    )
    host = Host(
        cluster_id=cluster.id,
        name=name,
        uri=uri,
        hypervisor_type="test",
        hostname=name,
        cpu_cores=HOST_CORES,
        cpu_mhz=2400,
        memory_mib=HOST_MEMORY_MIB,
    )
    session.add(host)
    session.flush()
    session.add(
        StoragePool(
            cluster_id=cluster.id,
            host_id=host.id,
            name=f"{name}-{POOL}",
            pool_name=POOL,
            capacity_bytes=10 * 1024**3,
        )
    )
    return host


def build_cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    """Seed zone, hosts, pools, offerings and an image; yield the cloud; close its hosts."""
    ids: dict[str, str] = dict(tenancy.ids)  # type: ignore[attr-defined]
    with database.transaction() as session:
        cluster = add_cluster(session, "test")
        for name in ("host-1", "host-2"):
            ids[name] = _add_host(session, tmp_path, cluster, name).id
        small = ComputeOffering(name="small", vcpus=1, memory_mib=512)
        large = ComputeOffering(name="large", vcpus=2, memory_mib=2048, ha_enabled=True)
        private = ComputeOffering(
            name="sales-only",
            vcpus=1,
            memory_mib=256,
            account_id=ids["sales"],
            domain_id=ids["globex"],
        )
        firmware = Image(name="firmware", min_memory_mib=64, state="available")
        session.add_all([small, large, private, firmware])
        session.flush()
        ids.update(
            zone=cluster.pod.zone_id,
            cluster=cluster.id,
            small=small.id,
            large=large.id,
            private_offering=private.id,
            firmware=firmware.id,
        )
        credentials = CredentialService(session, hasher)
        scopes = {user: credentials.scope_for_user_id(ids[user]) for user in USERS}
    pool = ConnectionPool()
    drivers = DriverCache(pool)
    registry = HandlerRegistry()
    register_all(registry)
    worker = Worker(database, drivers, registry, worker_id="test-worker")
    root: Scope = tenancy.root  # type: ignore[attr-defined]
    try:
        yield Cloud(database, pool, drivers, registry, worker, root, scopes, ids)
    finally:
        drivers.close()
        pool.close_all()


def create(cloud: Cloud, user: str = "alice", **kwargs: Any) -> tuple[str, str]:
    """Create a compute in a committed transaction; return (compute id, job id)."""
    kwargs.setdefault("name", "web")
    if "offering_id" not in kwargs and "vcpus" not in kwargs:
        kwargs["offering_id"] = cloud.ids["small"]
    with cloud.database.transaction() as session:
        compute, job = ComputeService(session).create(cloud.scopes[user], **kwargs)
        return compute.id, job.id


def perform(
    cloud: Cloud, compute_id: str, action: Action, user: str = "alice", **params: Any
) -> Job:
    """Queue an action in a committed transaction, run the worker, return the finished job."""
    with cloud.database.transaction() as session:
        job_id = (
            ComputeService(session).perform(cloud.scopes[user], compute_id, action, **params).id
        )
    cloud.run_jobs()
    return cloud.job(job_id)


def state_of(cloud: Cloud, compute_id: str) -> tuple[str, PowerState]:
    """The recorded state and the host's power state of a compute."""
    return cloud.compute(compute_id).state, cloud.driver().guest_state(cloud.guest(compute_id))


def counts(cloud: Cloud) -> tuple[int, int, int]:
    """Computes, jobs and events in the database."""
    with cloud.database.transaction() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in (Compute, Job, Event)
        )


def allocated(cloud: Cloud, host: str = "host-1") -> tuple[int, int]:
    row = cloud.host(host)
    return row.allocated_vcpus, row.allocated_memory_mib


def add_volume(cloud: Cloud, compute_id: str, device: str = "vdb") -> str:
    """Create a volume in the host's pool through the driver and attach it by rows."""
    info = cloud.driver().create_volume(POOL, f"data-{device}-{compute_id[:8]}", 64 * 1024**2)
    with cloud.database.transaction() as session:
        compute = session.get(Compute, compute_id)
        assert compute is not None
        volume = Volume(
            name="data",
            state="available",
            account_id=compute.account_id,
            domain_id=compute.domain_id,
            zone_id=compute.zone_id,
            size_bytes=info.capacity_bytes,
            volume_name=info.name,
            path=info.path,
        )
        session.add(volume)
        session.flush()
        session.add(
            StorageAttachment(
                name="data",
                state="attached",
                account_id=compute.account_id,
                domain_id=compute.domain_id,
                compute_id=compute.id,
                volume_id=volume.id,
                device=device,
            )
        )
        return volume.id


class RealDriver:
    """A host's real driver, with some of its answers changed by a subclass."""

    def __init__(self, real: HypervisorDriver) -> None:
        self.real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


class CrashReasons:
    """A driver factory whose hosts say that some shut-off guests crashed.

    libvirt's ``test:///`` driver cannot crash a guest, so it never records
    the reason (``VIR_DOMAIN_SHUTOFF_CRASHED``) that a real host gives a
    guest whose QEMU died; tests/integration/test_driver_qemu.py checks
    that real reason. Everything else is the real driver.
    """

    def __init__(self, cloud: Cloud, crashed: set[str]) -> None:
        self.cloud = cloud
        # Given as compute ids; the host knows them by their guest ids.
        self.crashed = {cloud.guest(compute_id) for compute_id in crashed}
        self.asked = 0

    def __call__(self, uri: str) -> HypervisorDriver:
        reasons = self

        class Reasons(RealDriver):
            def crashed_guests(self) -> frozenset[str]:
                reasons.asked += 1
                off = {g for g, p in self.real.list_guests().items() if p is PowerState.SHUTOFF}
                return frozenset(off & reasons.crashed) | self.real.crashed_guests()

        return Reasons(self.cloud.drivers(uri))  # type: ignore[return-value]
