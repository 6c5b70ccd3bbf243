"""Root disks the hosts still hold for computes that no longer need them.

A guest's root disk (``concord-root-<guest id>``, made by
:mod:`engine.compute._root_disk`) is removed with its compute. When that
cannot happen at the time (the host was down at the deletion, or refused
during a failed creation), the copy stays, with its pool claim if it had one.
Reconciliation calls :func:`remove_orphan_root_disks` for every host that
answers: a copy is an orphan when its compute is deleted, or never recorded
it (a failed creation), and no job is working on that compute. A copy whose
compute the database does not know at all is left alone, as unknown guests
are: it may belong to another installation sharing the host, and an operator
decides.

A root disk counts against its owner's ``primary_storage`` limit as a
volume of its size does (:func:`claim_root_disk`, :func:`release_root_claim`):
both are charged together with the pool's bytes, and given back together.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.service import AllocationService
from engine.compute.models import Compute
from engine.drivers.base import HypervisorDriver
from engine.errors import CapacityUnavailable, EngineError
from engine.inventory.models import StoragePool
from engine.jobs.service import targets_with_pending_jobs
from engine.lifecycle import State
from engine.scope import Owner
from engine.storage.state import gib
from engine.tenancy.models import ResourceType
from engine.tenancy.quotas import QuotaService

log = logging.getLogger("engine.compute.root_disks")

_PREFIX = "concord-root-"


def root_volume_name(guest_id: str) -> str:
    """The name of a compute's root disk volume in its pool (from ``Compute.guest_id``)."""
    return f"{_PREFIX}{guest_id}"


def root_disk_owner(volume_name: str) -> str | None:
    """The guest id in a root disk's volume name; None for any other volume."""
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
    computes = {
        c.guest_id: c
        for c in session.scalars(sa.select(Compute).where(Compute.guest_id.in_(owners)))
    }
    busy = targets_with_pending_jobs(session, {c.id for c in computes.values()})
    removed = []
    for pool, name, owner in copies:
        compute = computes.get(owner)
        if compute is None or compute.id in busy or _in_use(compute):
            continue
        try:
            driver.delete_volume(pool, name)
        except EngineError as exc:  # a guest still uses it: left for an operator
            log.warning("could not remove the orphan root disk %s: %s", name, exc)
            continue
        release_root_claim(session, compute)
        removed.append(compute.id)
        log.info("removed the orphan root disk %s", name)
    session.flush()
    return removed


def root_disk_quota(size_bytes: int) -> dict[ResourceType, int]:
    """What a root disk counts against its owner's limits: primary storage, as a volume's size."""
    return {ResourceType.PRIMARY_STORAGE: gib(size_bytes)}


def claim_root_disk(session: Session, compute: Compute, pool: StoragePool, size_bytes: int) -> None:
    """Charge a compute's new root disk to its owner and its pool, and record both.

    :raises QuotaExceeded: the owner's primary storage limit would be passed.
    :raises CapacityUnavailable: the pool has no room for it.
    """
    QuotaService(session).charge(Owner.of(compute), root_disk_quota(size_bytes))
    if not AllocationService(session).claim_pool(pool, size_bytes):
        raise CapacityUnavailable(
            f"the storage pool {pool.name} has no room for the compute's root disk",
            size_bytes=size_bytes,
        )
    compute.root_pool_id, compute.root_disk_bytes = pool.id, size_bytes


def release_root_claim(session: Session, compute: Compute) -> None:
    """Give a compute's root disk back to its pool and its owner's limits, once (it is gone)."""
    if compute.root_pool_id is not None:
        # Quota counters before capacity rows, as when charging (engine.tenancy.quotas).
        QuotaService(session).release(Owner.of(compute), root_disk_quota(compute.root_disk_bytes))
        AllocationService(session).release_pool(compute.root_pool_id, compute.root_disk_bytes)
        compute.root_pool_id, compute.root_disk_bytes = None, 0


def _in_use(compute: Compute) -> bool:
    # Recorded by a compute that is not deleted: its guest's disk.
    return compute.state != State.DELETED.value and compute.root_pool_id is not None


__all__ = [
    "claim_root_disk",
    "release_root_claim",
    "remove_orphan_root_disks",
    "root_disk_owner",
    "root_disk_quota",
    "root_volume_name",
]
