"""The libvirt implementation of :class:`~engine.drivers.base.HypervisorDriver`.

One :class:`LibvirtDriver` manages one host, named by its libvirt URI:
``test:///path/node.xml`` for a simulated host, ``qemu:///system`` or
``qemu+ssh://host/system`` for a real one. Guests are *persistent* domains
(defined, then started) so that they survive a libvirtd or host restart and
the engine can reconcile its records with what the host reports.

Guest-state checks happen here, before libvirt is called: an action the state
forbids is an :class:`~engine.errors.InvalidTransition` on every hypervisor
alike (libvirt's test driver and QEMU word and classify such errors apart).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import libvirt

from engine.drivers.base import HypervisorDriver
from engine.drivers.libvirt import migration, network, power, storage
from engine.drivers.libvirt.client import ConnectionPool, default_pool, uri_driver
from engine.drivers.libvirt.devices import attach_disk, detach_disk
from engine.drivers.libvirt.devices import start as start_guest
from engine.drivers.libvirt.mapping import translating
from engine.drivers.libvirt.testhost import declared_hostname
from engine.drivers.libvirt.xmlbuild import (
    disk_elements,
    disk_spec_of,
    domain_name,
    domain_xml,
    hvm_domain_types,
    owner_of,
    parse,
)
from engine.drivers.specs import (
    DiskSpec,
    GuestSpec,
    HostInfo,
    LifecycleCallback,
    NicSpec,
    PoolInfo,
    PowerState,
    VolumeInfo,
    normalize_guest_id,
)
from engine.errors import DriverError, InvalidInput, InvalidTransition, NotFound

#: What a reading of each listed domain returns (see LibvirtDriver._engine_guests).
T = TypeVar("T")


class LibvirtDriver:
    """Drive one libvirt host.

    :param uri: the host's libvirt URI.
    :param pool: the connection pool to use; the process-wide one by default.
        Drivers of the same URI must share a pool (a ``test:///`` URI opened
        twice is two different hosts).
    :param domain_type: force the guests' domain type; by default ``test``
        for the test driver, else ``kvm`` when the host's capabilities offer
        it for x86_64 and ``qemu`` (TCG emulation) otherwise.
    """

    #: Let libvirt move guests live whose disks it does not know to be on shared storage
    #: (VIR_MIGRATE_UNSAFE); only for a "shared" pool that is a plain local directory (tests).
    unsafe_migration = False

    def __init__(
        self, uri: str, pool: ConnectionPool | None = None, *, domain_type: str | None = None
    ) -> None:
        self._uri = uri
        self._pool = pool if pool is not None else default_pool()
        self._is_test = uri_driver(uri) == "test"
        self._domain_type = "test" if self._is_test and domain_type is None else domain_type
        self._lock = threading.Lock()
        self._cancels: list[Callable[[], None]] = []

    @property
    def uri(self) -> str:
        """The URI of the host this driver manages."""
        return self._uri

    # ------------------------------------------------------------ helpers

    def _conn(self) -> libvirt.virConnect:
        return self._pool.get(self._uri)

    def domain_type(self) -> str:
        """Return the domain type this driver gives guests (see the class doc)."""
        if self._domain_type is None:
            with translating("read the host's capabilities"):
                types = hvm_domain_types(self._conn().getCapabilities(), "x86_64")
            if "kvm" in types:
                self._domain_type = "kvm"
            elif "qemu" in types:
                self._domain_type = "qemu"
            else:
                raise DriverError("the host cannot run x86_64 guests")
        return self._domain_type

    def _lookup(self, guest_id: str) -> libvirt.virDomain:
        try:
            name = domain_name(normalize_guest_id(guest_id))
        except InvalidInput:
            raise NotFound("guest not found on the host", subject="guest") from None
        with translating("find the guest"):
            return self._conn().lookupByName(name)

    def _define(self, document: str, action: str) -> None:
        with translating(action):
            self._conn().defineXML(document)

    # ------------------------------------------------------------ host

    def host_info(self) -> HostInfo:
        """Return the host's identity and size."""
        conn = self._conn()
        with translating("read the host's information"):
            model, memory_mib, cpus, mhz, *_topology = conn.getInfo()
            if self._is_test:
                # The test driver reports the machine's own name for every host.
                hostname = declared_hostname(self._uri) or self._uri
            else:
                hostname = conn.getHostname()
        return HostInfo(hostname, self.domain_type(), model, cpus, mhz, memory_mib)

    def list_guests(self) -> dict[str, PowerState]:
        """Return the power state of every engine guest on the host, by guest id."""
        return dict(power.engine_guests(self._conn(), 0, power.domain_state))

    def crashed_guests(self) -> frozenset[str]:
        """Return the ids of the engine guests that are shut off because they crashed."""
        inactive = power.engine_guests(
            self._conn(), libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE, power.crashed
        )
        return frozenset(guest_id for guest_id, is_crashed in inactive if is_crashed)

    # ------------------------------------------------------------ guests

    def guest_state(self, guest_id: str) -> PowerState:
        """Return a guest's power state; :attr:`PowerState.ABSENT` if undefined."""
        try:
            return power.domain_state(self._lookup(guest_id))
        except NotFound:
            return PowerState.ABSENT

    def guest_disks(self, guest_id: str) -> tuple[DiskSpec, ...]:
        """Return the disks of a guest's persistent definition, in device order."""
        dom = self._lookup(guest_id)
        with translating("read the guest's definition"):
            root = parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        disks = (disk_spec_of(element) for element in disk_elements(root))
        return tuple(disk for disk in disks if disk is not None)

    def guest_owner(self, guest_id: str) -> str | None:
        """The owner a guest's definition records; ``""`` if none, ``None`` if undefined."""
        try:
            dom = self._lookup(guest_id)
            with translating("read the guest's definition"):
                return owner_of(parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)))
        except NotFound:
            return None

    def define_guest(self, spec: GuestSpec) -> None:
        """Define the guest, replacing an existing definition of the same id."""
        self._define(domain_xml(spec, self.domain_type(), self._machine()), "define the guest")

    def _machine(self) -> str | None:
        return None if self.domain_type() == "test" else "pc"

    def ensure_defined(self, spec: GuestSpec) -> bool:
        """Define the guest unless it exists; return ``True`` if it was defined now."""
        if self.guest_state(spec.guest_id) is not PowerState.ABSENT:
            return False
        self.define_guest(spec)
        return True

    def start(self, guest_id: str) -> None:
        """Boot a stopped guest, or restore a suspended one (:func:`.devices.start`)."""
        start_guest(self._lookup(guest_id), hotplug=not self._is_test)

    def stop(self, guest_id: str, force: bool = False, timeout: float | None = 60.0) -> PowerState:
        """Stop a guest: ACPI shutdown, or power off when ``force``.

        See :func:`engine.drivers.libvirt.power.stop` for ``timeout`` and the result.
        """
        return power.stop(self._lookup(guest_id), force, timeout)

    def restart(self, guest_id: str) -> None:
        """Ask a running guest to reboot."""
        power.restart(self._lookup(guest_id))

    def pause(self, guest_id: str) -> None:
        """Freeze a running guest's vCPUs, keeping its memory in place."""
        power.pause(self._lookup(guest_id))

    def resume(self, guest_id: str) -> None:
        """Let a paused guest run again."""
        power.resume(self._lookup(guest_id))

    def suspend(self, guest_id: str) -> None:
        """Save a running or paused guest's memory to disk and stop it."""
        power.suspend(self._lookup(guest_id))

    def destroy_guest(self, guest_id: str) -> bool:
        """Power off and undefine a guest, with its saved memory and snapshots.

        :returns: ``False`` if the guest was not defined (nothing to do).
        """
        try:
            dom = self._lookup(guest_id)
        except NotFound:
            return False
        flags = (
            libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        )
        if not self._is_test:
            # The test driver refuses this flag; QEMU guests booted with UEFI
            # cannot be undefined without it.
            flags |= libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        try:
            if power.domain_state(dom) in power.ACTIVE:
                power.power_off(dom)
            with translating("destroy the guest"):
                if dom.isPersistent():
                    dom.undefineFlags(flags)
        except NotFound:
            pass  # removed meanwhile (another worker, an operator): the goal is met
        return True

    def can_migrate_live(self, destination_uri: str) -> bool:
        """Whether running guests can move live to ``destination_uri`` (QEMU to QEMU)."""
        return migration.can_migrate_live(self._uri, destination_uri)

    def migrate_live(self, guest_id: str, destination_uri: str) -> None:
        """Move a running or paused guest live to another host (:mod:`.migration`)."""
        dom, unsafe = self._lookup(guest_id), self.unsafe_migration
        migration.migrate_live(dom, self._pool.get(destination_uri), unsafe)

    # ------------------------------------------------------------ storage

    def list_pools(self) -> list[PoolInfo]:
        """Return the active storage pools of the host, by name."""
        return storage.list_pools(self._conn())

    def list_volumes(self, pool: str) -> list[VolumeInfo]:
        """Return the volumes of a pool, by name."""
        return storage.list_volumes(self._conn(), pool)

    def create_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Create an empty (sparse, raw) volume.

        :raises AlreadyExists: when the name is taken in the pool.
        :raises CapacityUnavailable: when the pool has less space available.
        """
        return storage.create_volume(self._conn(), pool, name, capacity_bytes)

    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Grow a volume; shrinking is refused (:class:`InvalidInput`), it would cut data."""
        return storage.resize_volume(
            self._conn(), pool, name, capacity_bytes, recreate_if_unsupported=self._is_test
        )

    def delete_volume(self, pool: str, name: str) -> bool:
        """Delete a volume; ``False`` if it did not exist.

        :raises InvalidTransition: while a guest on the host uses it.
        """
        return storage.delete_volume(self._conn(), pool, name)

    def clone_volume(self, source_path: str, pool: str, name: str) -> VolumeInfo:
        """Copy the volume at ``source_path`` into a new volume ``name`` of ``pool``.

        :raises InvalidInput: ``source_path`` is not a volume of a pool of the host.
        :raises AlreadyExists: the name is taken in the pool.
        :raises CapacityUnavailable: the pool lacks the space.
        """
        return storage.clone_volume(self._conn(), source_path, pool, name)

    def attach_volume(self, guest_id: str, disk: DiskSpec) -> None:
        """Attach a disk to the guest's definition, and to the running guest if it runs.

        A paused guest takes it live; a saved one when restored (:meth:`start`).
        On libvirt's test driver, which cannot hot-plug, a running guest gets
        the disk in its persistent definition only.

        :raises InvalidTransition: when the device name is taken.
        """
        dom = self._lookup(guest_id)
        if any(d.device == disk.device for d in self.guest_disks(guest_id)):
            raise InvalidTransition(
                "the guest already has a disk with this device name",
                subject="device",
                reason="taken",
                other="guest",
            )
        live = power.domain_state(dom) in power.ACTIVE
        attach_disk(self._conn(), dom, disk, live=live, rewrite_if_unsupported=self._is_test)

    def detach_volume(self, guest_id: str, device: str) -> bool:
        """Detach a disk by device name.

        :returns: ``False`` when the running guest has not released the disk
            yet (virtio unplug waits for the guest OS); the persistent
            definition no longer has it either way.
        :raises NotFound: when the guest has no such disk.
        """
        dom = self._lookup(guest_id)
        live = power.domain_state(dom) in power.ACTIVE
        return detach_disk(
            self._conn(), dom, device, live=live, rewrite_if_unsupported=self._is_test
        )

    def capture(self, guest_id: str, pool: str, image_name: str) -> VolumeInfo:
        """Copy a stopped guest's first disk into a new volume of ``pool``.

        :raises InvalidTransition: while the guest is running or paused.
        :raises InvalidInput: when the guest has no disk, or its first disk is
            not a volume of a storage pool on the host.
        """
        storage.check_volume_name(image_name)
        dom = self._lookup(guest_id)
        power.require(power.domain_state(dom), set(PowerState) - power.ACTIVE, "capture the guest")
        disks = self.guest_disks(guest_id)
        if not disks:
            raise InvalidInput("guest has no disk to capture", subject="guest", reason="no_disk")
        return storage.clone_volume(self._conn(), disks[0].path, pool, image_name)

    # ------------------------------------------------------------ networks

    def ensure_network(self, name: str, active: bool = True) -> bool:
        """Define the isolated engine network ``name`` unless it exists; (de)activate it.

        See :mod:`engine.drivers.libvirt.network` for what the network is on the host.

        :returns: ``True`` if it was defined now.
        """
        return network.ensure_network(self._conn(), name, active)

    def delete_network(self, name: str) -> bool:
        """Stop and undefine an engine network; ``False`` if the host had none."""
        return network.delete_network(self._conn(), name)

    def list_networks(self) -> dict[str, bool]:
        """Whether each engine network of the host is active, by name."""
        return network.list_networks(self._conn())

    def guest_nics(self, guest_id: str) -> tuple[NicSpec, ...]:
        """Return the network interfaces of a guest's persistent definition."""
        dom = self._lookup(guest_id)
        with translating("read the guest's definition"):
            root = parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        return network.nic_specs(root)

    def attach_nic(self, guest_id: str, nic: NicSpec) -> None:
        """Attach an interface to the guest's definition, and to the guest if it runs.

        On libvirt's test driver, which cannot hot-plug, a running guest gets
        the interface in its persistent definition only.

        :raises InvalidTransition: when the guest already has this MAC.
        """
        dom = self._lookup(guest_id)
        if any(n.mac == nic.mac for n in self.guest_nics(guest_id)):
            raise InvalidTransition(
                "the guest already has an interface with this MAC address",
                subject="mac",
                reason="taken",
                other="guest",
            )
        live = power.domain_state(dom) in power.ACTIVE
        network.attach_nic(self._conn(), dom, nic, live=live, rewrite_if_unsupported=self._is_test)

    def detach_nic(self, guest_id: str, mac: str) -> bool:
        """Detach the interface with MAC ``mac``; ``False`` if the guest had none."""
        dom = self._lookup(guest_id)
        live = power.domain_state(dom) in power.ACTIVE
        return network.detach_nic(
            self._conn(), dom, mac, live=live, rewrite_if_unsupported=self._is_test
        )

    # ------------------------------------------------------------ events

    def subscribe(self, callback: LifecycleCallback) -> Callable[[], None]:
        """Deliver the host's guest lifecycle events to ``callback``.

        The callback runs on libvirt's event thread (it must not block).
        :returns: a function that cancels the subscription.
        """
        cancel_hub = self._pool.subscribe(self._uri, callback)

        def cancel() -> None:
            cancel_hub()
            with self._lock:
                if cancel in self._cancels:
                    self._cancels.remove(cancel)

        with self._lock:
            self._cancels.append(cancel)
        return cancel

    def close(self) -> None:
        """Cancel this driver's subscriptions. The shared connection stays open."""
        with self._lock:
            cancels = list(self._cancels)
        for cancel in cancels:
            cancel()


if TYPE_CHECKING:
    # mypy proves here that LibvirtDriver implements the whole contract.
    _CONFORMS: type[HypervisorDriver] = LibvirtDriver
