"""Volumes (OCCI storage, CIMI Volume); attaching them to computes is
:mod:`engine.compute.attachments`.

Every mutation happens in the caller's transaction and is complete when it
commits: the volume row, its quota charge (``volumes`` and
``primary_storage`` in GiB), its reservation in a storage pool, its event and
its job. Work on the hypervisor is a job (:mod:`engine.storage.handlers`)
that a worker runs after the commit; the caller wakes in-process workers
with :func:`engine.jobs.worker.notify` after committing. If a method raises, the
caller rolls back, which is what guarantees "nothing created, nothing
charged".

Volumes are placed in any enabled pool of their zone when they are created
(:meth:`~engine.allocation.service.AllocationService.place_volume`); a
volume can later be attached only to a guest whose host reaches that pool
(the host's own pool, or a shared pool of its cluster).

Sizes are whole GiB: the unit of the ``primary_storage`` limit. The
renderings round OCCI ``occi.storage.size`` (GiB, a float; GFD.224 §3.3) and
CIMI ``capacity`` (KiB; DSP0263 §5.15) up to it.

Choices where the specs leave room:

* a volume only grows (GFD.184's ``resize``; shrinking would cut data), also
  while attached to a running guest: the pool volume grows at once, the
  guest sees the new size after its next boot;
* a volume is taken ``offline`` (GFD.224 §3.3 Fig. 5) only when detached,
  and attached only when ``available``;
* a deleted volume keeps its row, ``deleted``, for usage history; it is
  gone for :meth:`StorageService.get` and :meth:`StorageService.list`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine import lifecycle
from engine.allocation.service import AllocationService
from engine.catalog import lookups
from engine.catalog.models import DiskOffering, Image
from engine.catalog.service import CatalogService
from engine.errors import CapacityUnavailable, Conflict, InvalidInput
from engine.inventory.models import StoragePool
from engine.jobs.models import Job
from engine.jobs.service import JobService
from engine.lifecycle import Action, Kind, State
from engine.resources import checks
from engine.resources.checks import UNSET, Unset
from engine.resources.emitters import ResourceEmitter
from engine.resources.ids import choose_id
from engine.resources.owned import OwnedResources
from engine.scope import Owner, Scope
from engine.storage.models import StorageAttachment, Volume
from engine.storage.state import (
    GIB,
    VOLUME_ACTIONS,
    check_size_gib,
    emit_volume,
    gib,
    quota_amounts,
    volume_name,
)
from engine.tenancy.models import ResourceType
from engine.tenancy.quotas import QuotaService


class StorageService(OwnedResources[Volume]):
    """Volumes as tenants and administrators see them.

    :meth:`list` comes from :class:`~engine.resources.owned.OwnedResources`.

    :param session: the unit of work; the caller commits (then calls
        :func:`engine.jobs.worker.notify`) or rolls back.
    """

    model = Volume
    kind = Kind.VOLUME

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def emitter(self) -> ResourceEmitter[Volume]:
        """:func:`~engine.storage.state.emit_volume`."""
        return emit_volume

    # -- reading ---------------------------------------------------------------

    def get(self, scope: Scope, volume_id: str, *, include_deleted: bool = False) -> Volume:
        """A volume visible to ``scope``.

        :raises NotFound: no such volume, deleted, or another tenant's.
        """
        return self._find(scope, volume_id, include_deleted)

    # -- creating --------------------------------------------------------------

    def create_volume(
        self,
        scope: Scope,
        *,
        name: str,
        size_gib: int | None = None,
        offering_id: str | None = None,
        zone_id: str | None = None,
        description: str | None = None,
        properties: Mapping[str, str] | None = None,
        image_id: str | None = None,
        volume_id: str | None = None,
    ) -> tuple[Volume, Job]:
        """Create a volume: charge quotas, reserve pool space, queue its ``volume.create`` job.

        The size is ``size_gib``, else the offering's (an offering without a
        size is a custom-size one and needs ``size_gib``), else the image's
        minimum. The volume is ``creating`` until its job ends, then ``available``.

        :param offering_id: a disk offering; its storage tags restrict the pools.
        :param zone_id: where to create it; by default the first enabled zone.
        :param image_id: an image the volume is marked bootable from. Only
            images without content (firmware-only) qualify: copying an
            image's bytes into a volume needs a driver call the contract
            does not have yet.
        :param volume_id: an id the client chose (OCCI PUT at a new path);
            by default a new UUID (see :func:`engine.resources.ids.choose_id`).
        :returns: the volume and its creation job.
        :raises InvalidInput: a malformed value, or no size at all.
        :raises NotFound: the zone, offering or image is unknown or invisible.
        :raises QuotaExceeded: a limit of the owner would be passed.
        :raises CapacityUnavailable: no pool of the zone has room.
        """
        owner = Owner.for_scope(scope)
        if owner.account_id is None:
            raise InvalidInput(
                "only an account can own a volume; act as a user of one",
                subject=Kind.VOLUME.value,
                reason="owner",
            )
        checks.check_text("name", name, 255, required=True)
        checks.check_text("description", description, 1024)
        checks.check_properties(properties)
        zone = lookups.find_zone(self.session, scope, zone_id)
        catalog = CatalogService(self.session)
        offering = catalog.get_entry(scope, DiskOffering, offering_id) if offering_id else None
        image = catalog.get_entry(scope, Image, image_id) if image_id else None
        minimum = self._image_minimum(image, zone.id) if image else 1
        if size_gib is None:
            size_gib = offering.size_gib if offering and offering.size_gib else None
        if size_gib is None and image is not None:
            size_gib = minimum
        if size_gib is None:
            raise InvalidInput(
                "give size_gib, or an offering with a size (this one is custom-sized)"
                if offering
                else "give size_gib or a disk offering",
                field="size_gib",
                reason="required",
            )
        size_gib = check_size_gib(size_gib)
        if size_gib < minimum:
            raise InvalidInput(
                f"the image needs a volume of at least {minimum} GiB",
                field="size_gib",
                reason="range",
                unit="GiB",
                minimum=minimum,
            )
        row_id, chosen_id = choose_id(self.session, Volume, volume_id, account_id=owner.account_id)
        volume = Volume(
            id=row_id,
            chosen_id=chosen_id,
            name=name,
            description=description,
            properties=dict(properties or {}),
            state=lifecycle.initial(Kind.VOLUME).value,
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id,
            zone_id=zone.id,
            offering_id=offering.id if offering else None,
            image_id=image.id if image else None,
            bootable=image is not None,
            size_bytes=size_gib * GIB,
            quota_held=True,
        )
        volume.volume_name = volume_name(volume.id)
        self.session.add(volume)
        # The INSERT goes first: QuotaService.charge opens a SAVEPOINT, and on
        # SQLite a SAVEPOINT that is a transaction's first write commits on release.
        self.session.flush()
        QuotaService(self.session).charge(owner, quota_amounts(volume))
        tags = frozenset(offering.storage_tags.split()) if offering else frozenset()
        pool = AllocationService(self.session).place_volume(zone.id, volume.size_bytes, tags=tags)
        volume.pool_id = pool.id
        self.session.flush()
        job = JobService(self.session).submit(
            scope,
            "volume.create",
            Kind.VOLUME.value,
            volume.id,
            owner,
            {"previous": None},
        )
        emit_volume(
            self.session, volume, "volume.created", previous_state=None, scope=scope, job_id=job.id
        )
        return volume, job

    @staticmethod
    def _image_minimum(image: Image, zone_id: str) -> int:
        if image.state != State.AVAILABLE:
            raise InvalidInput(
                f"image {image.name!r} is {image.state}, not available",
                field="image_id",
                reason="unavailable",
            )
        if image.zone_id is not None and image.zone_id != zone_id:
            raise InvalidInput(
                f"image {image.name!r} is not available in that zone",
                field="image_id",
                reason="unavailable",
            )
        if image.location:
            raise InvalidInput(
                "volumes cannot be created from an image's content yet; create an empty one",
                field="image_id",
                reason="unsupported",
            )
        return max(1, image.min_disk_gib, gib(image.size_bytes))

    # -- changing --------------------------------------------------------------

    def update(
        self,
        scope: Scope,
        volume_id: str,
        *,
        name: str | Unset = UNSET,
        description: str | Unset | None = UNSET,
        properties: Mapping[str, str] | Unset = UNSET,
    ) -> Volume:
        """Change the fields that do not depend on the volume's state (only those given).

        :raises NotFound: no such volume visible to ``scope``.
        """
        volume = self.get(scope, volume_id)
        return self._change(scope, volume, self._field_changes(name, description, properties))

    def resize(self, scope: Scope, volume_id: str, size_gib: int) -> Job:
        """Grow a volume to ``size_gib``; quotas and pool space grow by the difference now.

        :raises InvalidInput: the size is not larger than the current one.
        :raises InvalidTransition: the volume is not ``available``.
        :raises QuotaExceeded: the owner's ``primary_storage`` limit would be passed.
        :raises CapacityUnavailable: the volume's pool has no room to grow.
        """
        size_gib = check_size_gib(size_gib)
        volume = self.get(scope, volume_id)
        new_bytes, old_bytes = size_gib * GIB, volume.size_bytes
        if new_bytes <= old_bytes:
            raise InvalidInput(
                f"a volume only grows; it has {gib(old_bytes)} GiB",
                field="size_gib",
                reason="grow",
                current=gib(old_bytes),
            )
        # The conditional update is the first write (see create_volume) and
        # pins the volume against a concurrent request.
        previous = self._begin(volume, Action.RESIZE)
        QuotaService(self.session).charge(
            Owner.of(volume), {ResourceType.PRIMARY_STORAGE: gib(new_bytes) - gib(old_bytes)}
        )
        pool = self.session.get(StoragePool, volume.pool_id) if volume.pool_id else None
        if pool is None or not AllocationService(self.session).claim_pool(
            pool, new_bytes - old_bytes
        ):
            raise CapacityUnavailable(
                "the volume's storage pool has no room to grow it", size_gib=size_gib
            )
        return self._submit(
            scope,
            volume,
            Action.RESIZE,
            previous,
            {"size_bytes": new_bytes, "previous_size_bytes": old_bytes},
        )

    def perform(self, scope: Scope, volume_id: str, action: Action | str, **params: Any) -> Job:
        """Queue an action on a volume: ``online``, ``offline``, ``resize`` (``size_gib``)
        or ``delete``.

        :raises InvalidInput: an unknown action or parameter.
        :raises InvalidTransition: the volume's state forbids the action.
        :raises Conflict: taking an attached volume offline.
        :raises NotFound: no such volume visible to ``scope``.
        """
        action = checks.parse_action(action)
        if action not in VOLUME_ACTIONS:
            raise InvalidInput(
                f"'{action}' is not an action of a volume", field="action", reason="unknown"
            )
        allowed = {"size_gib"} if action is Action.RESIZE else set()
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise InvalidInput(
                f"'{action}' does not take {', '.join(unknown)}",
                field=unknown[0],
                reason="not_taken",
            )
        if action is Action.RESIZE:
            if "size_gib" not in params:
                raise InvalidInput("resize needs size_gib", field="size_gib", reason="required")
            return self.resize(scope, volume_id, params["size_gib"])
        if action is Action.DELETE:
            return self.delete(scope, volume_id)
        volume = self.get(scope, volume_id)
        previous = self._begin(volume, action)
        if action is Action.OFFLINE and self._attached(volume.id):
            raise Conflict(
                "the volume is attached to a compute; detach it before taking it offline",
                subject=Kind.VOLUME.value,
                reason="attached",
                other=Kind.COMPUTE.value,
            )
        return self._submit(scope, volume, action, previous, {})

    def delete(self, scope: Scope, volume_id: str) -> Job:
        """Queue the deletion of a volume, which gives back its pool space and quota.

        :raises Conflict: it is attached to a compute (detach it first).
        :raises InvalidTransition: a job is running on it.
        :raises NotFound: no such volume visible to ``scope``.
        """
        volume = self.get(scope, volume_id)
        # State first: a concurrent attach pins the volume 'available' and so
        # either commits before this update (and is seen below) or fails.
        previous = self._begin(volume, Action.DELETE)
        if self._attached(volume.id):
            raise Conflict(
                "the volume is attached to a compute; detach it first",
                id=volume.id,
                subject=Kind.VOLUME.value,
                reason="attached",
                other=Kind.COMPUTE.value,
            )
        return self._submit(scope, volume, Action.DELETE, previous, {})

    # -- internals -------------------------------------------------------------

    def _attached(self, volume_id: str) -> bool:
        query = sa.select(StorageAttachment.id).where(StorageAttachment.volume_id == volume_id)
        return self.session.scalar(query.limit(1)) is not None


__all__ = ["StorageService"]
