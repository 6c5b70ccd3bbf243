"""``concord host maintenance``: drain, follow, blockers, status and cancel, in-process.

The command queues jobs and follows them; a job worker thread of the test
(sharing the process's libvirt connections, as the server's embedded worker
shares them with the server) carries them out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from unit.concord.test_cli import Run, _fails, _host, _ok, run  # noqa: F401

from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.handlers import register_all
from engine.inventory.models import Host
from engine.jobs.models import Job, JobState
from engine.jobs.service import wait_for
from engine.jobs.worker import HandlerRegistry, Worker
from engine.lifecycle import Action
from engine.scope import Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import User
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(run: Run, tmp_path: Path) -> Iterator[tuple[Database, Worker]]:  # noqa: F811
    for argv in (
        ("zone", "create", "z1"),
        ("pod", "create", "p1", "--zone", "z1"),
        ("cluster", "create", "c1", "--pod", "p1", "--zone", "z1"),
        ("host", "add", _host(tmp_path, "node-1"), "--cluster", "c1"),
        ("host", "add", _host(tmp_path, "node-2"), "--cluster", "c1"),
    ):
        _ok(run, *argv)
    database = Database(os.environ["CONCORD_DATABASE_URL"])
    registry = HandlerRegistry()
    register_all(registry)
    worker = Worker(database, DriverCache(), registry, worker_id="cli-test", poll_interval=0.05)
    thread = worker.start_thread()
    try:
        yield database, worker
    finally:
        worker.stop()
        thread.join()


def _guests(database: Database, *names: str) -> dict[str, str]:
    """Running guests of the administrator, all on node-1 (node-2 is full meanwhile)."""
    with database.transaction() as session:
        session.execute(sa.update(Host).where(Host.name == "node-2").values(allocated_vcpus=10**6))
        owner = _admin(session)
        ids = {}
        for name in names:
            compute, _job = ComputeService(session).create(owner, name=name, vcpus=1, memory_mib=64)
            ids[name] = compute.id
    _settle(database)
    with database.transaction() as session:
        session.execute(sa.update(Host).where(Host.name == "node-2").values(allocated_vcpus=0))
    return ids


def _admin(session: Session) -> Scope:
    """The scope of the administrator ``concord init`` created (a user of an account)."""
    user_id = session.scalar(sa.select(User.id).where(User.username == "admin"))
    assert user_id is not None
    return CredentialService(session, PasswordHasher()).scope_for_user_id(user_id)


def _settle(database: Database) -> None:
    with database.transaction() as session:
        pending = session.scalars(
            sa.select(Job.id).where(Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
        ).all()
    for job_id in pending:
        assert wait_for(database, job_id, timeout=60).is_final


def _host_of(database: Database, compute_id: str) -> str:
    with database.transaction() as session:
        compute = session.get(Compute, compute_id)
        assert compute is not None and compute.host_id is not None
        host = session.get(Host, compute.host_id)
        assert host is not None
        return host.name


def test_a_host_with_guests_is_drained_and_followed(
    run: Run,  # noqa: F811
    cloud: tuple[Database, Worker],
) -> None:
    database, _worker = cloud
    ids = _guests(database, "web", "db")
    out = _ok(run, "host", "maintenance", "node-1")
    lines = out.splitlines()
    assert lines[0] == "host node-1 is in maintenance"
    assert lines[1].startswith("moving its guests to other hosts (job ")
    assert lines[-1] == "host node-1 is drained"
    assert {_host_of(database, compute_id) for compute_id in ids.values()} == {"node-2"}
    listed = next(ln for ln in _ok(run, "host", "list").splitlines() if ln.startswith("node-1"))
    assert listed.split()[2] == "maintenance"
    status = _ok(run, "host", "maintenance", "node-1", "--status")
    assert status.splitlines()[0] == "host node-1 is in maintenance"
    assert status.splitlines()[-1] == "no guest left on it"
    assert _ok(run, "host", "maintenance", "node-1", "--cancel") == (
        "host node-1 is up again; 0 queued move(s) cancelled\n"
    )
    assert _fails(run, "host", "maintenance", "node-1", "--cancel") == (
        "concord: error: host node-1 is not in maintenance"
    )


def test_blocking_guests_are_named_and_the_command_fails(
    run: Run,  # noqa: F811
    cloud: tuple[Database, Worker],
) -> None:
    database, _worker = cloud
    ids = _guests(database, "web", "saved")
    with database.transaction() as session:
        ComputeService(session).perform(_admin(session), ids["saved"], Action.SUSPEND)
    _settle(database)
    status, out, err = run("host", "maintenance", "node-1")
    assert status == 1
    assert out.splitlines()[-1] == (
        f"  saved ({ids['saved']}): it is suspended (its saved memory is on the host): "
        "resume or stop it first"
    )
    assert err.strip() == "concord: error: host node-1 cannot be drained: 1 guest(s) block it"
    assert _host_of(database, ids["web"]) == "node-2"
    assert _host_of(database, ids["saved"]) == "node-1"
    alerts = _ok(run, "alert", "list")
    assert "host node-1 cannot be drained; blocked by saved" in alerts


def test_no_wait_and_a_host_without_guests(
    run: Run,  # noqa: F811
    cloud: tuple[Database, Worker],
) -> None:
    assert _ok(run, "host", "maintenance", "node-2") == "host node-2 is in maintenance\n"
    database, _worker = cloud
    _ok(run, "host", "enable", "node-2")
    _guests(database, "web")
    out = _ok(run, "host", "maintenance", "node-1", "--no-wait")
    assert len(out.splitlines()) == 2
    _settle(database)
    assert _fails(run, "host", "maintenance", "node-1", "--wait", "0") == (
        "concord: error: --wait must be positive"
    )
