"""The libvirt and process fencers against real libvirt test hosts and real process groups."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.drivers.factory import DriverCache
from engine.drivers.fencing import FenceOutcome, FenceTarget
from engine.drivers.fencing.libvirt import LibvirtFencer
from engine.drivers.fencing.process import ProcessFencer, group_members
from engine.drivers.fencing.registry import check_options, fencer_kinds
from engine.drivers.libvirt import ConnectionPool, write_test_host
from engine.drivers.specs import GuestSpec, PowerState


@pytest.fixture
def drivers() -> Iterator[DriverCache]:
    pool = ConnectionPool()
    cache = DriverCache(pool)
    yield cache
    cache.close()
    pool.close_all()


def _host(tmp_path: Path, name: str = "h1") -> str:
    return write_test_host(
        tmp_path / f"{name}.xml",
        hostname=name,
        cpu_cores=4,
        cpu_mhz=2400,
        memory_mib=8192,
        pools=[],
    )


def _guest(drivers: DriverCache, uri: str, guest_id: str, run: bool = True) -> None:
    driver = drivers(uri)
    driver.define_guest(GuestSpec(guest_id=guest_id, vcpus=1, memory_mib=64))
    if run:
        driver.start(guest_id)


def test_the_libvirt_fencer_destroys_every_guest_and_confirms(
    drivers: DriverCache, tmp_path: Path
) -> None:
    uri = _host(tmp_path)
    for guest, run in (
        (str(uuid.uuid4()), True),
        (str(uuid.uuid4()), True),
        (str(uuid.uuid4()), False),
    ):
        _guest(drivers, uri, guest, run)
    result = LibvirtFencer(drivers).fence(FenceTarget("id", "h1", uri), timeout=10)
    assert result.outcome is FenceOutcome.CONFIRMED, result.detail
    assert "destroyed 2" in result.detail
    assert set(drivers(uri).list_guests().values()) == {PowerState.SHUTOFF}


def test_the_libvirt_fencer_cannot_confirm_a_host_it_cannot_reach(
    drivers: DriverCache, tmp_path: Path
) -> None:
    uri = _host(tmp_path)
    Path(uri.removeprefix("test://")).unlink()
    result = LibvirtFencer(drivers).fence(FenceTarget("id", "h1", uri), timeout=10)
    assert result.outcome is FenceOutcome.UNCONFIRMED
    assert "cannot be known to be off" in result.detail


def _group(tmp_path: Path, children: int = 2) -> tuple[subprocess.Popen[bytes], Path]:
    """A process group standing for a host: a leader and its children, with a pid file."""
    child = "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])"
    script = f"import subprocess, sys, time\n{child}\n" * children + "time.sleep(60)\n"
    leader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    pid_file = tmp_path / "daemon.pid"
    pid_file.write_text(f"{leader.pid}\n")
    deadline = time.monotonic() + 10
    while len(group_members(leader.pid)) < children + 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    return leader, pid_file


def test_the_process_fencer_kills_the_whole_group_and_the_guest_pids(tmp_path: Path) -> None:
    leader, pid_file = _group(tmp_path)
    # A "guest" in a session of its own, as QEMU is, found by its pid file.
    guest = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    guests = tmp_path / "qemu"
    guests.mkdir()
    (guests / "concord-x.pid").write_text(str(guest.pid))
    try:
        options = {"pid_file": str(pid_file), "guest_pid_dir": str(guests)}
        result = ProcessFencer().fence(FenceTarget("id", "h1", "qemu:///x", options), timeout=10)
        assert result.outcome is FenceOutcome.CONFIRMED, result.detail
        assert group_members(leader.pid) == []
        assert guest.wait(timeout=5) == -signal.SIGKILL
        # Fencing a fenced host again confirms again (recovery may resume after a crash).
        again = ProcessFencer().fence(FenceTarget("id", "h1", "qemu:///x", options), timeout=1)
        assert again.outcome is FenceOutcome.CONFIRMED
    finally:
        for process in (leader, guest):
            if process.poll() is None:
                process.kill()
            process.wait()


def test_the_process_fencer_refuses_unknown_or_own_groups(tmp_path: Path) -> None:
    fencer = ProcessFencer()
    missing = fencer.fence(
        FenceTarget("id", "h1", "x", {"pid_file": str(tmp_path / "none.pid")}), timeout=1
    )
    assert missing.outcome is FenceOutcome.UNCONFIRMED
    own = fencer.fence(FenceTarget("id", "h1", "x", {"pgid": str(os.getpgid(0))}), timeout=1)
    assert own.outcome is FenceOutcome.UNCONFIRMED
    assert "not one a host leads" in own.detail


def test_fencer_options_are_checked_when_configured() -> None:
    assert {"libvirt", "process"} <= set(fencer_kinds())
    check_options("process", {"pid_file": "/run/x.pid"})
    check_options("libvirt", {})
    with pytest.raises(ValueError, match="no fencer"):
        check_options("magic", {})
    with pytest.raises(ValueError, match="no option 'pidfile'"):
        check_options("process", {"pidfile": "/x"})
    with pytest.raises(ValueError, match="needs the option pid_file or pgid"):
        check_options("process", {"guest_pid_dir": "/x"})
