"""The ``process`` fencer: kill a host that is a local libvirtd process, guests included.

For hosts that are libvirtd processes on the Concord machine itself (the
integration tests, the demo, a lab): the daemon leads a process group of its
own (it was started with ``setsid``), and killing that group with ``SIGKILL``
is pulling the host's plug. QEMU processes detach into sessions of their
own, so their pid files (``<run dir>/libvirt/qemu/run/*.pid``) are killed
too when ``guest_pid_dir`` names that directory.

The fence is *confirmed* when no live process is left in the group and no
guest pid file names a live process (zombies awaiting their parent count as
dead: they run nothing); *unconfirmed* when the group cannot be found (no pid
file and no ``pgid``), may not be signalled, or outlives ``timeout``.

Options: ``pid_file`` (the daemon's pid file; the daemon's pid is its group's
id) or ``pgid`` (the group's id), and optionally ``guest_pid_dir``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from engine.drivers.fencing.base import FenceOutcome, FenceResult, FenceTarget
from engine.drivers.fencing.registry import Drivers, FencerKind, register_fencer

_PROC = Path("/proc")
_POLL = 0.02


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of a process, None if it is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    members = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def _guest_pids(directory: str | None) -> list[int]:
    if not directory:
        return []
    pids = []
    for pid_file in Path(directory).glob("*.pid"):
        try:
            pids.append(int(pid_file.read_text().strip()))
        except (OSError, ValueError):
            continue
    return pids


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class ProcessFencer:
    """Fence a local libvirtd by killing its process group and its guests' processes.

    :param drivers: unused (the contract every fencer factory meets).
    """

    name = "process"

    def __init__(self, drivers: Drivers | None = None) -> None:
        self.drivers = drivers

    def fence(self, target: FenceTarget, timeout: float) -> FenceResult:
        """Kill the group and the guests, and wait until they are gone."""
        try:
            pgid = self._pgid(target)
        except (OSError, ValueError) as exc:
            return FenceResult(
                FenceOutcome.UNCONFIRMED, f"the daemon's process group is unknown: {exc}"
            )
        if pgid <= 1 or pgid == os.getpgid(0):
            # Never the init process, nor Concord's own group (a daemon that
            # does not lead a group of its own would otherwise take us along).
            return FenceResult(
                FenceOutcome.UNCONFIRMED, f"process group {pgid} is not one a host leads"
            )
        guest_dir = target.options.get("guest_pid_dir")
        guests = _guest_pids(guest_dir)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already gone: what fencing wants
        except PermissionError:
            return FenceResult(
                FenceOutcome.UNCONFIRMED, f"not allowed to signal process group {pgid}"
            )
        try:
            _kill(guests)
        except PermissionError:
            return FenceResult(FenceOutcome.UNCONFIRMED, "not allowed to signal a guest process")
        deadline = time.monotonic() + timeout
        while True:
            left = group_members(pgid) + [pid for pid in guests if _alive(pid)]
            if not left:
                return FenceResult(
                    FenceOutcome.CONFIRMED,
                    f"process group {pgid} and {len(guests)} guest process(es) are gone",
                )
            if time.monotonic() >= deadline:
                return FenceResult(
                    FenceOutcome.UNCONFIRMED,
                    f"{len(left)} process(es) of the host outlived SIGKILL for {timeout:g} s",
                )
            _kill(left)
            time.sleep(_POLL)

    @staticmethod
    def _pgid(target: FenceTarget) -> int:
        if target.options.get("pgid"):
            return int(target.options["pgid"])
        pid_file = target.options.get("pid_file")
        if not pid_file:
            raise ValueError("neither pid_file nor pgid is configured")
        pid = int(Path(pid_file).read_text().strip())
        # A daemon started with setsid leads its group: its pid is the group's
        # id, even once it is dead and os.getpgid can no longer say so.
        try:
            return os.getpgid(pid)
        except ProcessLookupError:
            return pid


register_fencer(
    FencerKind(
        name=ProcessFencer.name,
        factory=ProcessFencer,
        options={
            "pid_file": "the libvirtd pid file (the daemon leads its process group)",
            "pgid": "the daemon's process group id, instead of pid_file",
            "guest_pid_dir": "the directory of the QEMU pid files (libvirt/qemu/run)",
        },
        required=(("pid_file", "pgid"),),
    )
)

__all__ = ["ProcessFencer", "group_members"]
