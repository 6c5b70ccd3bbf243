"""The values the engine and its hypervisor drivers exchange.

Plain frozen dataclasses, so that services, jobs and tests can build, compare
and log them without touching a hypervisor library; this module imports
nothing outside the standard library and :mod:`engine.errors`. The contract
that uses them is :class:`engine.drivers.base.HypervisorDriver`.

A *guest* is identified by its engine UUID (``guest_id``).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.errors import InvalidInput

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# Device names the libvirt family of hypervisors accept for disks.
_DEVICE_RE = re.compile(r"^(vd|sd|hd|xvd)[a-z]{1,2}$")
DISK_BUSES = frozenset({"virtio", "scsi", "sata", "ide", "usb"})
DISK_FORMATS = frozenset({"raw", "qcow2"})
#: Device name of the boot disk built from :attr:`GuestSpec.boot_image_path`.
BOOT_DEVICE = "vda"


class PowerState(enum.StrEnum):
    """Power state of a guest as the hypervisor reports it."""

    RUNNING = "running"
    PAUSED = "paused"
    #: Defined and not running, without saved memory.
    SHUTOFF = "shutoff"
    #: Not running, with a managed-save image (memory state) on disk.
    SUSPENDED = "suspended"
    CRASHED = "crashed"
    BLOCKED = "blocked"
    SHUTDOWN_IN_PROGRESS = "shutdown_in_progress"
    #: Suspended by the guest itself (ACPI S3), memory kept by the hypervisor.
    PMSUSPENDED = "pmsuspended"
    NOSTATE = "nostate"
    #: Not defined on the host at all.
    ABSENT = "absent"


def normalize_guest_id(guest_id: str) -> str:
    """Return ``guest_id`` in canonical lower-case UUID form.

    :param guest_id: an engine UUID, in any form :class:`uuid.UUID` accepts.
    :raises InvalidInput: when it is not a UUID.
    """
    try:
        return str(uuid.UUID(guest_id))
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput("guest id must be a UUID", field="guest_id") from None


@dataclass(frozen=True)
class HostInfo:
    """Size and identity of a hypervisor host.

    :param hostname: the host's name; test hosts report the name their node
        file declares, or their URI.
    :param hypervisor_type: the domain type guests get: ``test``, ``qemu``
        (TCG emulation) or ``kvm``.
    :param arch: CPU architecture, e.g. ``x86_64``.
    :param cpu_cores: logical CPUs.
    :param cpu_mhz: nominal CPU frequency.
    :param memory_mib: physical memory.
    """

    hostname: str
    hypervisor_type: str
    arch: str
    cpu_cores: int
    cpu_mhz: int
    memory_mib: int


@dataclass(frozen=True)
class DiskSpec:
    """A disk as seen by a guest.

    :param path: absolute path of the image (a storage volume's path).
    :param device: the guest device name, e.g. ``vdb`` or ``sdb``.
    :param bus: ``virtio``, ``scsi``, ``sata``, ``ide`` or ``usb``. Only
        ``scsi`` and ``usb`` disks detach from a running guest without the
        guest's help; virtio needs an OS that acknowledges the unplug.
    :param read_only: attach read-only.
    :param format: image format; stated explicitly so the hypervisor never
        probes it (a raw image holding a qcow2 header must stay raw).
    :raises InvalidInput: for a relative path, a bad device name, bus or format.
    """

    path: str
    device: str
    bus: str = "virtio"
    read_only: bool = False
    format: str = "raw"

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise InvalidInput("disk path must be absolute", field="path")
        if not _DEVICE_RE.match(self.device):
            raise InvalidInput("invalid disk device name", field="device", value=self.device)
        if self.bus not in DISK_BUSES:
            raise InvalidInput("unsupported disk bus", field="bus", value=self.bus)
        if self.format not in DISK_FORMATS:
            raise InvalidInput("unsupported disk format", field="format", value=self.format)


@dataclass(frozen=True)
class NicSpec:
    """A network interface.

    With neither ``network_name`` nor ``bridge`` the interface uses the
    hypervisor's user-mode networking (outbound only, no bridge needed).

    :param mac: MAC address, ``aa:bb:cc:dd:ee:ff`` (normalised to lower case).
    :param network_name: a libvirt network to join.
    :param bridge: a host bridge to join.
    :param model: the emulated NIC model.
    :raises InvalidInput: for a malformed MAC, or both a network and a bridge.
    """

    mac: str
    network_name: str | None = None
    bridge: str | None = None
    model: str = "virtio"

    def __post_init__(self) -> None:
        mac = self.mac.lower()
        if not _MAC_RE.match(mac):
            raise InvalidInput("invalid MAC address", field="mac", value=self.mac)
        object.__setattr__(self, "mac", mac)
        if self.network_name is not None and self.bridge is not None:
            raise InvalidInput(
                "a NIC joins either a network or a bridge, not both",
                field="bridge",
                reason="conflicting",
            )


@dataclass(frozen=True)
class GuestSpec:
    """Everything a driver needs to define a guest.

    :param guest_id: the engine UUID; drivers use it as the guest's identity
        on the host.
    :param vcpus: virtual CPUs (at least 1).
    :param memory_mib: memory (at least 1 MiB).
    :param disks: data disks, attached after the boot disk.
    :param nics: network interfaces.
    :param boot_image_path: image of the boot disk (``vda``), or ``None`` for a
        guest without a boot disk (it boots to firmware).
    :param user_data: cloud-init style user data, kept in the definition.
    :param ssh_keys: public keys, kept in the definition.
    :param owner: the engine resource the guest belongs to, recorded in the
        definition so that the engine can tell its own guests from a domain
        someone else defined under the same name (:meth:`guest_owner`).
    :raises InvalidInput: for an id that is not a UUID, non-positive sizes or
        duplicate device names.
    """

    guest_id: str
    vcpus: int
    memory_mib: int
    disks: tuple[DiskSpec, ...] = ()
    nics: tuple[NicSpec, ...] = ()
    boot_image_path: str | None = None
    user_data: str | None = None
    ssh_keys: tuple[str, ...] = field(default=())
    owner: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "guest_id", normalize_guest_id(self.guest_id))
        if self.vcpus < 1:
            raise InvalidInput("a guest needs at least one vCPU", field="vcpus")
        if self.memory_mib < 1:
            raise InvalidInput("a guest needs some memory", field="memory_mib")
        if self.boot_image_path is not None and not self.boot_image_path.startswith("/"):
            raise InvalidInput(
                "boot image path must be absolute", field="boot_image_path", reason="format"
            )
        devices = [disk.device for disk in self.all_disks()]
        if len(devices) != len(set(devices)):
            raise InvalidInput("disk device names must be unique", field="disks")

    def all_disks(self) -> tuple[DiskSpec, ...]:
        """Return the boot disk (if any) followed by the data disks.

        :returns: disks in the order the guest sees them.
        """
        if self.boot_image_path is None:
            return self.disks
        return (DiskSpec(self.boot_image_path, BOOT_DEVICE), *self.disks)


@dataclass(frozen=True)
class VolumeInfo:
    """A storage volume.

    :param pool: name of the pool holding it.
    :param name: its name inside the pool.
    :param path: where a guest's disk points to use it.
    :param capacity_bytes: size the guest sees.
    :param allocation_bytes: space used on the host (sparse volumes use less).
    """

    pool: str
    name: str
    path: str
    capacity_bytes: int
    allocation_bytes: int


@dataclass(frozen=True)
class PoolInfo:
    """A storage pool's size.

    :param name: the pool's name.
    :param capacity_bytes: total size.
    :param allocation_bytes: space used by volumes.
    :param available_bytes: space left for new volumes.
    """

    name: str
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int


@dataclass(frozen=True)
class LifecycleEvent:
    """A guest changed power state on a host.

    :param host_uri: the URI of the host that reported it.
    :param guest_id: the engine UUID of the guest.
    :param power_state: the state the guest is in after the event.
    :param reason: the hypervisor's event and detail, e.g. ``stopped:crashed``.
    """

    host_uri: str
    guest_id: str
    power_state: PowerState
    reason: str


#: A subscriber to lifecycle events. Called on the driver's event thread: it
#: must return quickly (hand the event to a queue) and must not block.
LifecycleCallback = Callable[[LifecycleEvent], None]


__all__ = [
    "BOOT_DEVICE",
    "DISK_BUSES",
    "DISK_FORMATS",
    "DiskSpec",
    "GuestSpec",
    "HostInfo",
    "LifecycleCallback",
    "LifecycleEvent",
    "NicSpec",
    "PoolInfo",
    "PowerState",
    "VolumeInfo",
    "normalize_guest_id",
]
