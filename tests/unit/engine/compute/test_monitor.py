"""Libvirt lifecycle events reach the engine's records through the monitor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from unit.engine.cloud import Cloud, build_cloud, create

from engine.compute.monitor import EventMonitor
from engine.db import Database
from engine.drivers.specs import PowerState
from engine.lifecycle import State
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def _until(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_guest_stopped_behind_our_back_is_recorded_stopped(cloud: Cloud) -> None:
    compute_id, _ = create(cloud)
    cloud.run_jobs()
    host = cloud.compute(compute_id).host_id
    driver = cloud.driver("host-1" if host == cloud.host("host-1").id else "host-2")
    monitor = EventMonitor(cloud.database, cloud.drivers, debounce=0)
    try:
        assert monitor.watch() == 2
        driver.stop(cloud.guest(compute_id), force=True)  # not through the engine
        assert driver.guest_state(cloud.guest(compute_id)) is PowerState.SHUTOFF

        def recorded_stopped() -> bool:
            monitor.run_once()
            return cloud.compute(compute_id).state == State.STOPPED

        assert _until(recorded_stopped), "the event never reached the compute's record"
        assert monitor.reconciled >= 1
    finally:
        monitor.stop()


def test_events_from_the_engines_own_jobs_change_nothing_more(cloud: Cloud) -> None:
    monitor = EventMonitor(cloud.database, cloud.drivers, debounce=0)
    try:
        monitor.watch()
        compute_id, _ = create(cloud)
        cloud.run_jobs()  # the start emits libvirt events
        assert _until(lambda: monitor.run_once() is not None and monitor.reconciled >= 1)
        assert cloud.compute(compute_id).state == State.RUNNING
    finally:
        monitor.stop()
