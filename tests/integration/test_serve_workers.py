"""``concord serve --workers 2``: two real worker processes on one port, supervised.

One real server process on a free loopback port and a temporary SQLite file: requests
are answered by both workers (each access record names the process that wrote it), the
embedded worker runs in one of them only, a worker killed with SIGKILL is replaced and
service goes on, and SIGTERM to the parent alone stops every worker and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.processes import (
    STOP_TIMEOUT,
    ManagedProcess,
    ProcessGroup,
    free_port,
    http,
    wait_until,
)

pytestmark = pytest.mark.integration

#: Requests sent, at most, to see a given worker answer: each goes on a new connection,
#: which the kernel gives to either worker by a hash of its ports (1 in 2**40 to miss one).
TRIES = 40


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ManagedProcess]:
    group = ProcessGroup(tmp_path, f"sqlite:///{tmp_path / 'concord.sqlite'}")
    port = free_port()
    server = group._spawn(
        "workers",
        ["serve", "--port", str(port), "--workers", "2", "--threads", "2"],
        group.env(),
        url=f"http://127.0.0.1:{port}",
    )
    try:
        with group.explain_failure():
            group.wait_healthy(server)
            yield server
    finally:
        assert group.stop_all() == []


def records(server: ManagedProcess, message: str) -> list[dict[str, object]]:
    """The JSON log records of ``server`` with this message."""
    found = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record["message"] == message:
                found.append(record)
    return found


def workers(server: ManagedProcess, count: int) -> dict[int, int]:
    """Slot -> pid of the latest worker of each slot, once ``count`` workers have started."""

    def started() -> dict[int, int] | None:
        lines = records(server, "worker 0 serving") + records(server, "worker 1 serving")
        lines.sort(key=lambda record: str(record["time"]))
        if len(lines) < count:
            return None
        return {int(str(r["worker_slot"])): int(str(r["pid"])) for r in lines}

    return wait_until(started, 30, f"{count} workers to start", server.tail)


def answered_by(server: ManagedProcess, pid: int) -> bool:
    """Send GET /healthz on new connections until worker ``pid`` answers one (or give up)."""
    for _ in range(TRIES):
        reply = http("GET", server.url + "/healthz")
        assert reply.status == 200
        request_id = reply.headers["x-request-id"]
        access = [r for r in records(server, "request") if r["request_id"] == request_id]
        if access and access[0]["pid"] == pid:
            return True
    return False


def test_two_workers_share_the_port_and_are_replaced_and_stopped(served: ManagedProcess) -> None:
    server = served
    first = workers(server, 2)
    assert sorted(first) == [0, 1]
    assert server.pid not in first.values()
    assert all(answered_by(server, pid) for pid in first.values())
    # The embedded worker (job worker, reconciliation) runs once, in the first worker.
    started = records(server, "worker 0 serving") + records(server, "worker 1 serving")
    assert [r["worker_slot"] for r in started if r["embedded_worker"]] == [0]
    assert {r["pid"] for r in records(server, "worker started")} == {first[0]}

    os.kill(first[1], signal.SIGKILL)
    replaced = workers(server, 3)
    assert replaced[0] == first[0]
    assert replaced[1] not in first.values()
    assert answered_by(server, replaced[1])
    assert answered_by(server, replaced[0])
    assert f"worker 1 (pid {first[1]}) was killed by SIGKILL" in server.log()

    assert server.popen is not None
    server.popen.send_signal(signal.SIGTERM)  # the parent only, not its process group
    assert server.popen.wait(timeout=STOP_TIMEOUT + 60) == 0
    for pid in replaced.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie no one reaped yet has ended too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_workers_end_when_their_supervisor_is_killed(served: ManagedProcess) -> None:
    server = served
    pids = workers(server, 2)
    assert server.popen is not None
    server.popen.send_signal(signal.SIGKILL)  # the parent only: no chance to stop them
    server.popen.wait(timeout=STOP_TIMEOUT)
    try:
        wait_until(
            lambda: all(gone(pid) for pid in pids.values()),
            STOP_TIMEOUT + 60,
            "the workers to end",
            server.tail,
        )
    finally:  # orphans would outlive the test (its group's stop signals the parent only)
        for pid in pids.values():
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
