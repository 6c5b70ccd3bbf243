"""The behaviour every :class:`~engine.drivers.base.HypervisorDriver` owes.

:class:`DriverContract` is a mixin of pytest tests. A test class inherits it
and supplies these fixtures:

``driver``
    the driver under test, on a host where this test may define guests;
``pool_name``
    an active storage pool of that host with room for a few small volumes;
``define_foreign_guest``
    a function that defines a guest on the host that the engine did not
    create, and returns its name;
``unreachable_driver``
    a driver of the same kind whose host cannot be reached.

Guests and volumes a test creates are removed when it ends, so a host shared
by many tests (a real libvirtd) stays clean. Waits are bounded by deadlines;
nothing sleeps and then asserts.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import (
    DiskSpec,
    GuestSpec,
    LifecycleEvent,
    NicSpec,
    PowerState,
    VolumeInfo,
)
from engine.errors import (
    AlreadyExists,
    CapacityUnavailable,
    Conflict,
    DriverUnavailable,
    InvalidInput,
    NotFound,
)

MIB = 1024**2
GuestFactory = Callable[..., GuestSpec]
VolumeFactory = Callable[..., VolumeInfo]


class DriverContract:
    """Tests every driver must pass; see the module docstring for the fixtures."""

    #: Seconds a graceful stop waits before powering off. Guests without an
    #: OS (the QEMU test guest) never act on the request, so keep it short.
    graceful_stop_timeout: ClassVar[float] = 1.0
    #: Upper bound for an event to arrive.
    event_timeout: ClassVar[float] = 10.0

    # ------------------------------------------------------------ fixtures

    @pytest.fixture
    def new_guest(
        self, driver: HypervisorDriver, new_volume: VolumeFactory
    ) -> Iterator[GuestFactory]:
        """Define guests (64 MiB, 1 vCPU, no disk unless asked) and destroy them after.

        It depends on ``new_volume`` so that guests are destroyed before the
        volumes they use are deleted.
        """
        created: list[str] = []

        def factory(*, define: bool = True, **overrides: object) -> GuestSpec:
            fields: dict[str, object] = {
                "guest_id": str(uuid.uuid4()),
                "vcpus": 1,
                "memory_mib": 64,
            }
            fields.update(overrides)
            spec = GuestSpec(**fields)  # type: ignore[arg-type]
            created.append(spec.guest_id)
            if define:
                driver.define_guest(spec)
            return spec

        yield factory
        for guest_id in created:
            driver.destroy_guest(guest_id)

    @pytest.fixture
    def new_volume(self, driver: HypervisorDriver, pool_name: str) -> Iterator[VolumeFactory]:
        """Create volumes in the test pool and delete them when the test ends."""
        created: list[str] = []

        def factory(capacity_bytes: int = 4 * MIB, name: str | None = None) -> VolumeInfo:
            name = name or f"vol-{uuid.uuid4().hex[:12]}"
            created.append(name)
            return driver.create_volume(pool_name, name, capacity_bytes)

        yield factory
        for name in created:
            driver.delete_volume(pool_name, name)

    @pytest.fixture
    def running_guest(self, driver: HypervisorDriver, new_guest: GuestFactory) -> GuestSpec:
        spec = new_guest()
        driver.start(spec.guest_id)
        return spec

    # ------------------------------------------------------------ host

    def test_meets_the_protocol(self, driver: HypervisorDriver) -> None:
        assert isinstance(driver, HypervisorDriver)

    def test_host_info_describes_the_host(self, driver: HypervisorDriver) -> None:
        info = driver.host_info()
        assert info.hostname
        assert info.hypervisor_type in {"test", "qemu", "kvm"}
        assert info.arch == "x86_64"
        assert info.cpu_cores >= 1
        assert info.cpu_mhz >= 1
        assert info.memory_mib >= 64

    def test_list_pools_reports_sizes(self, driver: HypervisorDriver, pool_name: str) -> None:
        pools = {pool.name: pool for pool in driver.list_pools()}
        pool = pools[pool_name]
        assert pool.capacity_bytes > 0
        assert 0 <= pool.available_bytes <= pool.capacity_bytes

    def test_unreachable_host_is_driver_unavailable(
        self, unreachable_driver: HypervisorDriver
    ) -> None:
        with pytest.raises(DriverUnavailable):
            unreachable_driver.host_info()
        with pytest.raises(DriverUnavailable):
            unreachable_driver.list_guests()

    # ------------------------------------------------------------ definition

    def test_defined_guest_is_shut_off(self, driver: HypervisorDriver, new_guest: GuestFactory):
        spec = new_guest()
        assert driver.guest_state(spec.guest_id) is PowerState.SHUTOFF
        assert driver.list_guests()[spec.guest_id] is PowerState.SHUTOFF

    def test_unknown_guest_is_absent(self, driver: HypervisorDriver) -> None:
        assert driver.guest_state(str(uuid.uuid4())) is PowerState.ABSENT
        assert driver.guest_state("not-a-uuid") is PowerState.ABSENT

    def test_define_is_idempotent(self, driver: HypervisorDriver, new_guest: GuestFactory):
        spec = new_guest()
        driver.define_guest(spec)
        bigger = GuestSpec(spec.guest_id, vcpus=2, memory_mib=96)
        driver.define_guest(bigger)
        assert driver.guest_state(spec.guest_id) is PowerState.SHUTOFF
        assert list(driver.list_guests()).count(spec.guest_id) == 1

    def test_ensure_defined_defines_once(self, driver: HypervisorDriver, new_guest: GuestFactory):
        spec = new_guest(define=False)
        assert driver.ensure_defined(spec) is True
        assert driver.ensure_defined(spec) is False
        assert driver.guest_state(spec.guest_id) is PowerState.SHUTOFF

    def test_define_with_nic_and_metadata(
        self, driver: HypervisorDriver, new_guest: GuestFactory
    ) -> None:
        spec = new_guest(
            nics=(NicSpec("52:54:00:12:34:56"),),
            user_data="#cloud-config\n",
            ssh_keys=("ssh-ed25519 AAAA test",),
        )
        driver.start(spec.guest_id)
        assert driver.guest_state(spec.guest_id) is PowerState.RUNNING

    def test_guest_owner_tells_the_engines_guests_from_others(
        self, driver: HypervisorDriver, new_guest: GuestFactory
    ) -> None:
        owned = new_guest(owner="compute-1")
        with_data = new_guest(owner="compute-2", user_data="#cloud-config\n", ssh_keys=("k",))
        bare = new_guest()
        assert driver.guest_owner(owned.guest_id) == "compute-1"
        assert driver.guest_owner(with_data.guest_id) == "compute-2"
        assert driver.guest_owner(bare.guest_id) == ""  # no owner recorded
        assert driver.guest_owner(str(uuid.uuid4())) is None  # no such guest
        driver.start(owned.guest_id)
        assert driver.guest_owner(owned.guest_id) == "compute-1"  # running, too

    def test_list_guests_only_reports_engine_guests(
        self,
        driver: HypervisorDriver,
        new_guest: GuestFactory,
        define_foreign_guest: Callable[[], str],
    ) -> None:
        spec = new_guest()
        foreign = define_foreign_guest()
        guests = driver.list_guests()
        assert spec.guest_id in guests
        assert all(foreign not in key for key in guests)
        for guest_id in guests:
            uuid.UUID(guest_id)

    def test_guests_stopped_or_never_started_did_not_crash(
        self,
        driver: HypervisorDriver,
        new_guest: GuestFactory,
        define_foreign_guest: Callable[[], str],
    ) -> None:
        never_started = new_guest()
        stopped = new_guest()
        driver.start(stopped.guest_id)
        driver.stop(stopped.guest_id, force=True)
        running = new_guest()
        driver.start(running.guest_id)
        define_foreign_guest()
        crashed = driver.crashed_guests()
        assert {never_started.guest_id, stopped.guest_id, running.guest_id}.isdisjoint(crashed)
        for guest_id in crashed:  # only engine guests, by id
            uuid.UUID(guest_id)

    # ------------------------------------------------------------ power

    def test_start_runs_and_start_again_conflicts(
        self, driver: HypervisorDriver, new_guest: GuestFactory
    ) -> None:
        spec = new_guest()
        driver.start(spec.guest_id)
        assert driver.guest_state(spec.guest_id) is PowerState.RUNNING
        with pytest.raises(Conflict):
            driver.start(spec.guest_id)

    def test_pause_and_resume(self, driver: HypervisorDriver, running_guest: GuestSpec) -> None:
        driver.pause(running_guest.guest_id)
        assert driver.guest_state(running_guest.guest_id) is PowerState.PAUSED
        with pytest.raises(Conflict):
            driver.pause(running_guest.guest_id)
        with pytest.raises(Conflict):
            driver.start(running_guest.guest_id)
        driver.resume(running_guest.guest_id)
        assert driver.guest_state(running_guest.guest_id) is PowerState.RUNNING
        with pytest.raises(Conflict):
            driver.resume(running_guest.guest_id)

    def test_suspend_keeps_memory_and_start_restores(
        self, driver: HypervisorDriver, running_guest: GuestSpec
    ) -> None:
        driver.suspend(running_guest.guest_id)
        assert driver.guest_state(running_guest.guest_id) is PowerState.SUSPENDED
        assert driver.list_guests()[running_guest.guest_id] is PowerState.SUSPENDED
        with pytest.raises(Conflict):
            driver.suspend(running_guest.guest_id)
        driver.start(running_guest.guest_id)
        assert driver.guest_state(running_guest.guest_id) is PowerState.RUNNING

    def test_a_paused_or_suspended_guest_takes_and_gives_disks(
        self, driver: HypervisorDriver, running_guest: GuestSpec, new_volume: VolumeFactory
    ) -> None:
        # libvirt attaches to a paused guest and to a saved one's definition;
        # the restored guest runs with what its definition says (issue 17).
        guest = running_guest.guest_id
        paused, saved = DiskSpec(new_volume().path, "sdb", bus="scsi"), None
        driver.pause(guest)
        driver.attach_volume(guest, paused)
        assert driver.guest_state(guest) is PowerState.PAUSED
        driver.suspend(guest)
        saved = DiskSpec(new_volume().path, "sdc", bus="scsi")
        driver.attach_volume(guest, saved)
        assert driver.detach_volume(guest, "sdb") is True
        assert driver.guest_state(guest) is PowerState.SUSPENDED
        driver.start(guest)
        assert driver.guest_state(guest) is PowerState.RUNNING
        assert saved in driver.guest_disks(guest)
        assert paused not in driver.guest_disks(guest)
        self.check_running_disks(driver, guest, {"sdc"}, absent={"sdb"})

    def check_running_disks(
        self, driver: HypervisorDriver, guest_id: str, present: set[str], absent: set[str]
    ) -> None:
        """On drivers that hot-plug: the running guest has ``present``, not ``absent``."""

    def test_forced_stop_is_idempotent(
        self, driver: HypervisorDriver, running_guest: GuestSpec
    ) -> None:
        assert driver.stop(running_guest.guest_id, force=True) is PowerState.SHUTOFF
        assert driver.stop(running_guest.guest_id, force=True) is PowerState.SHUTOFF

    def test_forced_stop_discards_a_suspended_guest(
        self, driver: HypervisorDriver, running_guest: GuestSpec
    ) -> None:
        driver.suspend(running_guest.guest_id)
        assert driver.stop(running_guest.guest_id, force=True) is PowerState.SHUTOFF

    def test_graceful_stop_ends_shut_off(
        self, driver: HypervisorDriver, running_guest: GuestSpec
    ) -> None:
        state = driver.stop(running_guest.guest_id, timeout=self.graceful_stop_timeout)
        assert state is PowerState.SHUTOFF
        with pytest.raises(Conflict):
            driver.stop(running_guest.guest_id)

    def test_graceful_stop_without_waiting(
        self, driver: HypervisorDriver, running_guest: GuestSpec
    ) -> None:
        state = driver.stop(running_guest.guest_id, timeout=None)
        assert state in {
            PowerState.RUNNING,
            PowerState.SHUTDOWN_IN_PROGRESS,
            PowerState.SHUTOFF,
        }

    def test_restart_needs_a_running_guest(
        self, driver: HypervisorDriver, running_guest: GuestSpec
    ) -> None:
        driver.restart(running_guest.guest_id)
        assert driver.guest_state(running_guest.guest_id) is PowerState.RUNNING
        driver.stop(running_guest.guest_id, force=True)
        with pytest.raises(Conflict):
            driver.restart(running_guest.guest_id)

    def test_destroy_is_idempotent(self, driver: HypervisorDriver, running_guest: GuestSpec):
        assert driver.destroy_guest(running_guest.guest_id) is True
        assert driver.guest_state(running_guest.guest_id) is PowerState.ABSENT
        assert driver.destroy_guest(running_guest.guest_id) is False
        assert running_guest.guest_id not in driver.list_guests()

    def test_destroy_removes_saved_memory(
        self, driver: HypervisorDriver, running_guest: GuestSpec
    ) -> None:
        driver.suspend(running_guest.guest_id)
        assert driver.destroy_guest(running_guest.guest_id) is True
        driver.define_guest(running_guest)
        assert driver.guest_state(running_guest.guest_id) is PowerState.SHUTOFF

    @pytest.mark.parametrize("action", ["start", "stop", "restart", "pause", "resume", "suspend"])
    def test_unknown_guest_is_not_found(self, driver: HypervisorDriver, action: str) -> None:
        with pytest.raises(NotFound):
            getattr(driver, action)(str(uuid.uuid4()))

    # ------------------------------------------------------------ volumes

    def test_volume_create_list_delete(
        self, driver: HypervisorDriver, pool_name: str, new_volume: VolumeFactory
    ) -> None:
        volume = new_volume(4 * MIB)
        assert volume.pool == pool_name
        assert volume.capacity_bytes == 4 * MIB
        assert volume.path.startswith("/")
        assert volume in driver.list_volumes(pool_name)
        with pytest.raises(AlreadyExists):
            driver.create_volume(pool_name, volume.name, MIB)
        assert driver.delete_volume(pool_name, volume.name) is True
        assert driver.delete_volume(pool_name, volume.name) is False
        assert volume.name not in {v.name for v in driver.list_volumes(pool_name)}

    def test_volume_input_is_checked(
        self, driver: HypervisorDriver, pool_name: str, new_volume: VolumeFactory
    ) -> None:
        for bad_name in ("", "../escape", ".hidden", "a/b"):
            with pytest.raises(InvalidInput):
                driver.create_volume(pool_name, bad_name, MIB)
        with pytest.raises(InvalidInput):
            driver.create_volume(pool_name, "zero", 0)
        pool = {p.name: p for p in driver.list_pools()}[pool_name]
        with pytest.raises(CapacityUnavailable):
            driver.create_volume(pool_name, "huge", pool.available_bytes + 1)
        with pytest.raises(NotFound):
            driver.create_volume("no-such-pool", "v", MIB)
        with pytest.raises(NotFound):
            driver.resize_volume(pool_name, "no-such-volume", MIB)

    def test_volume_grows_but_never_shrinks(
        self, driver: HypervisorDriver, pool_name: str, new_volume: VolumeFactory
    ) -> None:
        volume = new_volume(4 * MIB)
        grown = driver.resize_volume(pool_name, volume.name, 8 * MIB)
        assert grown.capacity_bytes == 8 * MIB
        assert grown.path == volume.path
        with pytest.raises(InvalidInput):
            driver.resize_volume(pool_name, volume.name, 2 * MIB)

    def test_clone_copies_a_volume(
        self, driver: HypervisorDriver, pool_name: str, new_volume: VolumeFactory
    ) -> None:
        source = new_volume(6 * MIB)
        name = f"copy-{uuid.uuid4().hex[:12]}"
        copy = driver.clone_volume(source.path, pool_name, name)
        try:
            assert (copy.name, copy.pool, copy.capacity_bytes) == (name, pool_name, 6 * MIB)
            assert copy.path != source.path
            assert {copy, source} <= set(driver.list_volumes(pool_name))
            with pytest.raises(AlreadyExists):
                driver.clone_volume(source.path, pool_name, name)
            with pytest.raises(InvalidInput):
                driver.clone_volume("/nowhere/at/all.img", pool_name, f"{name}-2")
        finally:
            driver.delete_volume(pool_name, name)

    def test_attach_and_detach_on_a_stopped_guest(
        self, driver: HypervisorDriver, new_guest: GuestFactory, new_volume: VolumeFactory
    ) -> None:
        spec = new_guest()
        disk = DiskSpec(new_volume().path, "vdb")
        driver.attach_volume(spec.guest_id, disk)
        assert driver.guest_disks(spec.guest_id) == (disk,)
        with pytest.raises(Conflict):
            driver.attach_volume(spec.guest_id, DiskSpec(new_volume().path, "vdb"))
        assert driver.detach_volume(spec.guest_id, "vdb") is True
        assert driver.guest_disks(spec.guest_id) == ()
        with pytest.raises(NotFound):
            driver.detach_volume(spec.guest_id, "vdb")

    def test_attach_and_detach_on_a_running_guest(
        self,
        driver: HypervisorDriver,
        running_guest: GuestSpec,
        new_volume: VolumeFactory,
        pool_name: str,
    ) -> None:
        # SCSI: its unplug needs no help from the guest, which has no OS.
        volume = new_volume()
        disk = DiskSpec(volume.path, "sdb", bus="scsi")
        driver.attach_volume(running_guest.guest_id, disk)
        assert disk in driver.guest_disks(running_guest.guest_id)
        with pytest.raises(Conflict):
            driver.delete_volume(pool_name, volume.name)
        assert driver.detach_volume(running_guest.guest_id, "sdb") is True
        assert disk not in driver.guest_disks(running_guest.guest_id)
        assert driver.guest_state(running_guest.guest_id) is PowerState.RUNNING

    def test_capture_copies_the_first_disk(
        self,
        driver: HypervisorDriver,
        pool_name: str,
        new_guest: GuestFactory,
        new_volume: VolumeFactory,
    ) -> None:
        root = new_volume(6 * MIB)
        spec = new_guest(boot_image_path=root.path)
        assert driver.guest_disks(spec.guest_id)[0] == DiskSpec(root.path, "vda")
        image_name = f"img-{uuid.uuid4().hex[:12]}"
        image = driver.capture(spec.guest_id, pool_name, image_name)
        try:
            assert image.name == image_name
            assert image.pool == pool_name
            assert image.capacity_bytes == root.capacity_bytes
            assert image in driver.list_volumes(pool_name)
            with pytest.raises(AlreadyExists):
                driver.capture(spec.guest_id, pool_name, image_name)
        finally:
            driver.delete_volume(pool_name, image_name)

    def test_capture_refuses_a_running_or_diskless_guest(
        self,
        driver: HypervisorDriver,
        pool_name: str,
        new_guest: GuestFactory,
        new_volume: VolumeFactory,
    ) -> None:
        diskless = new_guest()
        with pytest.raises(InvalidInput, match="no disk"):
            driver.capture(diskless.guest_id, pool_name, "never")
        running = new_guest(boot_image_path=new_volume().path)
        driver.start(running.guest_id)
        with pytest.raises(Conflict):
            driver.capture(running.guest_id, pool_name, "never")

    # ------------------------------------------------------------ events

    def _wait_for(
        self,
        events: queue.Queue[LifecycleEvent],
        guest_id: str,
        state: PowerState,
    ) -> LifecycleEvent:
        deadline = time.monotonic() + self.event_timeout
        seen = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                break
            seen.append(event)
            if event.guest_id == guest_id and event.power_state is state:
                return event
        pytest.fail(f"no {state} event for {guest_id} within {self.event_timeout}s: {seen}")

    def test_lifecycle_events_reach_subscribers(
        self, driver: HypervisorDriver, new_guest: GuestFactory
    ) -> None:
        events: queue.Queue[LifecycleEvent] = queue.Queue()
        cancel = driver.subscribe(events.put)
        try:
            spec = new_guest()
            driver.start(spec.guest_id)
            started = self._wait_for(events, spec.guest_id, PowerState.RUNNING)
            assert started.host_uri == driver.uri
            assert started.reason.startswith(("started:", "resumed:"))
            driver.pause(spec.guest_id)
            self._wait_for(events, spec.guest_id, PowerState.PAUSED)
            driver.stop(spec.guest_id, force=True)
            stopped = self._wait_for(events, spec.guest_id, PowerState.SHUTOFF)
            assert stopped.reason == "stopped:destroyed"
        finally:
            cancel()

    def test_cancelled_subscription_gets_no_more_events(
        self, driver: HypervisorDriver, new_guest: GuestFactory
    ) -> None:
        cancelled: queue.Queue[LifecycleEvent] = queue.Queue()
        witness: queue.Queue[LifecycleEvent] = queue.Queue()
        driver.subscribe(cancelled.put)()
        cancel_witness = driver.subscribe(witness.put)
        try:
            spec = new_guest()
            driver.start(spec.guest_id)
            # Both are called in order for the same event: once the witness
            # has it, the cancelled subscriber would have had it too.
            self._wait_for(witness, spec.guest_id, PowerState.RUNNING)
            assert cancelled.empty()
        finally:
            cancel_witness()

    def test_cancel_waits_for_a_delivery_under_way(
        self, driver: HypervisorDriver, new_guest: GuestFactory
    ) -> None:
        # The race CI once hit: an event whose delivery had begun before a
        # cancel reached the cancelled subscriber after the cancel returned.
        entered, release = threading.Event(), threading.Event()
        late: queue.Queue[LifecycleEvent] = queue.Queue()
        witness: queue.Queue[LifecycleEvent] = queue.Queue()

        def slow(event: LifecycleEvent) -> None:
            entered.set()
            release.wait(self.event_timeout)

        cancel_slow = driver.subscribe(slow)
        cancel_late = driver.subscribe(late.put)
        cancel_witness = driver.subscribe(witness.put)
        try:
            spec = new_guest()
            driver.start(spec.guest_id)
            assert entered.wait(self.event_timeout)
            cancelling = threading.Thread(target=cancel_late)
            cancelling.start()
            cancelling.join(0.2)
            # The delivery is held inside ``slow``: the cancel must wait for it.
            assert cancelling.is_alive()
            release.set()
            cancelling.join(self.event_timeout)
            assert not cancelling.is_alive()
            self._wait_for(witness, spec.guest_id, PowerState.RUNNING)
            while not late.empty():
                late.get_nowait()
            driver.stop(spec.guest_id, force=True)
            self._wait_for(witness, spec.guest_id, PowerState.SHUTOFF)
            assert late.empty()
        finally:
            release.set()
            cancel_slow()
            cancel_late()
            cancel_witness()

    def test_a_subscriber_may_cancel_itself_from_its_callback(
        self, driver: HypervisorDriver, new_guest: GuestFactory
    ) -> None:
        seen: queue.Queue[LifecycleEvent] = queue.Queue()
        witness: queue.Queue[LifecycleEvent] = queue.Queue()
        cancels: list[Callable[[], None]] = []

        def once(event: LifecycleEvent) -> None:
            seen.put(event)
            cancels[0]()

        cancels.append(driver.subscribe(once))
        cancel_witness = driver.subscribe(witness.put)
        try:
            spec = new_guest()
            driver.start(spec.guest_id)
            self._wait_for(witness, spec.guest_id, PowerState.RUNNING)
            driver.stop(spec.guest_id, force=True)
            self._wait_for(witness, spec.guest_id, PowerState.SHUTOFF)
            assert seen.qsize() == 1
        finally:
            cancel_witness()
