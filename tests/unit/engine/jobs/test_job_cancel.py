"""Cancelling a queued job puts its target back where it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from unit.engine.cloud import Cloud, allocated, build_cloud, create

from engine.compute.service import ComputeService
from engine.db import Database
from engine.errors import Conflict
from engine.jobs.models import JobState
from engine.jobs.worker import cancel_job
from engine.lifecycle import Action, State
from engine.tenancy.models import ResourceType
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def test_cancelling_a_start_returns_the_compute_to_stopped(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, start=False)
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        job = ComputeService(session).perform(cloud.scopes["alice"], compute_id, Action.START)
        job_id = job.id
    assert cloud.compute(compute_id).state == State.STARTING
    with cloud.database.transaction() as session:
        cancel_job(session, cloud.scopes["alice"], job_id, cloud.drivers, cloud.registry)
    assert cloud.job(job_id).state is JobState.CANCELLED
    assert cloud.compute(compute_id).state == State.STOPPED
    assert cloud.run_jobs() == 0  # nothing left to run


def test_cancelling_a_create_releases_capacity_and_quota(cloud: Cloud) -> None:
    before = allocated(cloud)
    compute_id, job_id = create(cloud)
    assert cloud.used("dev", ResourceType.INSTANCES) == 1
    with cloud.database.transaction() as session:
        cancel_job(session, cloud.scopes["alice"], job_id, cloud.drivers, cloud.registry)
    assert cloud.compute(compute_id).state == State.ERROR
    assert cloud.used("dev", ResourceType.INSTANCES) == 0
    assert allocated(cloud) == before


def test_a_finished_job_cannot_be_cancelled(cloud: Cloud) -> None:
    compute_id, job_id = create(cloud)
    cloud.run_jobs()
    with pytest.raises(Conflict), cloud.database.transaction() as session:
        cancel_job(session, cloud.scopes["alice"], job_id, cloud.drivers, cloud.registry)
    assert cloud.compute(compute_id).state == State.RUNNING
