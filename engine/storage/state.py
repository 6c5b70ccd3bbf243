"""A volume's recorded facts: quota amounts, names and events.

Shared by :mod:`engine.storage.service` (requests) and
:mod:`engine.storage.handlers` (jobs), so that both record changes the same
way: every ``volume.*`` event carries :func:`volume_facts` (owner, zone,
pool and its host, offering, image, size, ``state``, creation time) plus
``previous_state``, so that usage accounting can follow a volume from its
events alone (its attachments' events: :mod:`engine.compute.link_events`).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from engine.inventory.models import StoragePool
from engine.lifecycle import Action, Kind
from engine.resources import checks
from engine.resources.emitters import ResourceEmitter, resource_emitter
from engine.resources.state import iso
from engine.storage.models import Volume
from engine.tenancy.models import ResourceType

GIB = 1024**3
#: Larger than any volume a libvirt pool of one cluster holds: a typo or an attack.
MAX_VOLUME_GIB = 64 * 1024
#: The actions :meth:`StorageService.perform` accepts.
VOLUME_ACTIONS = frozenset({Action.ONLINE, Action.OFFLINE, Action.RESIZE, Action.DELETE})


def gib(size_bytes: int) -> int:
    """A size in whole GiB, rounded up (what the ``primary_storage`` limit counts)."""
    return math.ceil(size_bytes / GIB)


def quota_amounts(volume: Volume) -> dict[ResourceType, int]:
    """What a volume counts against its owner's limits."""
    return {ResourceType.VOLUMES: 1, ResourceType.PRIMARY_STORAGE: gib(volume.size_bytes)}


def volume_name(volume_id: str) -> str:
    """The volume's name in its libvirt pool."""
    return f"concord-volume-{volume_id}"


def volume_facts(session: Session, volume: Volume) -> dict[str, Any]:
    """The facts every ``volume.*`` event carries (usage accounting reads these)."""
    pool = session.get(StoragePool, volume.pool_id) if volume.pool_id else None
    return {
        "name": volume.name,
        "account_id": volume.account_id,
        "project_id": volume.project_id,
        "domain_id": volume.domain_id,
        "zone_id": volume.zone_id,
        "pool_id": volume.pool_id,
        "host_id": pool.host_id if pool else None,
        "offering_id": volume.offering_id,
        "image_id": volume.image_id,
        "size_bytes": volume.size_bytes,
        "size_gib": gib(volume.size_bytes),
        "bootable": volume.bootable,
        "state": volume.state,
        "created": iso(volume.created),
    }


emit_volume: ResourceEmitter[Volume] = resource_emitter(
    Kind.VOLUME,
    volume_facts,
    "Record a ``volume.*`` event with the volume's facts, in the caller's transaction.",
)


def check_size_gib(size_gib: object, field: str = "size_gib", *, hint: str = "") -> int:
    """A volume size in GiB: a whole number from 1 to :data:`MAX_VOLUME_GIB`.

    A number that is not whole (``1.5``, or CIMI's KiB over 1048576) is
    refused, never rounded (:func:`engine.resources.checks.check_whole_gib`).

    :returns: the size as an int.
    """
    return checks.check_whole_gib(size_gib, field, 1, MAX_VOLUME_GIB, hint=hint)


__all__ = [
    "GIB",
    "MAX_VOLUME_GIB",
    "VOLUME_ACTIONS",
    "check_size_gib",
    "emit_volume",
    "gib",
    "quota_amounts",
    "volume_facts",
    "volume_name",
]
