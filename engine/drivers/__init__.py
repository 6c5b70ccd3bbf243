"""Hypervisor drivers.

:mod:`engine.drivers.base` holds the contract every driver meets and the value
types that cross it; it needs no hypervisor library, so this package can be
imported where libvirt is absent. The one implementation is
:class:`engine.drivers.libvirt.LibvirtDriver`.
"""

from engine.drivers.base import (
    DiskSpec,
    GuestSpec,
    HostInfo,
    HypervisorDriver,
    LifecycleCallback,
    LifecycleEvent,
    NicSpec,
    PoolInfo,
    PowerState,
    VolumeInfo,
)

__all__ = [
    "DiskSpec",
    "GuestSpec",
    "HostInfo",
    "HypervisorDriver",
    "LifecycleCallback",
    "LifecycleEvent",
    "NicSpec",
    "PoolInfo",
    "PowerState",
    "VolumeInfo",
]
