"""``concord serve --workers N``: N waitress processes on one port, and their supervisor.

The parent binds the listening sockets, forks one process per worker slot,
and from then on only supervises: a worker that dies is forked again (after
a back-off when it dies young, so that a worker failing at start does not
spin), and SIGTERM or SIGINT stops every worker, then the parent, which
exits 0.

How connections are spread. Each worker slot has a socket of its own, all
bound to the same address with ``SO_REUSEPORT``: Linux then chooses the
socket, hence the worker, of each new connection by a hash of its addresses
and ports, so connections are spread evenly whatever each worker is doing.
One socket shared by every worker (gunicorn's model) lets whichever
process wakes first accept: a process whose request threads are all busy
still accepts in its own loop, and connections can pile onto one worker
(issue 15 measured 1.07x for two gunicorn workers). The parent keeps every
slot's socket open for its whole life, so a dead worker's socket stays in
the group: connections that reach it wait in its backlog for the
replacement, which inherits the same socket, instead of being reset.

``SO_REUSEPORT`` lets any process of the same user join the group, so the
parent first binds the port without it, as a plain probe: a port that
anything listens on (another Concord included) is refused as busy, as the
single-process server refuses it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

log = logging.getLogger("concord.serving")

#: Seconds a worker must have run for its death to count as a crash of a
#: serving worker (restarted at once) rather than a failure at start.
STABLE_AFTER = 10.0
#: The first wait before forking again a worker that died young; each further
#: early death doubles it, up to :data:`MAX_DELAY`.
FIRST_DELAY = 0.5
MAX_DELAY = 30.0
#: Seconds the workers have to finish after SIGTERM before they are killed
#: (the embedded worker finishes its job step first).
STOP_GRACE = 60.0
#: How often the supervisor looks at its workers.
TICK = 0.1

#: A worker's body: given its slot number and its sockets, serve until SIGTERM.
WorkerBody = Callable[[int, list[socket.socket]], None]


def restart_delay(lived: float, early_deaths: int) -> float:
    """Seconds to wait before forking a worker again.

    :param lived: seconds the worker that died had run.
    :param early_deaths: deaths of this slot's workers in a row, this one
        included, each within :data:`STABLE_AFTER` seconds of its start.
    """
    if lived >= STABLE_AFTER or early_deaths <= 0:
        return 0.0
    return min(MAX_DELAY, FIRST_DELAY * 2 ** (early_deaths - 1))


def bind_worker_sockets(
    host: str, port: int, workers: int, backlog: int = 1024
) -> list[list[socket.socket]]:
    """One list of listening sockets per worker slot, on every address ``host`` names.

    :param port: 0 for a free port: every slot gets the port the first socket got.
    :raises OSError: the address is busy or cannot be bound (nothing stays bound).
    """
    from waitress.adjustments import Adjustments  # waitress resolves host names as it would

    # (family, type, proto, address) of each address, as waitress binds them.
    addresses = cast(list[tuple[int, int, int, Any]], Adjustments(host=host, port=port).listen)
    slots: list[list[socket.socket]] = []
    try:
        if port:
            for family, kind, proto, address in addresses:
                with _socket(family, kind, proto, reuse_port=False) as probe:
                    probe.bind(address)
        for _ in range(workers):
            slot: list[socket.socket] = []
            slots.append(slot)
            for number, (family, kind, proto, address) in enumerate(addresses):
                sock = _socket(family, kind, proto, reuse_port=True)
                slot.append(sock)
                if len(slots) > 1:  # the first slot's port (a free port was asked for)
                    address = (address[0], slots[0][number].getsockname()[1], *address[2:])
                sock.bind(address)
                sock.listen(backlog)
    except BaseException:
        for each in slots:
            for sock in each:
                sock.close()
        raise
    return slots


def _socket(family: int, kind: int, proto: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as waitress binds
    # TIME_WAIT connections of a previous server do not keep the port (as in waitress).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


@dataclass
class Supervisor:
    """Forks a worker per slot and keeps one running in each until told to stop.

    :param slots: each slot's listening sockets (:func:`bind_worker_sockets`).
    :param body: what a worker runs, in the child (it must return on SIGTERM).
    """

    slots: Sequence[list[socket.socket]]
    body: WorkerBody
    pids: dict[int, int] = field(default_factory=dict)  # pid -> slot
    stopping: bool = False

    def run(self) -> None:
        """Supervise until SIGTERM or SIGINT, then stop every worker and return."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        started: dict[int, float] = {}
        early_deaths = dict.fromkeys(range(len(self.slots)), 0)
        due = dict.fromkeys(range(len(self.slots)), 0.0)  # slot -> when to fork it
        while not self.stopping:
            now = time.monotonic()
            for slot, when in list(due.items()):
                if when <= now and not self.stopping:
                    del due[slot]
                    started[slot] = now
                    self.pids[self._fork(slot)] = slot
            for pid, status in self._reap():
                slot = self.pids.pop(pid)
                lived = now - started[slot]
                early_deaths[slot] = 0 if lived >= STABLE_AFTER else early_deaths[slot] + 1
                delay = restart_delay(lived, early_deaths[slot])
                log.warning(
                    "worker %d (pid %d) %s after %.1f s; starting another in %.1f s",
                    slot,
                    pid,
                    _describe(status),
                    lived,
                    delay,
                    extra={"worker_slot": slot},
                )
                due[slot] = now + delay
            time.sleep(TICK)
        self._stop_workers()

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _reap(self) -> list[tuple[int, int]]:
        """The workers that have exited, with their wait status; reaped."""
        gone = []
        for pid in list(self.pids):
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    gone.append((pid, status))
        return gone

    def _stop_workers(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while self.pids and time.monotonic() < deadline:
            for pid, _status in self._reap():
                del self.pids[pid]
            time.sleep(TICK)
        for pid in list(self.pids):
            log.warning("worker pid %d did not stop in %.0f s: killed", pid, STOP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.pids.clear()

    def _fork(self, slot: int) -> int:
        # Whatever the parent has buffered would otherwise be written twice.
        sys.stdout.flush()
        sys.stderr.flush()
        # Held until the child has its own handlers: a SIGTERM must not reach
        # it while it still has the supervisor's (which would ignore it).
        stops = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        parent = os.getpid()
        pid = os.fork()
        if pid:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            return pid
        status = 1
        try:
            # The supervisor decides when workers stop: Ctrl-C reaches the
            # terminal's whole process group, and a worker that stopped on
            # its own SIGINT first would be restarted.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _stop_with(parent)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            for other, sockets in enumerate(self.slots):
                if other != slot:
                    for sock in sockets:
                        sock.close()
            self.body(slot, self.slots[slot])
            status = 0
        except BaseException:
            log.exception("worker %d failed", slot, extra={"worker_slot": slot})
        finally:
            # Never return into the parent's code (its finally blocks, atexit).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)


def _stop_with(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when ``parent`` dies (even by SIGKILL).

    Without it, workers whose supervisor was killed would go on serving,
    unsupervised, holding the port.
    """
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


__all__ = ["Supervisor", "bind_worker_sockets", "restart_delay"]
