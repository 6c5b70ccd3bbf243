"""Real BMCs on loopback for the out-of-band fencer tests.

Both are OpenStack Ironic's own BMC emulators, installed from PyPI and run
unmodified in subprocesses:

* ``virtualbmc`` (IPMI v2.0 over UDP, built on pyghmi's BMC server), spoken
  to by the real ``ipmitool``;
* ``sushy-tools``' ``sushy-emulator`` (Redfish over HTTPS, Flask), with
  HTTP Basic authentication from an htpasswd file and a self-signed
  certificate made for the test.

Each is backed by libvirt's ``test:///default`` host, whose domain ``test``
(running) is the "server" the BMC powers. The emulators open a new libvirt
connection for every request, and ``test:///default`` keeps its state only
while a connection to it is open in the process, so the launcher (a shim in
the emulator's process, not in its files) holds one open for the process's
life; ``keep_state=False`` leaves that out, which makes a BMC that accepts a
power-off yet reads the power back as on (the host "comes back").
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pki import loopback_server

#: The domain test:///default starts with, running.
DOMAIN = "test"
DOMAIN_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"
USERNAME = "fence"
PASSWORD = "s3cret-fence"
_START_TIMEOUT = 30.0

_LAUNCHER = """
import sys, libvirt
keep = libvirt.open("test:///default") if sys.argv[1] == "keep" else None
peer = sys.argv[2]
if peer == "vbmc":
    from virtualbmc.vbmc import VirtualBMC
    user, password, port = sys.argv[3], sys.argv[4], int(sys.argv[5])
    VirtualBMC(user, password, port, "127.0.0.1", "test", "test:///default").listen()
else:
    from sushy_tools.emulator.main import main
    sys.argv = ["sushy-emulator", *sys.argv[3:]]
    sys.exit(main())
"""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, *argv], stdout=out, stderr=subprocess.STDOUT
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait(ready: object, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the BMC emulator exited: {log.read_text(errors='replace')[-2000:]}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"the BMC emulator did not start: {log.read_text(errors='replace')[-2000:]}")


def ipmitool_status(port: int) -> str:
    """``on`` or ``off`` as the BMC on ``port`` reports it to a fresh ipmitool."""
    done = subprocess.run(
        ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(port), "-U", USERNAME,
         "-P", PASSWORD, "chassis", "power", "status"],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    return done.stdout.strip().rsplit(" ", 1)[-1] if done.returncode == 0 else ""


@contextlib.contextmanager
def virtual_bmc(tmp_path: Path, *, keep_state: bool = True) -> Iterator[int]:
    """Run a virtualbmc for test:///default's domain; yield its UDP port."""
    pytest.importorskip("virtualbmc")
    if shutil.which("ipmitool") is None:
        pytest.skip("ipmitool is not installed (scripts/bootstrap-system.sh installs it)")
    port = free_port(socket.SOCK_DGRAM)
    log = tmp_path / f"vbmc-{port}.log"
    keep = "keep" if keep_state else "fresh"
    process = _start([keep, "vbmc", USERNAME, PASSWORD, str(port)], log)
    try:
        _wait(lambda: ipmitool_status(port) in ("on", "off"), process, log)
        yield port
    finally:
        _stop(process)


@dataclass(frozen=True)
class RedfishPeer:
    """A running sushy-emulator."""

    url: str
    #: The PEM file of its self-signed certificate (the CA to trust).
    certificate: Path

    def power_state(self) -> str:
        """The system's PowerState, read with a request of the test's own."""
        request = urllib.request.Request(  # noqa: S310
            f"{self.url}/redfish/v1/Systems/{DOMAIN_UUID}",
            headers={"Authorization": _basic(USERNAME, PASSWORD)},
        )
        context = ssl.create_default_context(cafile=str(self.certificate))
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:  # noqa: S310
            return str(json.load(answer)["PowerState"])


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@contextlib.contextmanager
def sushy_emulator(tmp_path: Path) -> Iterator[RedfishPeer]:
    """Run sushy-emulator over HTTPS with Basic authentication; yield it."""
    pytest.importorskip("sushy_tools")
    bcrypt = pytest.importorskip("bcrypt")
    cert_file, key_file = loopback_server(tmp_path, "bmc")
    users = tmp_path / "htpasswd"
    digest = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    users.write_text(f"{USERNAME}:{digest}\n")
    config = tmp_path / "emulator.conf"
    config.write_text(f"SUSHY_EMULATOR_AUTH_FILE = {str(users)!r}\n")
    port = free_port()
    log = tmp_path / f"sushy-{port}.log"
    process = _start(
        ["keep", "sushy", "--config", str(config), "-i", "127.0.0.1", "-p", str(port),
         "--ssl-certificate", str(cert_file), "--ssl-key", str(key_file),
         "--libvirt-uri", "test:///default"],
        log,
    )  # fmt: skip
    peer = RedfishPeer(f"https://127.0.0.1:{port}", cert_file)

    def ready() -> bool:
        try:
            return peer.power_state() in ("On", "Off")
        except OSError:
            return False

    try:
        _wait(ready, process, log)
        yield peer
    finally:
        _stop(process)


@contextlib.contextmanager
def silent_tcp() -> Iterator[int]:
    """A TCP port that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


@contextlib.contextmanager
def silent_udp() -> Iterator[int]:
    """A UDP port that receives datagrams and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        yield int(server.getsockname()[1])
