"""A guest's own root disk: a copy of its image in a storage pool of its host.

A guest never boots from its image itself: two guests of one image would
write to the same file, and capturing a guest would copy the template rather
than what the guest made of it. The creation job copies the image into a
pool of the guest's host (:func:`engine.allocation.root_pools.host_pool`: a
host-local pool first, the one capture also uses), grows the copy to the
offering's root disk size, charges its size to the owner's primary storage
limit and its bytes to the pool's allocation, and records pool and size on
the compute.
The deletion, and a failed creation, remove the copy and give the bytes back.

The copy is named after the compute (:func:`root_volume_name`), so a creation
re-run after its worker died finds the copy an earlier attempt made: it is
used when that attempt got as far as defining the guest (the copy was then
complete), and made again otherwise. Removing it finds it in any pool of
the host whether or not the compute recorded it. A copy that could not be
removed (its host down, the host refusing) keeps its claim; reconciliation
removes such orphans once their host answers (:func:`engine.compute.reconcile.reconcile`).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from engine.allocation.root_pools import GIB, host_pool
from engine.catalog.models import ComputeOffering, Image
from engine.compute.models import Compute
from engine.compute.root_disks import claim_root_disk, release_root_claim, root_volume_name
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import PowerState, VolumeInfo
from engine.errors import AlreadyExists, NotFound
from engine.inventory.models import Host, StoragePool
from engine.lifecycle import Kind

log = logging.getLogger("engine.compute.root_disks")


def find_volume(driver: HypervisorDriver, pool: str, name: str) -> VolumeInfo | None:
    """The volume ``name`` of ``pool`` on the driver's host, if there is one."""
    return next((v for v in driver.list_volumes(pool) if v.name == name), None)


def image_path(driver: HypervisorDriver, location: str) -> str:
    """The path on the host of an image's ``location`` (a path, or ``<pool>/<volume>``).

    :raises NotFound: the image is not on the host.
    """
    if location.startswith("/"):
        return location
    pool, _, name = location.partition("/")
    volume = find_volume(driver, pool, name)
    if volume is None:
        # The location names the installation's pools and volumes: it goes to the
        # operators' log, never into the error's details, which clients can read.
        log.warning("image %s is not on the host (no such pool volume)", location)
        raise NotFound("the compute's image is not on its host", subject=Kind.IMAGE.value)
    return volume.path


def provide_root_disk(
    session: Session, compute: Compute, host: Host, driver: HypervisorDriver
) -> VolumeInfo | None:
    """Make sure the guest has its root disk; None when its image boots nothing.

    :raises NotFound: the image is not on the host.
    :raises QuotaExceeded: the copy would pass the owner's primary storage limit.
    :raises CapacityUnavailable: the pool has no room for the copy.
    """
    image = session.get(Image, compute.image_id) if compute.image_id else None
    if image is None or not image.location:
        return None
    pool = host_pool(session, host)
    name = root_volume_name(compute.guest_id)
    info = find_volume(driver, pool.pool_name, name)
    if (
        info is not None
        and compute.root_pool_id is None
        and driver.guest_state(compute.guest_id) is PowerState.ABSENT
    ):
        # An earlier attempt made this copy and died before it defined the
        # guest (which follows a finished copy) and recorded anything. The
        # copy may be partial: libvirtd carries a copy on after its caller
        # dies, but not when the host fails, and a partial file lists like
        # any volume. So it is made again rather than booted.
        driver.delete_volume(pool.pool_name, name)
        info = None
    if info is None:
        source = image_path(driver, image.location)
        try:
            info = driver.clone_volume(source, pool.pool_name, name)
        except AlreadyExists:
            # A worker that stalled on this job made it meanwhile: the same copy.
            info = find_volume(driver, pool.pool_name, name)
            if info is None:
                raise
    offering = session.get(ComputeOffering, compute.offering_id) if compute.offering_id else None
    wanted = (offering.root_disk_gib if offering is not None else 0) * GIB
    if wanted > info.capacity_bytes:
        info = driver.resize_volume(pool.pool_name, name, wanted)
    if compute.root_pool_id is None:
        claim_root_disk(session, compute, pool, info.capacity_bytes)
    return info


def root_disk_path(session: Session, compute: Compute, driver: HypervisorDriver) -> str | None:
    """The path of the guest's root disk on its host; None when it has none.

    :raises NotFound: it has one, but the volume is gone from the host.
    """
    pool = session.get(StoragePool, compute.root_pool_id) if compute.root_pool_id else None
    if pool is None:
        return None
    info = find_volume(driver, pool.pool_name, root_volume_name(compute.guest_id))
    if info is None:
        raise NotFound(
            "the compute's root disk is gone from its host",
            compute_id=compute.id,
            subject=Kind.VOLUME.value,
        )
    return info.path


def remove_root_disk(session: Session, compute: Compute, driver: HypervisorDriver | None) -> bool:
    """Delete the guest's root disk (after its guest) and give its bytes back.

    The copy is looked for in every pool of the host, recorded or not (a
    failed creation may have made it before recording it). The bytes are
    given back only once the copy is gone.

    :param driver: the driver of the compute's host; None when it cannot be
        asked (the host is down): the claim stays, and reconciliation removes
        the copy once the host answers and the compute is deleted.
    :returns: whether a volume was deleted.
    """
    if driver is None:
        return False
    name = root_volume_name(compute.guest_id)
    deleted = False
    for pool in driver.list_pools():
        deleted = driver.delete_volume(pool.name, name) or deleted
    release_root_claim(session, compute)
    return deleted


__all__ = [
    "GIB",
    "find_volume",
    "image_path",
    "provide_root_disk",
    "remove_root_disk",
    "root_disk_path",
    "root_volume_name",
]
