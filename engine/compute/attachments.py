"""Volume attachments: the links of computes to volumes (OCCI storagelink, GFD.224 §3.4.2; CIMI
MachineVolume, DSP0263 §5.14).

An attachment is created ``attaching`` with a ``storage_attachment.attach``
job, or without a job by :meth:`AttachmentService.prepare_attachment` while
its compute is being created (the compute's creation defines the guest with
the disk and completes the attachment). Detaching queues a
``storage_attachment.detach`` job; when it succeeds the row is deleted (the
unique keys "a volume attaches once" and "one disk per device" must be free
again) and a ``storage_attachment.deleted`` event keeps the record.

Placement rule: a volume is attached only to a guest whose host reaches the
volume's pool: a host-local pool of that very host, or a shared pool
(``host_id`` empty) of the host's cluster. Anything else is a
:class:`~engine.errors.Conflict` naming both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.compute._links import (
    check_pair,
    find_link,
    list_links,
    pin_pair,
    request_detach,
    submit_attach,
)
from engine.compute.link_events import emit_attachment
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import new_id
from engine.errors import AlreadyExists, Conflict, InvalidInput
from engine.inventory.models import Host, StoragePool
from engine.jobs.models import Job
from engine.lifecycle import Kind, State
from engine.resources import checks
from engine.resources.ids import choose_id
from engine.resources.state import ATTACH_COMPUTE_STATES, refuse
from engine.scope import Scope
from engine.storage.models import StorageAttachment, Volume
from engine.storage.service import StorageService

#: Device names the libvirt family accepts for disks (as engine.drivers.base checks).
DEVICE_RE = re.compile(r"^(vd|sd|hd|xvd)[a-z]{1,2}$")
#: The boot disk's device: never picked automatically.
BOOT_DEVICE = "vda"
#: Volume states from which a prepared attachment may be made: a volume
#: created in the same request as its compute is still ``creating``.
PREPARE_VOLUME_STATES = frozenset({State.AVAILABLE, State.CREATING})
#: What a refused attachment was for (engine.resources.state.refuse).
_ATTACH = ("attach", Kind.STORAGE_ATTACHMENT)
_PREPARE = ("prepare", Kind.STORAGE_ATTACHMENT)


def device_names() -> Iterator[str]:
    """``vdb`` to ``vdz``, then ``vdaa`` to ``vdzz``: the automatic device names."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    yield from (f"vd{c}" for c in letters[1:])
    yield from (f"vd{a}{b}" for a in letters for b in letters)


class AttachmentService:
    """Attach volumes to computes and detach them.

    An attachment is a link of the compute's (its source in OCCI, a
    collection of the Machine in CIMI), so it lives with compute, above the
    volumes of :mod:`engine.storage` that it reads.

    :param session: the unit of work; the caller commits (then calls
        :func:`engine.jobs.worker.notify`) or rolls back.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _volume(self, scope: Scope, volume_id: str) -> Volume:
        return StorageService(self.session).get(scope, volume_id)

    # -- reading ---------------------------------------------------------------

    def get_attachment(self, scope: Scope, attachment_id: str) -> StorageAttachment:
        """An attachment visible to ``scope``.

        :raises NotFound: no such attachment (or detached), or another tenant's.
        """
        return find_link(
            self.session, scope, StorageAttachment, Kind.STORAGE_ATTACHMENT, attachment_id
        )

    def list_attachments(
        self, scope: Scope, *, compute_id: str | None = None, volume_id: str | None = None
    ) -> list[StorageAttachment]:
        """Attachments visible to ``scope``, of one compute or volume if given, by device."""
        return list_links(
            self.session,
            scope,
            StorageAttachment,
            compute_id=compute_id,
            target=(StorageAttachment.volume_id, volume_id),
            order=StorageAttachment.device,
        )

    # -- attaching -------------------------------------------------------------

    def attach(
        self,
        scope: Scope,
        *,
        compute_id: str,
        volume_id: str,
        device: str | None = None,
        mountpoint: str | None = None,
        name: str | None = None,
        attachment_id: str | None = None,
    ) -> tuple[StorageAttachment, Job]:
        """Attach a volume to a stopped or running compute; queue ``storage_attachment.attach``.

        :param device: the guest device (``vdb``...; OCCI
            ``occi.storagelink.deviceid``); by default the first free of
            ``vdb``, ``vdc``...
        :param mountpoint: where the guest should mount it (OCCI
            ``occi.storagelink.mountpoint``), recorded for the guest's tools.
        :param name: the attachment's name; by default the volume's.
        :param attachment_id: an id the client chose (OCCI PUT at a new path);
            by default a new UUID (see :func:`engine.resources.ids.choose_id`).
        :raises NotFound: the compute or volume is not visible to ``scope``.
        :raises InvalidTransition: the compute is not stopped or running, or
            the volume is not available.
        :raises Conflict: the volume is attached already, the device is
            taken, or the compute's host does not reach the volume's pool.
        """
        compute = ComputeService(self.session).get(scope, compute_id)
        volume = self._volume(scope, volume_id)
        if State(compute.state) not in ATTACH_COMPUTE_STATES:
            raise refuse(Kind.COMPUTE, compute.state, _ATTACH, ATTACH_COMPUTE_STATES, compute.id)
        if volume.state != State.AVAILABLE:
            raise refuse(Kind.VOLUME, volume.state, _ATTACH, {State.AVAILABLE}, volume.id)
        attachment = self._link(
            compute,
            volume,
            device,
            mountpoint,
            ATTACH_COMPUTE_STATES,
            {State.AVAILABLE},
            name=name,
            attachment_id=attachment_id,
        )
        job = submit_attach(
            self.session, scope, attachment, Kind.STORAGE_ATTACHMENT, emit_attachment
        )
        return attachment, job

    def prepare_attachment(
        self,
        scope: Scope,
        compute: Compute,
        volume: Volume,
        device: str | None = None,
        *,
        mountpoint: str | None = None,
        name: str | None = None,
        attachment_id: str | None = None,
    ) -> StorageAttachment:
        """Record an attachment of a compute being created, without a job.

        The compute's creation job defines the guest with the disk (its
        definition is built from the attachments ``attaching`` and
        ``attached``) and completes the attachment
        (:func:`engine.storage.handlers.complete_prepared_attachments`).

        :param mountpoint: as for :meth:`attach`.
        :param name: as for :meth:`attach`.
        :param attachment_id: as for :meth:`attach` (an inline link's own id).
        :raises InvalidTransition: the compute is not ``creating``, or the
            volume neither ``available`` nor ``creating``.
        :raises Conflict: as for :meth:`attach`.
        """
        compute = ComputeService(self.session).get(scope, compute.id)
        volume = self._volume(scope, volume.id)
        creating = {State.CREATING}
        if compute.state != State.CREATING:
            raise refuse(Kind.COMPUTE, compute.state, _PREPARE, creating, compute.id)
        if State(volume.state) not in PREPARE_VOLUME_STATES:
            raise refuse(Kind.VOLUME, volume.state, _PREPARE, PREPARE_VOLUME_STATES, volume.id)
        attachment = self._link(
            compute,
            volume,
            device,
            mountpoint,
            creating,
            PREPARE_VOLUME_STATES,
            name=name,
            attachment_id=attachment_id,
        )
        emit_attachment(
            self.session,
            attachment,
            "storage_attachment.created",
            previous_state=None,
            scope=scope,
            prepared=True,
        )
        return attachment

    def detach(self, scope: Scope, attachment_id: str) -> Job:
        """Queue the detachment of a volume (``storage_attachment.detach``).

        :raises NotFound: no such attachment visible to ``scope``.
        :raises InvalidTransition: a job runs on the attachment, or its
            compute is not stopped, running or in error.
        """
        attachment = self.get_attachment(scope, attachment_id)
        return request_detach(
            self.session,
            scope,
            attachment,
            Kind.STORAGE_ATTACHMENT,
            emit_attachment,
            ("detach", Kind.STORAGE_ATTACHMENT),
        )

    # -- internals -------------------------------------------------------------

    def _link(
        self,
        compute: Compute,
        volume: Volume,
        device: str | None,
        mountpoint: str | None,
        compute_states: set[State] | frozenset[State],
        volume_states: set[State] | frozenset[State],
        *,
        name: str | None = None,
        attachment_id: str | None = None,
    ) -> StorageAttachment:
        checks.check_text("mountpoint", mountpoint, 255)
        checks.check_text("name", name, 255)
        chosen_row_id, chosen_id = choose_id(
            self.session, StorageAttachment, attachment_id, account_id=compute.account_id
        )
        if device is not None:
            self._check_device(compute, device)
        check_pair(compute, volume, "volume")
        self._check_reachable(compute, volume)
        # Pins first: they are this transaction's first writes (the SAVEPOINT
        # below must not be, on SQLite) and hold both rows in their states.
        pin_pair(
            self.session,
            (compute, compute_states, _ATTACH),
            (volume, volume_states, _ATTACH),
        )
        if self._attachment_of(volume.id) is not None:
            raise Conflict(
                "the volume is already attached to a compute",
                volume_id=volume.id,
                subject=Kind.VOLUME.value,
                reason="attached",
                other=Kind.COMPUTE.value,
            )
        for _attempt in range(8):
            attachment = StorageAttachment(
                id=chosen_row_id if chosen_id is not None else new_id(),
                chosen_id=chosen_id,
                name=name or volume.name,
                state=lifecycle.initial(Kind.STORAGE_ATTACHMENT).value,
                account_id=compute.account_id,
                project_id=compute.project_id,
                domain_id=compute.domain_id,
                compute_id=compute.id,
                volume_id=volume.id,
                device=device or self._free_device(compute.id),
                mountpoint=mountpoint,
            )
            try:
                with self.session.begin_nested():
                    self.session.add(attachment)
                    self.session.flush()
                return attachment
            except IntegrityError:
                # A concurrent request attached this volume or took the device.
                if self._attachment_of(volume.id) is not None:
                    raise Conflict(
                        "the volume is already attached to a compute",
                        volume_id=volume.id,
                        subject=Kind.VOLUME.value,
                        reason="attached",
                        other=Kind.COMPUTE.value,
                    ) from None
                if device is not None:
                    raise AlreadyExists(
                        f"the compute already has a disk {device}",
                        field="device",
                        subject=Kind.STORAGE_ATTACHMENT.value,
                    ) from None
        raise Conflict(
            "the compute is too busy to attach a volume now; retry",
            subject=Kind.COMPUTE.value,
            reason="busy",
        )

    def _check_device(self, compute: Compute, device: str) -> None:
        if not isinstance(device, str) or not DEVICE_RE.match(device):
            raise InvalidInput(
                "a device is vd, sd, hd or xvd followed by one or two letters (e.g. vdb)",
                field="device",
                reason="device",
            )
        if device == BOOT_DEVICE and compute.image_id is not None:
            raise InvalidInput(
                f"{BOOT_DEVICE} is the compute's boot disk",
                field="device",
                reason="reserved_device",
            )
        taken = sa.select(StorageAttachment.id).where(
            StorageAttachment.compute_id == compute.id, StorageAttachment.device == device
        )
        if self.session.scalar(taken.limit(1)) is not None:
            raise AlreadyExists(
                f"the compute already has a disk {device}",
                field="device",
                subject=Kind.STORAGE_ATTACHMENT.value,
            )

    def _free_device(self, compute_id: str) -> str:
        used = set(
            self.session.scalars(
                sa.select(StorageAttachment.device).where(
                    StorageAttachment.compute_id == compute_id
                )
            )
        )
        for name in device_names():
            if name not in used:
                return name
        raise Conflict(
            "the compute has no free disk device name left",
            subject=Kind.COMPUTE.value,
            reason="full",
            other=Kind.STORAGE_ATTACHMENT.value,
        )

    def _check_reachable(self, compute: Compute, volume: Volume) -> None:
        host = self.session.get(Host, compute.host_id) if compute.host_id else None
        pool = self.session.get(StoragePool, volume.pool_id) if volume.pool_id else None
        if host is None:
            raise Conflict(
                "the compute is not placed on any host; a volume cannot reach it",
                subject=Kind.COMPUTE.value,
                reason="not_placed",
            )
        if pool is None:
            raise Conflict(
                "the volume is in no storage pool", subject=Kind.VOLUME.value, reason="not_placed"
            )
        # Tenants never learn where their resources run: the message names no
        # host and no pool, only what to do about it.
        if pool.host_id is not None and pool.host_id != host.id:
            raise Conflict(
                "the volume is in a storage pool local to another host than the compute's; "
                "it cannot be attached to this compute",
                subject=Kind.VOLUME.value,
                reason="unreachable",
                other=Kind.COMPUTE.value,
            )
        if pool.host_id is None and pool.cluster_id != host.cluster_id:
            raise Conflict(
                "the volume is in a shared storage pool of another cluster than the "
                "compute's host; it cannot be attached to this compute",
                subject=Kind.VOLUME.value,
                reason="unreachable",
                other=Kind.COMPUTE.value,
            )

    def _attachment_of(self, volume_id: str) -> str | None:
        query = sa.select(StorageAttachment.id).where(StorageAttachment.volume_id == volume_id)
        return self.session.scalar(query.limit(1))


__all__ = [
    "BOOT_DEVICE",
    "DEVICE_RE",
    "AttachmentService",
    "device_names",
]
