"""Fencing: making sure a host that stopped answering runs no guest any more.

HA restarts a dead host's guests elsewhere only after the host is *fenced*,
so that a guest never runs twice (a host that merely lost its network may
still be writing to the guests' shared disks). :mod:`engine.drivers.fencing.base`
holds the contract every fencer meets and the values that cross it; each
fencer (a libvirt-connection fencer, a local-process fencer, out-of-band
fencers for IPMI and Redfish) lives in a module of its own and registers
under a name a host's fencing configuration refers to
(:mod:`engine.drivers.fencing.registry`); importing this package registers
them all: ``libvirt``, ``process``, ``ipmi`` and ``redfish``.
"""

from engine.drivers.fencing import ipmi, libvirt, process, redfish  # noqa: F401  (they register)
from engine.drivers.fencing.base import FenceOutcome, Fencer, FenceResult, FenceTarget

__all__ = ["FenceOutcome", "FenceResult", "FenceTarget", "Fencer"]
