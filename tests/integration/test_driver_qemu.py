"""The driver contract against a real libvirtd and QEMU (TCG), plus host failures.

The daemon is private to this test session (see :mod:`libvirtd`); guests are
64 MiB QEMU guests without an OS, and volumes live in a directory pool under
the daemon's temporary directory.
"""

from __future__ import annotations

import hashlib
import queue
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest
from helpers import serving_bytes
from integration.libvirtd import PrivateLibvirtd, private_libvirtd
from unit.engine.drivers.contract import DriverContract

from concord.image_fetch import download
from engine.drivers.libvirt import ConnectionPool, LibvirtDriver
from engine.drivers.libvirt.xmlbuild import dir_pool_xml, parse
from engine.drivers.specs import GuestSpec, LifecycleEvent, PowerState
from engine.errors import DriverUnavailable

pytestmark = pytest.mark.integration

POOL = "concord-test"


def _create_dir_pool(conn: libvirt.virConnect, daemon: PrivateLibvirtd) -> None:
    pool = conn.storagePoolDefineXML(dir_pool_xml(POOL, str(daemon.pool_dir)), 0)
    pool.build(0)
    pool.create(0)


@pytest.fixture(scope="session")
def libvirtd() -> Iterator[PrivateLibvirtd]:
    with private_libvirtd("qemu") as daemon:
        yield daemon


@pytest.fixture(scope="session")
def qemu_pool(libvirtd: PrivateLibvirtd) -> Iterator[ConnectionPool]:
    pool = ConnectionPool()
    _create_dir_pool(pool.get(libvirtd.uri), libvirtd)
    yield pool
    pool.close_all()


class TestContractOnQemu(DriverContract):
    """The whole contract, on real QEMU guests."""

    # A guest without an OS ignores ACPI: a graceful stop ends in a power-off.
    graceful_stop_timeout = 0.5

    @pytest.fixture
    def driver(
        self, libvirtd: PrivateLibvirtd, qemu_pool: ConnectionPool
    ) -> Iterator[LibvirtDriver]:
        driver = LibvirtDriver(libvirtd.uri, qemu_pool)
        yield driver
        driver.close()

    @pytest.fixture
    def pool_name(self) -> str:
        return POOL

    def check_running_disks(
        self, driver: LibvirtDriver, guest_id: str, present: set[str], absent: set[str]
    ) -> None:
        # QEMU hot-plugs: the restored guest's live definition, not just the
        # persistent one, has the disk attached while it was saved.
        dom = driver._lookup(guest_id)  # the live XML is not in the contract
        live = {t.get("dev") for t in parse(dom.XMLDesc(0)).findall("./devices/disk/target")}
        assert present <= live and not absent & live, live

    @pytest.fixture
    def define_foreign_guest(
        self, driver: LibvirtDriver, qemu_pool: ConnectionPool
    ) -> Iterator[Callable[[], str]]:
        defined: list[libvirt.virDomain] = []

        def define() -> str:
            xml = (
                "<domain type='qemu'><name>operator-vm</name><memory unit='MiB'>32</memory>"
                "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>"
            )
            defined.append(qemu_pool.get(driver.uri).defineXML(xml))
            return "operator-vm"

        yield define
        for dom in defined:
            dom.undefine()

    @pytest.fixture
    def unreachable_driver(self, qemu_pool: ConnectionPool) -> LibvirtDriver:
        return LibvirtDriver("qemu+unix:///system?socket=/nonexistent/libvirt-sock", qemu_pool)


def test_guests_run_under_qemu(libvirtd: PrivateLibvirtd, qemu_pool: ConnectionPool) -> None:
    info = LibvirtDriver(libvirtd.uri, qemu_pool).host_info()
    assert info.hypervisor_type in {"qemu", "kvm"}
    assert info.memory_mib > 0


def _wait_for(events: queue.Queue[LifecycleEvent], guest_id: str, state: PowerState) -> str:
    while True:  # each get() is bounded: queue.Empty fails the test
        event = events.get(timeout=15)
        if event.guest_id == guest_id and event.power_state is state:
            return event.reason


@pytest.fixture
def spare_host() -> Iterator[tuple[PrivateLibvirtd, LibvirtDriver]]:
    """A second private daemon that a test may kill; torn down afterwards."""
    pool = ConnectionPool()
    with private_libvirtd("spare") as daemon:
        yield daemon, LibvirtDriver(daemon.uri, pool)
        pool.close_all()


def test_killed_qemu_is_reported_as_crashed(
    spare_host: tuple[PrivateLibvirtd, LibvirtDriver],
) -> None:
    daemon, driver = spare_host
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64)
    driver.define_guest(spec)
    events: queue.Queue[LifecycleEvent] = queue.Queue()
    driver.subscribe(events.put)
    driver.start(spec.guest_id)
    pid = int(daemon.qemu_pid(f"concord-{spec.guest_id}"))
    daemon.kill_pid(pid)
    assert _wait_for(events, spec.guest_id, PowerState.CRASHED) == "stopped:failed"
    assert driver.guest_state(spec.guest_id) is PowerState.SHUTOFF
    # Shut off, but libvirt keeps why: reconciliation tells this from a stop.
    assert driver.crashed_guests() == {spec.guest_id}
    # Booting it again forgets the crash.
    driver.start(spec.guest_id)
    assert spec.guest_id not in driver.crashed_guests()


def test_host_failure_and_recovery(spare_host: tuple[PrivateLibvirtd, LibvirtDriver]) -> None:
    daemon, driver = spare_host
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64)
    driver.define_guest(spec)
    driver.start(spec.guest_id)
    daemon.kill()
    with pytest.raises(DriverUnavailable):
        driver.list_guests()
    daemon.start()
    # The pool reconnects on its own; the guest kept running without libvirtd.
    assert driver.list_guests() == {spec.guest_id: PowerState.RUNNING}
    # Pausing needs QEMU's monitor, so it also waits until the new daemon
    # has taken the running QEMU process over.
    driver.pause(spec.guest_id)
    driver.resume(spec.guest_id)
    events: queue.Queue[LifecycleEvent] = queue.Queue()
    driver.subscribe(events.put)
    driver.stop(spec.guest_id, force=True)
    assert _wait_for(events, spec.guest_id, PowerState.SHUTOFF) == "stopped:destroyed"


def test_an_image_fetched_into_a_started_pool_is_copied_as_a_root_disk(
    libvirtd: PrivateLibvirtd, qemu_pool: ConnectionPool
) -> None:
    """A subscribed image's file, written after libvirt last listed its pool, still boots.

    The bytes come from a real HTTP server through the verifying downloader
    (concord.image_fetch) into a directory pool libvirt had already started:
    the copy finds the new file by refreshing that pool.
    """
    body = b"\x00" * 65536 + b"a subscribed image\n" * 100
    digest = hashlib.sha512(body).hexdigest()
    conn = qemu_pool.get(libvirtd.uri)
    images = libvirtd.base / "fetched-images"
    pool = conn.storagePoolDefineXML(dir_pool_xml("fetched-images", str(images)), 0)
    driver = LibvirtDriver(libvirtd.uri, qemu_pool)
    try:
        pool.build(0)
        pool.create(0)
        path = images / f"{uuid.uuid4()}-{digest[:32]}"
        with serving_bytes({"/x.img": body}) as (base, _seen):
            download(f"{base}/x.img", path, len(body), digest, 10.0)
        copy = driver.clone_volume(str(path), POOL, "root-of-a-subscribed-image")
        assert hashlib.sha512(Path(copy.path).read_bytes()).hexdigest() == digest
        driver.delete_volume(POOL, "root-of-a-subscribed-image")
    finally:
        pool.destroy()
        pool.undefine()
