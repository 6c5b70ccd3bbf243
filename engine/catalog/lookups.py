"""Where new resources go and what they are made of: a zone, an offering, an image.

The compute, storage and network services look up what a request names
through these functions, so that the three refuse an unknown or unusable
zone, offering or image alike. The rules for zones are the inventory's
(:func:`~engine.inventory.service.first_enabled_zone`,
:func:`~engine.inventory.service.seen_zone`), except that "no zone at all" is
a lack of capacity, not a missing resource.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.catalog.models import ComputeOffering, Image
from engine.catalog.service import CatalogService
from engine.errors import CapacityUnavailable, InvalidInput, NotFound
from engine.inventory.models import Zone
from engine.inventory.service import first_enabled_zone, seen_zone
from engine.lifecycle import State
from engine.scope import Scope


def find_zone(session: Session, scope: Scope, zone_id: str | None) -> Zone:
    """The zone to place a new resource in: ``zone_id``, else the first enabled zone.

    The rules are the inventory's (:func:`~engine.inventory.service.first_enabled_zone`,
    :func:`~engine.inventory.service.seen_zone`), except that "no zone at all"
    is a lack of capacity, not a missing resource.
    """
    if zone_id is None:
        zone = first_enabled_zone(session, scope)
        if zone is None:
            raise CapacityUnavailable("no zone accepts new guests")
        return zone
    zone = seen_zone(session, scope, zone_id=zone_id)
    if zone is None:
        raise NotFound(f"no zone {zone_id!r}", subject="zone", id=zone_id)
    return zone


def find_offering(session: Session, scope: Scope, offering_id: str) -> ComputeOffering:
    """A compute offering ``scope`` may use."""
    return CatalogService(session).get_entry(scope, ComputeOffering, offering_id)


def find_image(session: Session, scope: Scope, image_id: str, zone: Zone, memory_mib: int) -> Image:
    """An available image ``scope`` may boot in ``zone`` with ``memory_mib``."""
    image = CatalogService(session).get_entry(scope, Image, image_id)
    if image.state != State.AVAILABLE:
        raise InvalidInput(
            f"image {image.name!r} is {image.state}, not available",
            field="image_id",
            reason="unavailable",
        )
    if image.zone_id is not None and image.zone_id != zone.id:
        raise InvalidInput(
            f"image {image.name!r} is not available in zone {zone.name!r}",
            field="image_id",
            reason="unavailable",
        )
    if memory_mib < image.min_memory_mib:
        raise InvalidInput(
            f"image {image.name!r} needs at least {image.min_memory_mib} MiB of memory",
            field="memory_mib",
            reason="range",
            unit="MiB",
            minimum=image.min_memory_mib,
        )
    return image
