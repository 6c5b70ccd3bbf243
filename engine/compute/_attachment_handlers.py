"""Job handlers of volume attachments (``storage_attachment.attach`` and ``.detach``).

Part of :mod:`engine.storage.handlers` (which registers them); see there for
how handlers run, fail and stay idempotent. Also the two functions the
``compute.create`` handler calls for attachments prepared with its compute
(:func:`complete_prepared_attachments`, :func:`fail_prepared_attachments`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import lifecycle
from engine.compute._link_handlers import (
    complete_links,
    delete_link,
    fail_detach,
    fail_link,
    fail_links,
    prepared_links,
)
from engine.compute.link_events import emit_attachment
from engine.compute.models import Compute
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import DiskSpec, PowerState
from engine.errors import Conflict, DriverError, NotFound
from engine.inventory.models import Host, HostState
from engine.jobs.worker import JobContext
from engine.lifecycle import Action, Kind, State
from engine.resources.state import change_state
from engine.storage.models import StorageAttachment, Volume

#: The bus the usual device-name prefixes imply (as the guest definitions have it).
_BUS_OF_PREFIX = (("sd", "scsi"), ("hd", "ide"))


def bus_of(device: str) -> str:
    """The disk bus of a device name: ``sd*`` SCSI, ``hd*`` IDE, else virtio."""
    for prefix, bus in _BUS_OF_PREFIX:
        if device.startswith(prefix):
            return bus
    return "virtio"


def _link_parts(
    ctx: JobContext, attachment: StorageAttachment
) -> tuple[Compute, Volume, HypervisorDriver | None]:
    compute = ctx.session.get(Compute, attachment.compute_id)
    volume = ctx.session.get(Volume, attachment.volume_id)
    if compute is None or volume is None:
        raise NotFound(
            "the attachment's compute or volume no longer exists",
            subject=Kind.STORAGE_ATTACHMENT.value,
            reason="not_found",
        )
    host = ctx.session.get(Host, compute.host_id) if compute.host_id else None
    if host is None or host.state is HostState.DOWN:
        return compute, volume, None
    return compute, volume, ctx.drivers(host.uri)


def _load_attachment(ctx: JobContext, expected: State) -> StorageAttachment:
    attachment = ctx.session.get(StorageAttachment, ctx.job.target_id, populate_existing=True)
    if attachment is None:
        raise NotFound(
            "the job's attachment no longer exists", subject=Kind.STORAGE_ATTACHMENT.value
        )
    if attachment.state != expected:
        raise Conflict(
            f"the attachment is {attachment.state}, not {expected.value}",
            kind=Kind.STORAGE_ATTACHMENT.value,
            state=attachment.state,
            expected=[expected.value],
        )
    return attachment


class AttachHandler:
    """``storage_attachment.attach``: add the disk to the guest (live when it runs)."""

    action = "storage_attachment.attach"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Attach the volume's disk to the guest, record ``attached``."""
        attachment = _load_attachment(ctx, State.ATTACHING)
        compute, volume, driver = _link_parts(ctx, attachment)
        if compute.state in (State.DELETING, State.DELETED):
            raise Conflict(
                "the compute is being deleted", subject=Kind.COMPUTE.value, reason="gone"
            )
        if volume.path is None:
            raise Conflict(
                "the volume does not exist in its pool yet",
                subject=Kind.VOLUME.value,
                reason="not_ready",
            )
        live = False
        # A guest missing from its host gets the disk when it is next defined
        # (definitions are built from the attachments).
        if driver is not None and driver.guest_state(compute.guest_id) is not PowerState.ABSENT:
            disks = {d.device: d for d in driver.guest_disks(compute.guest_id)}
            present = disks.get(attachment.device)
            if present is None:
                disk = DiskSpec(volume.path, attachment.device, bus=bus_of(attachment.device))
                driver.attach_volume(compute.guest_id, disk)
            elif present.path != volume.path:
                raise Conflict(
                    f"the guest uses device {attachment.device} for another disk",
                    subject="device",
                    reason="taken",
                    other=Kind.COMPUTE.value,
                )
            live = driver.guest_state(compute.guest_id) in (PowerState.RUNNING, PowerState.BLOCKED)
        new = lifecycle.complete_creation(Kind.STORAGE_ATTACHMENT, State.ATTACHING, started=True)
        change_state(ctx.session, attachment, State.ATTACHING, new)
        emit_attachment(
            ctx.session,
            attachment,
            "storage_attachment.attached",
            previous_state="attaching",
            job_id=ctx.job.id,
            live=live,
        )
        return {"state": new.value, "device": attachment.device, "live": live}

    def failed(self, ctx: JobContext, message: str) -> None:
        """The attachment goes to ``error``; detaching it cleans up."""
        attachment = ctx.session.get(StorageAttachment, ctx.job.target_id, populate_existing=True)
        if attachment is None:
            return
        _fail_link(ctx.session, attachment, message, ctx.job.id)


class DetachHandler:
    """``storage_attachment.detach``: remove the disk from the guest, delete the link."""

    action = "storage_attachment.detach"

    def run(self, ctx: JobContext) -> dict[str, Any]:
        """Detach the disk (live when the guest runs), delete the attachment row."""
        attachment = _load_attachment(ctx, State.DETACHING)
        compute, _volume, driver = _link_parts(ctx, attachment)
        lifecycle.complete(Kind.STORAGE_ATTACHMENT, State.DETACHING, Action.DELETE)
        if driver is not None and driver.guest_state(compute.guest_id) is not PowerState.ABSENT:
            try:
                released = driver.detach_volume(compute.guest_id, attachment.device)
            except NotFound:
                released = True  # not in the guest any more: the goal is met
            if not released:
                raise DriverError(
                    "the guest has not released the disk yet; detach it again once it has"
                )
        delete_link(ctx, attachment, Kind.STORAGE_ATTACHMENT, emit_attachment)
        return {"state": State.DELETED.value, "device": attachment.device}

    def failed(self, ctx: JobContext, message: str) -> None:
        """The attachment goes to ``error`` (detaching may have half happened)."""
        fail_detach(ctx, StorageAttachment, Kind.STORAGE_ATTACHMENT, emit_attachment, message)


def _fail_link(
    session: Session, attachment: StorageAttachment, message: str, job_id: str | None
) -> None:
    fail_link(session, attachment, Kind.STORAGE_ATTACHMENT, emit_attachment, message, job_id)


def _prepared(session: Session, compute: Compute) -> list[StorageAttachment]:
    return prepared_links(session, compute, StorageAttachment, StorageAttachment.device)


def complete_prepared_attachments(
    session: Session, compute: Compute, job_id: str | None = None
) -> int:
    """Mark a new compute's prepared attachments ``attached``; return how many.

    For the ``compute.create`` handler, in its transaction, once the guest is
    defined with their disks (see
    :meth:`engine.storage.service.StorageService.prepare_attachment`).
    """
    attachments = _prepared(session, compute)
    return complete_links(session, attachments, Kind.STORAGE_ATTACHMENT, emit_attachment, job_id)


def fail_prepared_attachments(
    session: Session, compute: Compute, message: str, job_id: str | None = None
) -> int:
    """Mark a new compute's prepared attachments ``error`` (its creation failed)."""
    kind, attachments = Kind.STORAGE_ATTACHMENT, _prepared(session, compute)
    return fail_links(session, attachments, kind, emit_attachment, message, job_id)


__all__ = [
    "AttachHandler",
    "DetachHandler",
    "bus_of",
    "complete_prepared_attachments",
    "fail_prepared_attachments",
]
