"""The driver contract on libvirt's ``test:///`` driver, and what is specific to it.

Every test gets its own simulated host: a node file written under ``tmp_path``
and opened through a private :class:`ConnectionPool` (closing the pool at the
end discards the host).
"""

from __future__ import annotations

import queue
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest
from unit.engine.drivers.contract import DriverContract

from engine.drivers.libvirt import ConnectionPool, LibvirtDriver, default_pool, write_test_host
from engine.drivers.libvirt.mapping import (
    DOMAIN_STATES,
    EVENT_NAMES,
    domain_power_state,
    event_power_state,
    event_reason,
    translate_error,
)
from engine.drivers.libvirt.xmlbuild import domain_xml
from engine.drivers.specs import GuestSpec, LifecycleEvent, PowerState
from engine.errors import (
    AlreadyExists,
    Conflict,
    DriverError,
    DriverUnavailable,
    InvalidInput,
    NotFound,
)

POOL = "images"


def _write_host(directory: Path, hostname: str = "node-1") -> str:
    return write_test_host(
        directory / f"{hostname}.xml",
        hostname=hostname,
        cpu_cores=8,
        cpu_mhz=2400,
        memory_mib=16384,
        pools=[(POOL, 10, "/var/lib/concord/images"), ("backups", 1, "/srv/backups")],
    )


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    pool = ConnectionPool()
    yield pool
    pool.close_all()


@pytest.fixture
def host_uri(tmp_path: Path) -> str:
    return _write_host(tmp_path)


@pytest.fixture
def driver(host_uri: str, pool: ConnectionPool) -> Iterator[LibvirtDriver]:
    driver = LibvirtDriver(host_uri, pool)
    yield driver
    driver.close()


class TestContractOnTestDriver(DriverContract):
    """The whole contract, on a fresh simulated host per test."""

    @pytest.fixture
    def pool_name(self) -> str:
        return POOL

    @pytest.fixture
    def define_foreign_guest(
        self, driver: LibvirtDriver, pool: ConnectionPool
    ) -> Callable[[], str]:
        def define() -> str:
            xml = (
                "<domain type='test'><name>operator-vm</name><memory unit='MiB'>32</memory>"
                "<os><type arch='x86_64'>hvm</type></os></domain>"
            )
            pool.get(driver.uri).defineXML(xml)
            return "operator-vm"

        return define

    @pytest.fixture
    def unreachable_driver(self, pool: ConnectionPool) -> LibvirtDriver:
        return LibvirtDriver("qemu+unix:///system?socket=/nonexistent/libvirt-sock", pool)


# ---------------------------------------------------------------- test hosts


def test_host_info_reports_the_node_file(driver: LibvirtDriver) -> None:
    info = driver.host_info()
    assert (info.hostname, info.hypervisor_type, info.arch) == ("node-1", "test", "x86_64")
    assert (info.cpu_cores, info.cpu_mhz, info.memory_mib) == (8, 2400, 16384)


def test_pools_come_from_the_node_file(driver: LibvirtDriver) -> None:
    pools = driver.list_pools()
    assert [p.name for p in pools] == ["backups", POOL]
    # libvirt's test driver sizes every pool itself (100 GiB in 9.0).
    assert pools[1].capacity_bytes == pools[1].available_bytes > 0
    assert pools[1].allocation_bytes == 0


def test_hostname_falls_back_to_the_uri(tmp_path: Path, pool: ConnectionPool) -> None:
    node = tmp_path / "bare.xml"
    node.write_text("<node><cpu><mhz>1000</mhz></cpu><memory>1048576</memory></node>")
    uri = f"test://{node}"
    assert LibvirtDriver(uri, pool).host_info().hostname == uri


def test_missing_node_file_is_an_unreachable_host(tmp_path: Path, pool: ConnectionPool) -> None:
    driver = LibvirtDriver(f"test://{tmp_path}/gone.xml", pool)
    with pytest.raises(DriverUnavailable) as caught:
        driver.host_info()
    assert str(tmp_path) not in str(caught.value)


def test_write_test_host_checks_its_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        write_test_host(tmp_path / "h.xml", hostname="h", cpu_cores=0, cpu_mhz=1, memory_mib=1)
    with pytest.raises(InvalidInput):
        write_test_host(
            tmp_path / "h.xml",
            hostname="h",
            cpu_cores=1,
            cpu_mhz=1,
            memory_mib=1,
            pools=[("p", 1, "/a"), ("p", 1, "/b")],
        )


def test_two_test_hosts_are_isolated(tmp_path: Path, pool: ConnectionPool) -> None:
    first = LibvirtDriver(_write_host(tmp_path, "node-a"), pool)
    second = LibvirtDriver(_write_host(tmp_path, "node-b"), pool)
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64)
    first.define_guest(spec)
    first.start(spec.guest_id)
    assert first.guest_state(spec.guest_id) is PowerState.RUNNING
    assert second.guest_state(spec.guest_id) is PowerState.ABSENT
    assert second.list_guests() == {}
    assert second.host_info().hostname == "node-b"


def test_one_connection_per_uri(host_uri: str, pool: ConnectionPool) -> None:
    # Two drivers of one URI must see one host: a second open would be a
    # second, empty host.
    first, second = LibvirtDriver(host_uri, pool), LibvirtDriver(host_uri, pool)
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64)
    first.define_guest(spec)
    assert second.guest_state(spec.guest_id) is PowerState.SHUTOFF
    assert pool.get(host_uri) is pool.get(host_uri)
    assert pool.opens(host_uri) == 1
    assert pool.uris() == [host_uri]


def test_closing_a_driver_keeps_the_host(host_uri: str, pool: ConnectionPool) -> None:
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64)
    first = LibvirtDriver(host_uri, pool)
    first.define_guest(spec)
    first.close()
    assert LibvirtDriver(host_uri, pool).guest_state(spec.guest_id) is PowerState.SHUTOFF


def test_reconnect_reattaches_subscribers(host_uri: str, pool: ConnectionPool) -> None:
    driver = LibvirtDriver(host_uri, pool)
    events: queue.Queue[LifecycleEvent] = queue.Queue()
    cancel = driver.subscribe(events.put)
    pool.close(host_uri)  # the next call reconnects: a fresh test host
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64)
    driver.define_guest(spec)
    driver.start(spec.guest_id)
    assert pool.opens(host_uri) == 2
    while (event := events.get(timeout=10)).power_state is not PowerState.RUNNING:
        pass
    assert event.guest_id == spec.guest_id
    cancel()


def test_default_pool_is_shared(host_uri: str) -> None:
    first, second = LibvirtDriver(host_uri), LibvirtDriver(host_uri)
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64)
    try:
        first.define_guest(spec)
        assert second.guest_state(spec.guest_id) is PowerState.SHUTOFF
    finally:
        default_pool().close(host_uri)


# ---------------------------------------------------------------- mapping tables

_STATE_NAMES = [
    "VIR_DOMAIN_NOSTATE",
    "VIR_DOMAIN_RUNNING",
    "VIR_DOMAIN_BLOCKED",
    "VIR_DOMAIN_PAUSED",
    "VIR_DOMAIN_SHUTDOWN",
    "VIR_DOMAIN_SHUTOFF",
    "VIR_DOMAIN_CRASHED",
    "VIR_DOMAIN_PMSUSPENDED",
]


@pytest.mark.parametrize("name", _STATE_NAMES)
@pytest.mark.parametrize("managed_save", [False, True])
def test_every_domain_state_maps(name: str, managed_save: bool) -> None:
    state = getattr(libvirt, name)
    assert state in DOMAIN_STATES
    power = domain_power_state(state, managed_save)
    expected_suspended = managed_save and name == "VIR_DOMAIN_SHUTOFF"
    assert (power is PowerState.SUSPENDED) is expected_suspended
    assert power is not PowerState.ABSENT


def test_domain_state_table_is_total() -> None:
    assert set(DOMAIN_STATES) == {getattr(libvirt, name) for name in _STATE_NAMES}
    assert domain_power_state(999, False) is PowerState.NOSTATE


_EVENT_CONSTANT = re.compile(r"^VIR_DOMAIN_EVENT_(?!ID_)[A-Z]+$")


def test_every_lifecycle_event_maps() -> None:
    events = {getattr(libvirt, n) for n in dir(libvirt) if _EVENT_CONSTANT.match(n)}
    assert events == set(EVENT_NAMES)
    for event in events:
        event_power_state(event, 0)  # never raises
        assert event_reason(event, 0).startswith(EVENT_NAMES[event] + ":")


@pytest.mark.parametrize(
    ("event", "detail", "state", "reason"),
    [
        ("STARTED", "BOOTED", PowerState.RUNNING, "started:booted"),
        ("SUSPENDED", "PAUSED", PowerState.PAUSED, "suspended:paused"),
        ("RESUMED", "UNPAUSED", PowerState.RUNNING, "resumed:unpaused"),
        ("STOPPED", "SHUTDOWN", PowerState.SHUTOFF, "stopped:shutdown"),
        ("STOPPED", "DESTROYED", PowerState.SHUTOFF, "stopped:destroyed"),
        ("STOPPED", "CRASHED", PowerState.CRASHED, "stopped:crashed"),
        ("STOPPED", "FAILED", PowerState.CRASHED, "stopped:failed"),
        ("STOPPED", "SAVED", PowerState.SUSPENDED, "stopped:saved"),
        ("UNDEFINED", "REMOVED", PowerState.ABSENT, "undefined:removed"),
        ("DEFINED", "ADDED", PowerState.SHUTOFF, "defined:added"),
        ("DEFINED", "UPDATED", None, "defined:updated"),
        ("CRASHED", "PANICKED", PowerState.CRASHED, "crashed:panicked"),
        ("PMSUSPENDED", "DISK", PowerState.SHUTOFF, "pmsuspended:disk"),
    ],
)
def test_event_table(event: str, detail: str, state: PowerState | None, reason: str) -> None:
    event_id = getattr(libvirt, f"VIR_DOMAIN_EVENT_{event}")
    detail_id = getattr(libvirt, f"VIR_DOMAIN_EVENT_{event}_{detail}")
    assert event_power_state(event_id, detail_id) is state
    assert event_reason(event_id, detail_id) == reason


def _libvirt_error(code: int, domain: int, message: str) -> libvirt.libvirtError:
    # A real libvirtError carrying the code and domain libvirt would set.
    error = libvirt.libvirtError(message)
    error.err = (code, domain, message, 2, "", None, None, 0, 0)
    return error


@pytest.mark.parametrize(
    ("code", "domain", "expected"),
    [
        (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_FROM_QEMU, NotFound),
        (libvirt.VIR_ERR_NO_STORAGE_VOL, libvirt.VIR_FROM_STORAGE, NotFound),
        (libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_FROM_STORAGE, NotFound),
        (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_FROM_QEMU, Conflict),
        (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_RPC, DriverUnavailable),
        (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_RPC, DriverUnavailable),
        (libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_FROM_NONE, DriverUnavailable),
        (libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_FROM_NONE, DriverUnavailable),
        (libvirt.VIR_ERR_STORAGE_VOL_EXIST, libvirt.VIR_FROM_STORAGE, AlreadyExists),
        (libvirt.VIR_ERR_XML_ERROR, libvirt.VIR_FROM_DOMAIN, InvalidInput),
        (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_QEMU, DriverError),
        (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_FROM_TEST, DriverError),
    ],
)
def test_error_mapping(code: int, domain: int, expected: type[Exception]) -> None:
    secret = "/var/lib/libvirt/qemu/secret-path.sock"
    translated = translate_error(_libvirt_error(code, domain, f"failed at {secret}"), "do it")
    assert type(translated) is expected
    assert secret not in str(translated)
    assert not any(secret in str(value) for value in translated.details.values())


def test_real_not_found_error_maps(driver: LibvirtDriver) -> None:
    with pytest.raises(NotFound):
        driver.guest_disks(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        driver.list_volumes("no-such-pool")


# ---------------------------------------------------------------- XML


def test_domain_xml_escapes_values() -> None:
    spec = GuestSpec(str(uuid.uuid4()), vcpus=1, memory_mib=64, user_data="</domain><x a='1'>&")
    document = domain_xml(spec, "qemu", "pc")
    assert "</domain><x" not in document
    assert "&lt;/domain&gt;" in document
    assert "<on_crash>destroy</on_crash>" in document
    assert 'machine="pc"' in document


def test_guest_spec_validates() -> None:
    with pytest.raises(InvalidInput):
        GuestSpec("not-a-uuid", vcpus=1, memory_mib=64)
    with pytest.raises(InvalidInput):
        GuestSpec(str(uuid.uuid4()), vcpus=0, memory_mib=64)
    spec = GuestSpec(str(uuid.uuid4()).upper(), vcpus=1, memory_mib=64)
    assert spec.guest_id == spec.guest_id.lower()
