"""A private libvirtd for integration tests: real QEMU guests under TCG.

The daemon runs in libvirt's *session* mode (unprivileged), with every
directory it uses — configuration, sockets, domain definitions, logs, QEMU
state — under one temporary directory, so that:

* nothing is written to ``/etc/libvirt`` or ``/var/lib/libvirt``;
* several daemons can run side by side, each a separate host (a privileged
  libvirtd locks ``/run/libvirt/qemu``, so only one can run per machine);
* killing one is a host failure that touches nothing else.

When the tests run as root, the daemon runs as the system user
:data:`DAEMON_USER` (created on first use with ``useradd -r``), because a
libvirtd started by root is always privileged. That user has no access to
``/dev/kvm``, so guests get domain type ``qemu`` (TCG), which is what these
tests want: a 64 MiB guest without a disk boots to firmware in well under a
second. QEMU's output goes to files (``stdio_handler = "file"``), so no
virtlogd is needed.

Use :func:`private_libvirtd` from a fixture; it skips, with the reason, when
the daemon cannot be started.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Unprivileged account the daemon runs as when the tests run as root.
DAEMON_USER = "concord-hv"
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
_START_TIMEOUT = 20.0


class LibvirtdUnavailable(Exception):
    """The private daemon could not be started; the message says why."""


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LibvirtdUnavailable(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd", path=_SEARCH_PATH)
    if useradd is None:
        raise LibvirtdUnavailable(f"user {name!r} is missing and useradd is not installed")
    try:
        _run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir",
              "/nonexistent", "--shell", "/usr/sbin/nologin", name])  # fmt: skip
    except LibvirtdUnavailable:
        # Another test process (pytest-xdist) may have created it meanwhile.
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
        raise
    return pwd.getpwnam(name)


class PrivateLibvirtd:
    """One private libvirtd process and its directory.

    :param name: a short label, used in the directory name.
    """

    def __init__(self, name: str = "host") -> None:
        self.name = name
        self.base = Path(tempfile.mkdtemp(prefix=f"concord-lvd-{name}-"))
        self.run_dir = self.base / "run"
        self.pool_dir = self.base / "pool"
        self.socket = self.run_dir / "libvirt-sock"
        self.log = self.base / "libvirtd.log"
        self.process: subprocess.Popen[bytes] | None = None
        #: The URI drivers connect with.
        self.uri = f"qemu+unix:///session?socket={self.socket}"

    def _write_config(self) -> Path:
        config = self.base / "config" / "libvirt"
        if (config / "libvirtd.conf").exists():
            return config / "libvirtd.conf"  # a restart keeps the host's state
        config.mkdir(parents=True)
        for sub in ("run", "cache", "home"):
            (self.base / sub).mkdir()
        (config / "libvirtd.conf").write_text(
            f'unix_sock_dir = "{self.run_dir}"\n'
            'unix_sock_rw_perms = "0700"\n'
            f'log_outputs = "3:file:{self.log}"\n'
            # Each daemon is a host of its own: libvirt refuses to migrate a
            # guest between two daemons that report the machine's one UUID.
            f'host_uuid = "{uuid.uuid4()}"\n'
        )
        (config / "qemu.conf").write_text('stdio_handler = "file"\n')
        return config / "libvirtd.conf"

    def start(self) -> None:
        """Start the daemon and wait until its socket accepts connections.

        After :meth:`kill`, starting again is a host coming back: the guests
        defined before are still there, and running QEMU processes are
        taken over again.

        :raises LibvirtdUnavailable: with the reason, when it cannot start.
        """
        libvirtd = shutil.which("libvirtd", path=_SEARCH_PATH)
        if libvirtd is None:
            raise LibvirtdUnavailable("libvirtd is not installed (apt-get install libvirt-daemon)")
        if shutil.which("qemu-system-x86_64", path=_SEARCH_PATH) is None:
            raise LibvirtdUnavailable("qemu-system-x86_64 is not installed")
        conf = self._write_config()
        argv = [libvirtd, "--config", str(conf), "--pid-file", str(self.run_dir / "libvirtd.pid")]
        if os.geteuid() == 0:
            user = _ensure_user(DAEMON_USER)
            for path in [self.base, *self.base.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
            argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                    "--init-groups", *argv]  # fmt: skip
        env = {
            "PATH": _SEARCH_PATH,
            "HOME": str(self.base / "home"),
            "XDG_CONFIG_HOME": str(self.base / "config"),
            "XDG_RUNTIME_DIR": str(self.run_dir),
            "XDG_CACHE_HOME": str(self.base / "cache"),
        }
        with open(self.base / "stdout.log", "wb") as output:
            self.process = subprocess.Popen(
                argv, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LibvirtdUnavailable(f"libvirtd exited at start: {self._tail()}")
            if self._accepts():
                return
            time.sleep(0.05)
        self.stop()
        raise LibvirtdUnavailable(f"libvirtd did not open its socket in {_START_TIMEOUT}s")

    def _accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        return True

    def _tail(self) -> str:
        lines: list[str] = []
        for path in (self.base / "stdout.log", self.log):
            with contextlib.suppress(OSError):
                lines += path.read_text(errors="replace").splitlines()[-5:]
        return " | ".join(lines) or "no output"

    def _kill_guests(self) -> None:
        # QEMU processes daemonise away from libvirtd and outlive it: kill
        # them by the pid files the daemon keeps.
        for pid_file in self.run_dir.glob("libvirt/qemu/run/*.pid"):
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)

    def qemu_pid(self, domain: str) -> int:
        """Return the pid of the QEMU process running ``domain``.

        :param domain: the libvirt domain name.
        """
        return int((self.run_dir / "libvirt" / "qemu" / "run" / f"{domain}.pid").read_text())

    @staticmethod
    def kill_pid(pid: int) -> None:
        """Kill a process abruptly (a QEMU process dying under its guest).

        :param pid: the process id.
        """
        os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the daemon abruptly, as a host failure would (guests are left)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the daemon and its guests, and remove its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._kill_guests()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def private_libvirtd(name: str = "host") -> Iterator[PrivateLibvirtd]:
    """Run a :class:`PrivateLibvirtd` for the duration of a ``with`` block.

    Calls :func:`pytest.skip` with the exact reason when it cannot start.

    :param name: a short label for the daemon's directory.
    """
    daemon = PrivateLibvirtd(name)
    try:
        daemon.start()
    except (LibvirtdUnavailable, OSError) as exc:
        daemon.stop()
        pytest.skip(f"private libvirtd could not be started: {exc}")
    try:
        yield daemon
    finally:
        daemon.stop()
