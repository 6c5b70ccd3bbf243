"""Guest names on hosts are the server's, never a client's (issue 16).

A compute's guest is the libvirt domain ``concord-<guest id>``, with a guest
id the server draws at random, so a client that chooses a compute's id
names nothing on a host. A domain already under a compute's guest name that
Concord did not define for that compute (running or not) is never adopted,
redefined or destroyed: the creation fails cleanly and an operator alert is
logged. Real libvirt ``test:///`` hosts throughout.
"""

from __future__ import annotations

import importlib.util
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from alembic import command
from helpers import TEST_SERVER_KEYS
from unit.engine.cloud import Cloud, build_cloud, create

import engine
from engine.db import Database
from engine.drivers.specs import GuestSpec, PowerState
from engine.events.alerts import active_alerts
from engine.jobs.models import JobState
from engine.lifecycle import State
from engine.schema import alembic_config, upgrade
from engine.tenancy.models import ResourceType
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def foreign_domain(cloud: Cloud, guest_id: str, host: str = "host-1") -> None:
    """A running domain named like an engine guest, defined by someone else."""
    conn = cloud.pool.get(cloud.host(host).uri)
    conn.defineXML(
        f"<domain type='test'><name>concord-{guest_id}</name><uuid>{guest_id}</uuid>"
        "<memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>"
    )
    conn.lookupByName(f"concord-{guest_id}").create()


def test_a_chosen_compute_id_names_nothing_on_the_host(cloud: Cloud) -> None:
    chosen = str(uuid.uuid4())
    # Someone else's running domain carries the very name the old scheme gave
    # a compute of that id, on every host.
    for host in ("host-1", "host-2"):
        foreign_domain(cloud, chosen, host)
    compute_id, job_id = create(cloud, compute_id=chosen)
    assert compute_id == chosen
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.SUCCESS
    guest = cloud.guest(compute_id)
    assert guest != chosen
    host = "host-1" if cloud.compute(compute_id).host_id == cloud.ids["host-1"] else "host-2"
    driver = cloud.driver(host)
    assert driver.guest_state(guest) is PowerState.RUNNING
    assert driver.guest_owner(guest) == compute_id
    # The other domain is as it was: running, and not Concord's.
    assert driver.guest_state(chosen) is PowerState.RUNNING
    assert driver.guest_owner(chosen) == ""


def test_guest_ids_are_random_and_distinct(cloud: Cloud) -> None:
    ids = [create(cloud, name=f"c{i}")[0] for i in range(3)]
    guests = {cloud.guest(c) for c in ids}
    assert len(guests) == 3 and not guests & set(ids)
    assert all(str(uuid.UUID(g)) == g for g in guests)


def test_a_clash_fails_the_creation_and_leaves_the_other_domain_alone(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    compute_id, job_id = create(cloud)
    guest = cloud.guest(compute_id)
    # Before the worker places it, someone with access to the hosts defines a
    # domain under its guest name (a forged or colliding name).
    for host in ("host-1", "host-2"):
        foreign_domain(cloud, guest, host)
    with caplog.at_level(logging.ERROR, logger="engine.compute"):
        cloud.run_jobs()
    job = cloud.job(job_id)
    assert job.state is JobState.FAILED
    assert "did not define" in (job.error or "")
    compute = cloud.compute(compute_id)
    assert compute.state == State.ERROR
    assert cloud.used("dev", ResourceType.INSTANCES) == 0  # given back
    for host in ("host-1", "host-2"):
        driver = cloud.driver(host)
        assert driver.guest_state(guest) is PowerState.RUNNING  # not destroyed
        assert driver.guest_owner(guest) == ""  # nor redefined as Concord's
    alerts = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(guest in r.getMessage() and compute_id in r.getMessage() for r in alerts)
    # ...and an operator alert that stays until someone deals with the host.
    with cloud.database.transaction() as session:
        [alert] = active_alerts(session, source="compute")
        assert alert.severity == "critical" and alert.subject_type == "host"
        assert guest in alert.message and compute_id in alert.message


def test_a_guest_of_another_compute_is_a_clash_too(cloud: Cloud) -> None:
    compute_id, job_id = create(cloud)
    guest = cloud.guest(compute_id)
    for host in ("host-1", "host-2"):
        cloud.driver(host).define_guest(GuestSpec(guest, 1, 32, owner=str(uuid.uuid4())))
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.FAILED
    for host in ("host-1", "host-2"):
        assert cloud.driver(host).guest_state(guest) is PowerState.SHUTOFF


def test_its_own_guest_from_an_earlier_attempt_is_taken_up(cloud: Cloud) -> None:
    compute_id, job_id = create(cloud)
    guest = cloud.guest(compute_id)
    for host in ("host-1", "host-2"):
        cloud.driver(host).define_guest(GuestSpec(guest, 1, 32, owner=compute_id))
    cloud.run_jobs()
    assert cloud.job(job_id).state is JobState.SUCCESS
    assert cloud.compute(compute_id).state == State.RUNNING


# -- migration 0009 --------------------------------------------------------------------


def _migration() -> ModuleType:
    path = Path(engine.__file__).parent / "migrations" / "versions" / "0009_guest_ids.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_existing_computes_keep_the_names_their_guests_have(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    database = cloud.database
    try:
        command.downgrade(alembic_config(database, TEST_SERVER_KEYS), "0004")
        # As before this revision: the guest is named after the compute's id.
        with database.transaction() as session:
            columns = sa.inspect(session.connection()).get_columns("computes")
            assert "guest_id" not in {c["name"] for c in columns}
        upgrade(database, server_keys=TEST_SERVER_KEYS)
        assert cloud.guest(compute_id) == compute_id
    finally:
        upgrade(database, server_keys=TEST_SERVER_KEYS)


def test_the_migration_gives_ids_that_are_not_uuids_a_random_guest_id() -> None:
    guest_id_for = _migration().guest_id_for
    upper = "6F9619FF-8B86-D011-B42D-00CF4FC964FF"
    assert guest_id_for(upper) == upper.lower()  # the name the driver gave its domain
    chosen = guest_id_for("my-web-server")
    assert str(uuid.UUID(chosen)) == chosen and chosen != guest_id_for("my-web-server")
