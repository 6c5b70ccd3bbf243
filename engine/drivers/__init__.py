"""Hypervisor drivers.

:mod:`engine.drivers.base` holds the contract every driver meets and
:mod:`engine.drivers.specs` the value types that cross it; neither needs a
hypervisor library, so this package can be imported where libvirt is
absent. The one implementation is
:class:`engine.drivers.libvirt.LibvirtDriver`.
"""

from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import (
    DiskSpec,
    GuestSpec,
    HostInfo,
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
