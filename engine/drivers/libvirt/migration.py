"""Live migration of a guest between two libvirt hosts.

The engine moves guests off a host going into maintenance. Between two QEMU
hosts that is a *live* migration: libvirt copies the running guest's memory
to the destination while it runs and switches over at the end, so the guest
does not stop (reference/engine.md §3.3: Nova's ``live_migration`` uses the
same call). libvirt's ``test`` driver implements no migration, so guests of
simulated hosts move cold (stopped, defined on the destination from the
database, started), which :mod:`engine.compute` does with the ordinary calls.

The migration is *managed direct* (the client drives both hosts through its
two connections), with the definition made persistent on the destination and
removed from the source, so no copy of the guest stays defined behind.
Disks are not copied: a guest moves only when every disk is in a pool both
hosts reach (the engine checks that before asking).
"""

from __future__ import annotations

import libvirt

from engine.drivers.libvirt import power
from engine.drivers.libvirt.client import uri_driver
from engine.drivers.libvirt.mapping import translating
from engine.drivers.specs import PowerState

#: libvirt drivers that migrate guests live between their hosts.
_LIVE_DRIVERS = frozenset({"qemu"})
_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)


def can_migrate_live(source_uri: str, destination_uri: str) -> bool:
    """Whether guests can move live from the host at ``source_uri`` to ``destination_uri``.

    Both must be hosts of one hypervisor that migrates live (QEMU), and two
    hosts (the same URI is the same host).
    """
    source, destination = uri_driver(source_uri), uri_driver(destination_uri)
    return source == destination and source in _LIVE_DRIVERS and source_uri != destination_uri


def migrate_live(
    domain: libvirt.virDomain, destination: libvirt.virConnect, unsafe: bool = False
) -> None:
    """Move a running or paused ``domain`` live to the host of ``destination``.

    libvirt refuses to move a guest whose disks are on storage it does not
    recognise as shared (NFS, GFS2, OCFS2, Ceph...): a plain local directory
    would be two different disks. ``unsafe`` overrides that
    (``VIR_MIGRATE_UNSAFE``), for a local directory that two hosts on one
    machine really share (the integration tests).

    :raises InvalidTransition: the guest is neither running nor paused.
    :raises DriverError: libvirt refused or the migration failed (the guest
        then keeps running on its source: libvirt aborts cleanly).
    """
    power.require(
        power.domain_state(domain),
        power.RUNNING | {PowerState.PAUSED},
        "migrate the guest live",
    )
    with translating("migrate the guest live"):
        flags = _FLAGS | (libvirt.VIR_MIGRATE_UNSAFE if unsafe else 0)
        domain.migrate(destination, flags, None, None, 0)


__all__ = ["can_migrate_live", "migrate_live"]
