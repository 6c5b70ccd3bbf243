"""``compute.capture``: a stopped guest's first disk becomes a new image.

The image row is created (``creating``) by :func:`new_capture_image` when
:meth:`engine.compute.service.ComputeService.perform` queues the job, so the
caller has its id at once; the job copies the disk into a
storage pool of the compute's host and makes the image ``available``, owned
by the compute's owner, with its ``location`` the copy's path (guests boot
from it on that host). The copy's volume name is derived from the image id,
so a re-run after a crash finds the copy an earlier attempt made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine import lifecycle
from engine.allocation.root_pools import host_pool
from engine.catalog.image_events import emit_image
from engine.catalog.models import Image
from engine.catalog.service import CatalogService
from engine.compute._guest import check_power, guest_spec
from engine.compute._handler_base import (
    MESSAGE_LENGTH,
    ComputeHandler,
    load_compute,
    log,
    placed_host,
    power_values,
)
from engine.compute._root_disk import find_volume
from engine.compute.models import Compute
from engine.compute.state import change_state, emit_compute
from engine.drivers.specs import PowerState
from engine.errors import NotFound
from engine.inventory.models import Host
from engine.jobs.worker import JobContext
from engine.lifecycle import Action, Kind, State
from engine.scope import Scope


class CaptureHandler(ComputeHandler):
    """``compute.capture``: copy a stopped guest's first disk into a new image."""

    def __init__(self) -> None:
        super().__init__(Action.CAPTURE)

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Copy the disk into a pool of the host; the image becomes ``available``."""
        compute = load_compute(ctx)
        current = State(compute.state)
        target = lifecycle.complete(Kind.COMPUTE, current, Action.CAPTURE)
        image = self._image(ctx)
        host = placed_host(ctx.session, compute)
        driver = ctx.drivers(host.uri)
        pool = host_pool(ctx.session, host)
        name = image_volume_name(image)
        # An earlier attempt may have copied the disk before its worker died.
        info = find_volume(driver, pool.pool_name, name)
        if info is None:
            # The database says which disks the guest has (attachments made
            # while it was stopped reach libvirt at its next definition).
            if driver.guest_state(compute.guest_id) is PowerState.SHUTOFF:
                driver.define_guest(guest_spec(ctx.session, compute, driver)[0])
            info = driver.capture(compute.guest_id, pool.pool_name, name)
        power = check_power(driver, compute.guest_id, target)
        image.location = info.path
        image.size_bytes = info.capacity_bytes
        image.disk_format = "raw"
        image.state = lifecycle.complete_creation(Kind.IMAGE, State(image.state), started=True)
        image.state_message = None
        change_state(ctx.session, compute, current, target, **power_values(power))
        emit_compute(
            ctx.session,
            compute,
            "compute.captured",
            previous_state=ctx.job.parameters.get("previous"),
            job_id=ctx.job.id,
            image_id=image.id,
            pool_id=pool.id,
            size_bytes=info.capacity_bytes,
        )
        emit_image(ctx.session, image, "image.created", job_id=ctx.job.id, pool_id=pool.id)
        return {"state": target.value, "image_id": image.id, "size_bytes": info.capacity_bytes}

    def failed(self, ctx: JobContext, message: str) -> None:
        """Restore the compute; the image goes to ``error`` and its half-made copy is removed."""
        super().failed(ctx, message)
        image = ctx.session.get(Image, ctx.job.parameters.get("image_id", ""))
        if image is None or image.state != State.CREATING:
            return
        image.state = lifecycle.fail_creation(Kind.IMAGE, State.CREATING)
        image.state_message = message[:MESSAGE_LENGTH]
        emit_image(ctx.session, image, "image.create.failed", job_id=ctx.job.id, message=message)
        compute = ctx.session.get(Compute, ctx.job.target_id)
        host = ctx.session.get(Host, compute.host_id) if compute and compute.host_id else None
        try:
            if host is not None:
                pool = host_pool(ctx.session, host)
                ctx.drivers(host.uri).delete_volume(pool.pool_name, image_volume_name(image))
        except Exception:
            log.warning("could not remove the partial image %s", image.id, exc_info=True)
        ctx.session.flush()

    @staticmethod
    def _image(ctx: JobContext) -> Image:
        image = ctx.session.get(Image, ctx.job.parameters.get("image_id", ""))
        if image is None:
            raise NotFound("the image being captured no longer exists", subject=Kind.IMAGE.value)
        return image


def image_volume_name(image: Image) -> str:
    """The name of a captured image's volume in its pool (stable across job re-runs)."""
    return f"concord-image-{image.id}"


def new_capture_image(
    session: Session, scope: Scope, compute: Compute, parameters: Mapping[str, Any]
) -> Image:
    """Record the image a capture of ``compute`` will fill, when the capture is requested.

    Through the catalog, so that the name is unique for its owner and the
    owner's ``templates`` limit is charged (and released when the image is
    deleted from the catalog, whatever becomes of the capture).

    :param parameters: the capture's ``image_name`` and ``image_description``.
    """
    image = CatalogService(session).create_image(
        scope,
        parameters["image_name"],
        account_id=compute.account_id,
        description=parameters.get("image_description"),
        arch=compute.arch,
        zone_id=compute.zone_id,
        record=False,
    )
    image.state = lifecycle.initial(Kind.IMAGE).value
    image.source_compute_id = compute.id
    session.flush()
    return image


__all__ = ["CaptureHandler", "image_volume_name", "new_capture_image"]
