"""Host maintenance between two real QEMU hosts: guests move live, disks in a shared pool.

Two private libvirtd processes are two hosts; a directory both define as the
libvirt pool ``concord-shared`` is their shared storage (what NFS or a
cluster file system is in production). A running guest with a volume in that
pool moves live to the other host when its host is drained: its QEMU process
runs on the destination afterwards and the guest never stopped being
``running``. A second guest with a volume in the drained host's local pool
blocks the drain.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
import sqlalchemy as sa
from integration.libvirtd import DAEMON_USER, PrivateLibvirtd, private_libvirtd
from unit.engine.cloud import add_cluster

from engine.catalog.models import Image
from engine.compute.attachments import AttachmentService
from engine.compute.maintenance import MaintenanceService
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool
from engine.drivers.libvirt.xmlbuild import dir_pool_xml
from engine.drivers.specs import PowerState
from engine.events.models import Event
from engine.handlers import register_all
from engine.inventory.models import (
    AllocationState,
    Host,
    HostState,
    StoragePool,
)
from engine.jobs.models import Job, JobState
from engine.jobs.worker import HandlerRegistry, Worker
from engine.lifecycle import State
from engine.storage.models import Volume
from engine.storage.service import StorageService
from engine.tenancy.credentials import CredentialService
from engine.tenancy.passwords import PasswordHasher

pytestmark = pytest.mark.integration

SHARED = "concord-shared"
LOCAL = "concord-local"
LOCAL_NAME = "node-a-local"


@pytest.fixture
def hosts() -> Iterator[tuple[PrivateLibvirtd, PrivateLibvirtd, Path]]:
    shared = Path(tempfile.mkdtemp(prefix="concord-shared-"))
    try:
        with private_libvirtd("node-a") as a, private_libvirtd("node-b") as b:
            if os.geteuid() == 0:  # the daemons run as DAEMON_USER, created by now
                user = pwd.getpwnam(DAEMON_USER)
                os.chown(shared, user.pw_uid, user.pw_gid)
            yield a, b, shared
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _pool(conn: libvirt.virConnect, name: str, path: Path) -> None:
    pool = conn.storagePoolDefineXML(dir_pool_xml(name, str(path)), 0)
    pool.build(0)
    pool.create(0)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_drained_qemu_host_moves_its_guest_live(
    database: Database,
    tenancy: object,
    hasher: PasswordHasher,
    hosts: tuple[PrivateLibvirtd, PrivateLibvirtd, Path],
) -> None:
    a, b, shared = hosts
    connections = ConnectionPool()
    drivers = DriverCache(connections)
    try:
        for daemon in (a, b):
            _pool(connections.get(daemon.uri), SHARED, shared)
        _pool(connections.get(a.uri), LOCAL, a.pool_dir)
        ids = _inventory(database, a, b)
        # The shared pool is a plain directory, which libvirt cannot know both
        # daemons share (in production: NFS, GFS2, Ceph..., which it recognises).
        drivers(a.uri).unsafe_migration = True  # type: ignore[attr-defined]
        registry = HandlerRegistry()
        register_all(registry)
        worker = Worker(database, drivers, registry, worker_id="maintenance-test")
        with database.transaction() as session:
            alice = CredentialService(session, hasher).scope_for_user_id(
                tenancy.ids["alice"]  # type: ignore[attr-defined]
            )
        root = tenancy.root  # type: ignore[attr-defined]

        # Two running guests on node-a (node-b takes none while they are created).
        _allocation(database, ids["node-b"], AllocationState.DISABLED)
        guests = {}
        with database.transaction() as session:
            for name in ("mobile", "anchored"):
                compute, _job = ComputeService(session).create(
                    alice, name=name, vcpus=1, memory_mib=64, image_id=ids["firmware"]
                )
                guests[name] = compute.id
            shared_volume, _ = StorageService(session).create_volume(
                alice, name="shared-data", size_gib=1
            )
            shared_volume_id = shared_volume.id
        worker.run_until_idle()
        with database.transaction() as session:
            volume_row = session.get(Volume, shared_volume_id)
            assert volume_row is not None and volume_row.pool_id == ids["shared"]
            AttachmentService(session).attach(
                alice, compute_id=guests["mobile"], volume_id=shared_volume_id
            )
        worker.run_until_idle()
        # The other guest gets a volume in node-a's own pool, attached for real.
        local = drivers(a.uri).create_volume(LOCAL, "anchored-data", 16 * 1024**2)
        with database.transaction() as session:
            anchored = session.get(Compute, guests["anchored"])
            assert anchored is not None
            volume = Volume(
                name="anchored-data",
                state="available",
                account_id=anchored.account_id,
                domain_id=anchored.domain_id,
                zone_id=anchored.zone_id,
                size_bytes=local.capacity_bytes,
                pool_id=ids["local"],
                volume_name=local.name,
                path=local.path,
            )
            session.add(volume)
            session.flush()
            AttachmentService(session).attach(alice, compute_id=anchored.id, volume_id=volume.id)
        worker.run_until_idle()
        _allocation(database, ids["node-b"], AllocationState.ENABLED)
        # What node-a knows each guest by: its guest id, never the compute id.
        on_host = {name: _guest_id(database, compute_id) for name, compute_id in guests.items()}
        for guest_id in on_host.values():
            assert drivers(a.uri).guest_state(guest_id) is PowerState.RUNNING

        with database.transaction() as session:
            job = MaintenanceService(session).start(root, ids["node-a"])
            assert job is not None
            job_id = job.id
        worker.run_until_idle()

        with database.transaction() as session:
            status = MaintenanceService(session).status(root, ids["node-a"])
            assert [(b.name, b.reason) for b in status.blocked] == [
                (
                    "anchored",
                    "volume anchored-data is on the host's local storage pool node-a-local",
                )
            ]
            mobile = session.get(Compute, guests["mobile"])
            assert mobile is not None
            assert (mobile.host_id, mobile.state) == (ids["node-b"], State.RUNNING)
            assert session.get(Host, ids["node-a"]).state is HostState.MAINTENANCE  # type: ignore[union-attr]
        # The guest runs on node-b, in a QEMU process of node-b's, with its disk.
        assert drivers(b.uri).guest_state(on_host["mobile"]) is PowerState.RUNNING
        assert on_host["mobile"] not in drivers(a.uri).list_guests()
        assert b.qemu_pid(f"concord-{on_host['mobile']}") > 0
        disks = drivers(b.uri).guest_disks(on_host["mobile"])
        assert any(d.path.startswith(str(shared)) for d in disks)
        with database.transaction() as session:
            migrated = session.scalars(
                sa.select(Event).where(
                    Event.type == "compute.migrated", Event.resource_id == guests["mobile"]
                )
            ).one()
            assert migrated.payload["live"] is True
            drain = session.get(Job, job_id)
            assert drain is not None and drain.state is JobState.SUCCESS
    finally:
        drivers.close()
        connections.close_all()


def _guest_id(database: Database, compute_id: str) -> str:
    """The guest id of a compute: its guest's name on a host is ``concord-<guest id>``."""
    with database.transaction() as session:
        guest_id = session.scalar(sa.select(Compute.guest_id).where(Compute.id == compute_id))
    assert guest_id is not None, f"no compute {compute_id}"
    return guest_id


def _allocation(database: Database, host_id: str, state: AllocationState) -> None:
    with database.transaction() as session:
        session.execute(sa.update(Host).where(Host.id == host_id).values(allocation_state=state))


def _inventory(database: Database, a: PrivateLibvirtd, b: PrivateLibvirtd) -> dict[str, str]:
    ids: dict[str, str] = {}
    with database.transaction() as session:
        cluster = add_cluster(session, "qemu")
        for name, daemon in (("node-a", a), ("node-b", b)):
            host = Host(
                cluster_id=cluster.id,
                name=name,
                uri=daemon.uri,
                hypervisor_type="qemu",
                hostname=name,
                cpu_cores=2,
                cpu_mhz=2000,
                memory_mib=2048,
            )
            session.add(host)
            session.flush()
            ids[name] = host.id
        shared = StoragePool(
            cluster_id=cluster.id,
            name="shared",
            pool_name=SHARED,
            capacity_bytes=20 * 1024**3,
        )
        local = StoragePool(
            cluster_id=cluster.id,
            host_id=ids["node-a"],
            name=LOCAL_NAME,
            pool_name=LOCAL,
            capacity_bytes=20 * 1024**3,
        )
        firmware = Image(name="firmware", min_memory_mib=64, state="available")
        session.add_all([shared, local, firmware])
        session.flush()
        ids.update(shared=shared.id, local=local.id, firmware=firmware.id)
    return ids
