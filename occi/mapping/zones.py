"""Zones as OCCI Mixins: a client sees where resources can go, and chooses.

GFD.224 has no placement; OCCI's extension mechanism is the Mixin (GFD.221
§3.2.4), and OpenStack's OCCI interface offered availability zones the same
way. Each zone the caller may use is a Mixin in Concord's scheme
``<PROVIDER>/occi/availability_zone#``, its term made from the zone's name
(:func:`occi.mapping.templates.readable_terms`), applying to compute, storage
and network. A resource created with one is placed in that zone (the engine's
placement honours it); one created without goes to the first enabled zone.
Every compute, storage and network renders its zone's Mixin. A zone is chosen
at creation: naming another one in an update is a 409. A zone the caller may
not use (a disabled one, for a tenant) is no Mixin of its registry, so naming
it is a 400 like any unknown category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.errors import InvalidInput
from engine.inventory.models import Zone
from occi.categories import infrastructure as infra
from occi.categories.templates import provider_scheme
from occi.categories.types import Mixin
from occi.mapping.templates import PROVIDER, readable_terms

ZONE_SCHEME = provider_scheme(PROVIDER, "availability_zone")
#: Where a zone's Mixin collection is: ``/mixin/availability_zone/<term>/``.
ZONE_LOCATION = "/mixin/availability_zone/"


def zone_mixins(zones: Iterable[Zone]) -> dict[str, Mixin]:
    """``{zone id: its Mixin}`` for the zones a caller may use."""
    listed = list(zones)
    terms = readable_terms(listed)
    return {
        zone.id: Mixin(
            terms[zone.id],
            ZONE_SCHEME,
            _title(zone),
            applies=(infra.COMPUTE.type_id, infra.STORAGE.type_id, infra.NETWORK.type_id),
            location=f"{ZONE_LOCATION}{terms[zone.id]}/",
        )
        for zone in listed
    }


def _title(zone: Zone) -> str:
    described = f": {zone.description}" if zone.description else ""
    return f"availability zone {zone.name}{described}"


def chosen_zone(by_zone: Mapping[str, Mixin], type_ids: Iterable[str]) -> str | None:
    """The zone id a creation request's Mixins choose, if any.

    :raises InvalidInput: two zones are named.
    """
    wanted = {mixin.type_id: zone_id for zone_id, mixin in by_zone.items()}
    chosen = {wanted[type_id] for type_id in type_ids if type_id in wanted}
    if len(chosen) > 1:
        raise InvalidInput("a resource is placed in one availability zone: name at most one")
    return next(iter(chosen), None)


__all__ = ["ZONE_LOCATION", "ZONE_SCHEME", "chosen_zone", "zone_mixins"]
