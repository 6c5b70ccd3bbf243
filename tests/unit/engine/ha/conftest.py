"""Fixtures of the HA tests: three simulated hosts, and a "machine" for the process fencer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from unit.engine.cloud import Cloud, _add_host, build_cloud

from engine.db import Database
from engine.drivers.fencing.process import group_members
from engine.inventory.models import Cluster
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    for cloud in build_cloud(database, tenancy, hasher, tmp_path):
        with cloud.database.transaction() as session:
            cluster = session.get(Cluster, cloud.ids["cluster"])
            assert cluster is not None
            cloud.ids["host-3"] = _add_host(session, tmp_path, cluster, "host-3").id
        yield cloud


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Path]:
    """A process group standing for host-1's machine; yields its pid file."""
    script = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "time.sleep(120)\n"
    )
    leader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(group_members(leader.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    pid_file = tmp_path / "host-1.pid"
    pid_file.write_text(str(leader.pid))
    yield pid_file
    if leader.poll() is None:
        leader.kill()
    leader.wait()
