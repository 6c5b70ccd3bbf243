"""The hypervisor driver contract.

The engine talks to hypervisors only through :class:`HypervisorDriver`, with
the values of :mod:`engine.drivers.specs`.

A *guest* is identified by its engine UUID (``guest_id``). Drivers must
recognise their own guests on a host and ignore everything else defined there.

Every method raises only :class:`~engine.errors.EngineError` subclasses:
:class:`~engine.errors.NotFound` for an unknown guest, volume or pool,
:class:`~engine.errors.InvalidTransition` when the guest's power state forbids
the action, :class:`~engine.errors.DriverUnavailable` when the host cannot be
reached and :class:`~engine.errors.DriverError` for any other hypervisor
failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from engine.drivers.specs import (
    DiskSpec,
    GuestSpec,
    HostInfo,
    LifecycleCallback,
    NicSpec,
    PoolInfo,
    PowerState,
    VolumeInfo,
)


@runtime_checkable
class HypervisorDriver(Protocol):
    """What the engine needs from one hypervisor host."""

    @property
    def uri(self) -> str:
        """The URI of the host this driver manages."""
        ...

    def host_info(self) -> HostInfo:
        """Return the host's identity and size."""
        ...

    def list_guests(self) -> dict[str, PowerState]:
        """Return the power state of every engine guest on the host, by guest id.

        Guests not created by the engine are left out.
        """
        ...

    def crashed_guests(self) -> frozenset[str]:
        """Return the ids of the engine guests that are shut off because they crashed.

        :meth:`list_guests` reports them :attr:`PowerState.SHUTOFF`, like any
        guest that is off: the engine's guests are destroyed when they crash,
        and only the hypervisor's record of *why* tells a crash from a stop.
        """
        ...

    def guest_state(self, guest_id: str) -> PowerState:
        """Return a guest's power state; :attr:`PowerState.ABSENT` if undefined."""
        ...

    def guest_disks(self, guest_id: str) -> tuple[DiskSpec, ...]:
        """Return the disks of a guest's persistent definition, boot disk first."""
        ...

    def guest_owner(self, guest_id: str) -> str | None:
        """Return the owner recorded in a guest's definition (``GuestSpec.owner``):
        ``None`` if the guest is undefined, ``""`` if it records none."""
        ...

    def define_guest(self, spec: GuestSpec) -> None:
        """Define the guest, replacing an existing definition of the same id.

        A running guest keeps running; the new definition applies at its next boot.
        """
        ...

    def ensure_defined(self, spec: GuestSpec) -> bool:
        """Define the guest unless it exists; return ``True`` if it was defined now."""
        ...

    def start(self, guest_id: str) -> None:
        """Boot a stopped guest, or restore a suspended one."""
        ...

    def stop(self, guest_id: str, force: bool = False, timeout: float | None = 60.0) -> PowerState:
        """Stop a guest: ACPI shutdown, or power off when ``force``.

        :param timeout: for a graceful stop, seconds to wait for the guest to
            shut down before powering it off; ``None`` sends the request and
            returns at once.
        :returns: the power state after the call.
        """
        ...

    def restart(self, guest_id: str) -> None:
        """Ask a running guest to reboot."""
        ...

    def pause(self, guest_id: str) -> None:
        """Freeze a running guest's vCPUs, keeping its memory in place."""
        ...

    def resume(self, guest_id: str) -> None:
        """Let a paused guest run again."""
        ...

    def suspend(self, guest_id: str) -> None:
        """Save a running or paused guest's memory to disk and stop it."""
        ...

    def can_migrate_live(self, destination_uri: str) -> bool:
        """Whether running guests of this host can move live to the host at ``destination_uri``."""
        ...

    def migrate_live(self, guest_id: str, destination_uri: str) -> None:
        """Move a running or paused guest live to the host at ``destination_uri``.

        Its definition moves too (persistent there, removed here); its disks
        stay where they are, so they must be in a pool both hosts reach.

        :raises InvalidTransition: the guest is neither running nor paused.
        :raises DriverError: the migration failed; the guest still runs here.
        """
        ...

    def destroy_guest(self, guest_id: str) -> bool:
        """Power off and remove a guest with its saved state.

        :returns: ``False`` if the guest was not defined (nothing to do).
        """
        ...

    def list_pools(self) -> list[PoolInfo]:
        """Return the active storage pools of the host."""
        ...

    def list_volumes(self, pool: str) -> list[VolumeInfo]:
        """Return the volumes of a pool."""
        ...

    def create_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Create an empty volume."""
        ...

    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Grow a volume."""
        ...

    def delete_volume(self, pool: str, name: str) -> bool:
        """Delete a volume; ``False`` if it did not exist."""
        ...

    def clone_volume(self, source_path: str, pool: str, name: str) -> VolumeInfo:
        """Copy the volume at ``source_path`` (in any pool of the host) into ``pool``."""
        ...

    def attach_volume(self, guest_id: str, disk: DiskSpec) -> None:
        """Attach a disk to the guest's definition, and to the running guest if it runs."""
        ...

    def detach_volume(self, guest_id: str, device: str) -> bool:
        """Detach a disk by device name.

        :returns: ``False`` when the running guest has not released it yet.
        """
        ...

    def capture(self, guest_id: str, pool: str, image_name: str) -> VolumeInfo:
        """Copy a stopped guest's first disk into a new volume of ``pool``."""
        ...

    def ensure_network(self, name: str, active: bool = True) -> bool:
        """Define the engine network ``name`` (``concord-<id>``) unless it exists; (de)activate it.

        :returns: ``True`` if it was defined now.
        """
        ...

    def delete_network(self, name: str) -> bool:
        """Stop and remove an engine network; ``False`` if the host had none of that name."""
        ...

    def list_networks(self) -> dict[str, bool]:
        """Whether each engine network defined on the host is active, by name."""
        ...

    def guest_nics(self, guest_id: str) -> tuple[NicSpec, ...]:
        """Return the network interfaces of a guest's persistent definition."""
        ...

    def attach_nic(self, guest_id: str, nic: NicSpec) -> None:
        """Attach an interface to the guest's definition, and to the guest if it runs."""
        ...

    def detach_nic(self, guest_id: str, mac: str) -> bool:
        """Detach the interface with this MAC; ``False`` if the guest had none."""
        ...

    def subscribe(self, callback: LifecycleCallback) -> Callable[[], None]:
        """Deliver the host's guest lifecycle events to ``callback``.

        :returns: a function that cancels the subscription. When it returns,
            ``callback`` is never called again, even for an event whose
            delivery had already begun; it may be called from ``callback``.
        """
        ...

    def close(self) -> None:
        """Cancel this driver's subscriptions and release what it holds."""
        ...


__all__ = ["HypervisorDriver"]
