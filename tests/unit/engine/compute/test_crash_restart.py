"""Restart in place of guests that crash on a healthy host: back-off, cap, owner control.

Guests run on real ``test:///`` hosts; a crash is the guest destroyed behind
the engine's back plus the crash reason a real host would keep (the test
driver cannot crash a guest: :class:`~unit.engine.cloud.CrashReasons`).
Time is passed to :func:`submit_due_restarts` rather than waited for.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from unit.engine.cloud import Cloud, CrashReasons, build_cloud, create, perform
from unit.engine.usage_facts import ALLOCATED_ONLY, held, running_guest

from engine.compute.crash_restart import (
    CrashRestartPolicy,
    RestartCrashed,
    note_crash,
    submit_due_restarts,
)
from engine.compute.models import Compute, CrashRestart
from engine.compute.reconcile import reconcile
from engine.db import Database, utcnow
from engine.drivers.specs import PowerState
from engine.inventory.models import Host, HostState
from engine.jobs.models import Job, JobState
from engine.lifecycle import Action, State
from engine.tenancy.passwords import PasswordHasher

POLICY = CrashRestartPolicy(first_delay=10, max_delay=30, max_attempts=3, window=3600)


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def running(cloud: Cloud, offering: str = "large", name: str = "web") -> str:
    compute_id, _ = create(cloud, name=name, offering_id=cloud.ids[offering])
    cloud.run_jobs()
    assert cloud.compute(compute_id).state == State.RUNNING
    return compute_id


def crash(cloud: Cloud, compute_id: str, policy: CrashRestartPolicy = POLICY) -> Compute:
    """Kill the guest as a QEMU crash would, and let reconciliation see it."""
    host = cloud.compute(compute_id).host_id
    with cloud.database.transaction() as session:
        uri = session.scalar(sa.select(Host.uri).where(Host.id == host))
    assert uri is not None
    cloud.pool.get(uri).lookupByName(f"concord-{cloud.guest(compute_id)}").destroy()
    with cloud.database.transaction() as session:
        reconcile(session, CrashReasons(cloud, {compute_id}), crash_policy=policy)
    return cloud.compute(compute_id)


def submit(cloud: Cloud, after: float, policy: CrashRestartPolicy = POLICY) -> list[str]:
    """Queue the restarts due ``after`` seconds from now."""
    with cloud.database.transaction() as session:
        return submit_due_restarts(session, policy, utcnow() + dt.timedelta(seconds=after))


def series(cloud: Cloud, compute_id: str) -> CrashRestart:
    with cloud.database.transaction() as session:
        row = session.get(CrashRestart, compute_id)
        assert row is not None
        return row


@given(
    first=st.integers(0, 600),
    extra=st.integers(0, 3600),
    attempts=st.integers(1, 40),
)
def test_the_delay_doubles_up_to_its_cap(first: int, extra: int, attempts: int) -> None:
    policy = CrashRestartPolicy(first_delay=first, max_delay=first + extra)
    delays = [policy.delay(n) for n in range(1, attempts + 1)]
    assert delays[0] == first
    assert all(d <= first + extra for d in delays)
    for before, after in itertools.pairwise(delays):
        assert after == min(before * 2, first + extra)


def test_which_guests_are_restarted(cloud: Cloud) -> None:
    ha, plain = Compute(ha_enabled=True), Compute(ha_enabled=False)
    assert [CrashRestartPolicy(which=w).wants_restart(ha) for w in RestartCrashed] == [
        True,
        True,
        False,
    ]
    assert [CrashRestartPolicy(which=w).wants_restart(plain) for w in RestartCrashed] == [
        False,
        True,
        False,
    ]


def test_a_crashed_ha_guest_restarts_in_place_with_back_off_until_the_cap(cloud: Cloud) -> None:
    compute_id = running(cloud)
    host = cloud.compute(compute_id).host_id
    delays = []
    for attempt in (1, 2, 3):
        compute = crash(cloud, compute_id)
        delay = POLICY.delay(attempt)
        delays.append(delay)
        assert compute.state == State.ERROR
        assert compute.state_message == (
            f"the guest crashed; restart in place {attempt} of 3 in {delay:g} s"
        )
        scheduled = cloud.events(compute_id)[-1]
        assert scheduled.type == "compute.crash_restart.scheduled"
        assert held(cloud, compute_id) == ALLOCATED_ONLY  # usage: not running while in error
        assert (scheduled.payload["attempt"], scheduled.payload["delay"]) == (attempt, delay)
        # Not before its time.
        assert submit(cloud, after=delay - 1) == []
        [job_id] = submit(cloud, after=delay + 1)
        assert submit(cloud, after=delay + 1) == []  # claimed once
        cloud.run_jobs()
        assert cloud.job(job_id).state is JobState.SUCCESS
        compute = cloud.compute(compute_id)
        assert (compute.state, compute.host_id) == (State.RUNNING, host)
        assert compute.state_message == (
            f"restarted in place after a crash (restart {attempt} of at most 3)"
        )
        assert cloud.driver().guest_state(cloud.guest(compute_id)) is PowerState.RUNNING
        assert cloud.event_types(compute_id)[-1] == "compute.crash_restarted"
        assert held(cloud, compute_id) == running_guest(compute.vcpus, compute.memory_mib)
    assert delays == [10, 20, 30]  # doubled, then capped at max_delay
    # The fourth crash within the window reaches the cap: the guest stays in error.
    compute = crash(cloud, compute_id)
    assert compute.state == State.ERROR
    assert compute.state_message is not None
    assert compute.state_message.startswith("the guest crashed; no more restarts in place: 3 tried")
    assert cloud.event_types(compute_id)[-1] == "compute.crash_restart.abandoned"
    assert held(cloud, compute_id) == ALLOCATED_ONLY
    assert series(cloud, compute_id).gave_up
    assert submit(cloud, after=3600) == []
    # The owner still brings it back by hand.
    assert perform(cloud, compute_id, Action.FORCE_STOP).state is JobState.SUCCESS
    assert perform(cloud, compute_id, Action.START).state is JobState.SUCCESS


def test_a_crash_after_the_window_starts_a_new_series(cloud: Cloud) -> None:
    compute_id = running(cloud)
    start = utcnow()
    with cloud.database.transaction() as session:
        compute = session.get(Compute, compute_id)
        assert compute is not None
        for n in range(3):
            note_crash(session, compute, POLICY, start + dt.timedelta(seconds=n))
            session.execute(sa.update(CrashRestart).values(attempts=CrashRestart.attempts + 1))
        capped = note_crash(session, compute, POLICY, start + dt.timedelta(seconds=5))
        assert capped.event == "compute.crash_restart.abandoned"
        fresh = note_crash(session, compute, POLICY, start + dt.timedelta(seconds=3601))
    assert fresh.event == "compute.crash_restart.scheduled"
    assert fresh.facts["attempt"] == 1
    row = series(cloud, compute_id)
    assert (row.attempts, row.crashes, row.gave_up) == (0, 1, False)


def test_guests_the_policy_does_not_want_stay_in_error(cloud: Cloud) -> None:
    plain = running(cloud, offering="small", name="plain")
    compute = crash(cloud, plain)
    assert (compute.state, compute.state_message) == (State.ERROR, "the guest crashed")
    ha = running(cloud, name="ha")
    none = CrashRestartPolicy(which=RestartCrashed.NONE)
    assert crash(cloud, ha, none).state_message == "the guest crashed"
    with cloud.database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CrashRestart)) == 0
    assert submit(cloud, after=3600) == []


def test_the_owner_takes_over_before_the_restart_is_due(cloud: Cloud) -> None:
    compute_id = running(cloud)
    crash(cloud, compute_id)
    assert perform(cloud, compute_id, Action.FORCE_STOP).state is JobState.SUCCESS
    assert submit(cloud, after=60) == []
    assert series(cloud, compute_id).next_attempt is None  # dropped
    assert cloud.compute(compute_id).state == State.STOPPED


def test_no_restart_while_the_host_is_not_up(cloud: Cloud) -> None:
    compute_id = running(cloud)
    crash(cloud, compute_id)
    with cloud.database.transaction() as session:
        session.execute(sa.update(Host).values(state=HostState.DISCONNECTED))
    assert submit(cloud, after=60) == []
    assert series(cloud, compute_id).next_attempt is not None  # still due
    with cloud.database.transaction() as session:
        session.execute(sa.update(Host).values(state=HostState.UP))
    assert len(submit(cloud, after=60)) == 1


def test_a_failed_restart_is_said_and_the_next_one_scheduled(cloud: Cloud) -> None:
    compute_id = running(cloud)
    crash(cloud, compute_id)
    [job_id] = submit(cloud, after=11)
    # The host stops answering between the queueing and the run.
    with cloud.database.transaction() as session:
        session.execute(sa.update(Host).values(state=HostState.DISCONNECTED))
    cloud.run_jobs()
    job = cloud.job(job_id)
    assert job.state is JobState.FAILED
    compute = cloud.compute(compute_id)
    assert compute.state == State.ERROR
    assert compute.state_message == (
        "restart in place 1 failed: its host host-1 is disconnected; "
        "restart in place 2 of 3 in 20 s"
    )
    assert cloud.event_types(compute_id)[-2:] == [
        "compute.restart_in_place.failed",
        "compute.crash_restart.scheduled",
    ]
    with cloud.database.transaction() as session:
        session.execute(sa.update(Host).values(state=HostState.UP))
    [retry] = submit(cloud, after=21)
    cloud.run_jobs()
    assert cloud.job(retry).state is JobState.SUCCESS
    assert cloud.compute(compute_id).state == State.RUNNING
    with cloud.database.transaction() as session:
        restarts = session.scalars(
            sa.select(Job.parameters).where(Job.action == "compute.restart_in_place")
        ).all()
    assert sorted(p["attempt"] for p in restarts) == [1, 2]
