"""Root disks the hosts still hold for computes that no longer need them.

A guest's root disk (``concord-root-<compute id>``, made by
:mod:`engine.handlers._root_disk`) is removed with its compute. When that
cannot happen at the time (the host was down at the deletion, or refused
during a failed creation), the copy stays, with its pool claim if it had one.
Reconciliation calls :func:`remove_orphan_root_disks` for every host that
answers: a copy is an orphan when its compute is deleted, or never recorded
it (a failed creation), and no job is working on that compute. A copy whose
compute the database does not know at all is left alone, as unknown guests
are: it may belong to another installation sharing the host, and an operator
decides.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.drivers.base import HypervisorDriver
from engine.errors import EngineError
from engine.lifecycle import State
from engine.models.compute import Compute
from engine.services.allocation import AllocationService
from engine.services.jobs import targets_with_pending_jobs

log = logging.getLogger("engine.services.root_disks")

_PREFIX = "concord-root-"


def root_volume_name(compute_id: str) -> str:
    """The name of a compute's root disk volume in its pool."""
    return f"{_PREFIX}{compute_id}"


def root_disk_owner(volume_name: str) -> str | None:
    """The compute id in a root disk's volume name; None for any other volume."""
    return volume_name.removeprefix(_PREFIX) if volume_name.startswith(_PREFIX) else None


def remove_orphan_root_disks(session: Session, driver: HypervisorDriver) -> list[str]:
    """Delete the root disks on the driver's host that no live compute uses.

    The pool claims of deleted computes that still had one are given back.
    The caller commits.

    :returns: the ids of the computes whose copies were removed.
    :raises DriverError: the host could not list its pools or volumes.
    """
    copies = [
        (pool.name, volume.name, owner)
        for pool in driver.list_pools()
        for volume in driver.list_volumes(pool.name)
        if (owner := root_disk_owner(volume.name)) is not None
    ]
    if not copies:
        return []
    owners = {owner for _, _, owner in copies}
    computes = {c.id: c for c in session.scalars(sa.select(Compute).where(Compute.id.in_(owners)))}
    busy = targets_with_pending_jobs(session, owners)
    removed = []
    for pool, name, owner in copies:
        compute = computes.get(owner)
        if compute is None or owner in busy or _in_use(compute):
            continue
        try:
            driver.delete_volume(pool, name)
        except EngineError as exc:  # a guest still uses it: left for an operator
            log.warning("could not remove the orphan root disk %s: %s", name, exc)
            continue
        release_root_claim(session, compute)
        removed.append(owner)
        log.info("removed the orphan root disk %s", name)
    session.flush()
    return removed


def release_root_claim(session: Session, compute: Compute) -> None:
    """Give a compute's root disk bytes back to their pool, once (its copy is gone)."""
    if compute.root_pool_id is not None:
        AllocationService(session).release_pool(compute.root_pool_id, compute.root_disk_bytes)
        compute.root_pool_id, compute.root_disk_bytes = None, 0


def _in_use(compute: Compute) -> bool:
    # Recorded by a compute that is not deleted: its guest's disk.
    return compute.state != State.DELETED.value and compute.root_pool_id is not None


__all__ = [
    "release_root_claim",
    "remove_orphan_root_disks",
    "root_disk_owner",
    "root_volume_name",
]
