"""A real QEMU crash, seen through libvirt's event, restarted in place with back-off.

The guest's QEMU process is killed with SIGKILL (libvirt records the reason
"crashed"); the event monitor reconciles the host and, the guest being HA,
schedules its restart in place; the restart job boots it again on the same
host, in a new QEMU process. The second crash waits twice as long.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from integration.libvirtd import PrivateLibvirtd, private_libvirtd
from unit.engine.cloud import add_cluster

from engine.catalog.models import Image
from engine.compute.crash_restart import CrashRestartPolicy, submit_due_restarts
from engine.compute.models import Compute
from engine.compute.monitor import EventMonitor
from engine.compute.service import ComputeService
from engine.db import Database, utcnow
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool
from engine.drivers.specs import PowerState
from engine.handlers import register_all
from engine.inventory.models import Host
from engine.jobs.models import Job, JobState
from engine.jobs.worker import HandlerRegistry, Worker
from engine.lifecycle import State
from engine.tenancy.credentials import CredentialService
from engine.tenancy.passwords import PasswordHasher

pytestmark = pytest.mark.integration

POLICY = CrashRestartPolicy(first_delay=2, max_delay=60, max_attempts=3, window=3600)
#: Bounds of the waits below (a deadline to fail on, never a timed assertion).
DEADLINE = 60.0


@pytest.fixture
def daemon() -> Iterator[PrivateLibvirtd]:
    with private_libvirtd("crash") as running:
        yield running


def _wait(what: str, check) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_killed_qemu_guest_is_restarted_in_place(
    database: Database, tenancy: object, hasher: PasswordHasher, daemon: PrivateLibvirtd
) -> None:
    connections = ConnectionPool()
    drivers = DriverCache(connections)
    registry = HandlerRegistry()
    register_all(registry)
    worker = Worker(database, drivers, registry, worker_id="crash-test")
    monitor = EventMonitor(database, drivers, debounce=0.2, crash_policy=POLICY)
    try:
        with database.transaction() as session:
            cluster = add_cluster(session, "qemu")
            host = Host(
                cluster_id=cluster.id,
                name="node",
                uri=daemon.uri,
                hypervisor_type="qemu",
                cpu_cores=2,
                cpu_mhz=2000,
                memory_mib=2048,
            )
            firmware = Image(name="firmware", min_memory_mib=64, state="available")
            session.add_all([host, firmware])
            session.flush()
            alice = CredentialService(session, hasher).scope_for_user_id(
                tenancy.ids["alice"]  # type: ignore[attr-defined]
            )
            compute, _job = ComputeService(session).create(
                alice, name="ha", vcpus=1, memory_mib=64, image_id=firmware.id, ha_enabled=True
            )
            session.flush()
            # The host knows the guest by its guest id, never by the compute id.
            compute_id, guest_id, host_id = compute.id, compute.guest_id, host.id
        worker.run_until_idle()
        assert monitor.watch() == 1
        monitor.start_thread()
        domain = f"concord-{guest_id}"

        def row() -> Compute:
            with database.transaction() as session:
                found = session.get(Compute, compute_id)
                assert found is not None
                return found

        first_pid = daemon.qemu_pid(domain)
        for attempt, delay in ((1, 2), (2, 4)):
            daemon.kill_pid(daemon.qemu_pid(domain))
            _wait("the crash to be recorded", lambda: row().state == State.ERROR)
            compute = row()
            assert compute.state_message == (
                f"the guest crashed; restart in place {attempt} of 3 in {delay} s"
            )
            assert compute.power_state == PowerState.CRASHED.value
            with database.transaction() as session:
                # Not due before its delay; due after it.
                assert submit_due_restarts(session, POLICY, utcnow()) == []
                later = utcnow() + dt.timedelta(seconds=delay + 1)
                [job_id] = submit_due_restarts(session, POLICY, later)
            worker.run_until_idle()
            with database.transaction() as session:
                job = session.get(Job, job_id)
                assert job is not None and job.state is JobState.SUCCESS, job and job.error
            compute = row()
            assert (compute.state, compute.host_id) == (State.RUNNING, host_id)
            assert drivers(daemon.uri).guest_state(guest_id) is PowerState.RUNNING
        # A new QEMU process runs the guest on the same host.
        assert daemon.qemu_pid(domain) != first_pid
        with database.transaction() as session:
            restarted = session.scalar(
                sa.select(sa.func.count()).where(Job.action == "compute.restart_in_place")
            )
        assert restarted == 2
    finally:
        monitor.stop()
        drivers.close()
        connections.close_all()
