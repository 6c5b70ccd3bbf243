"""Usage meters as OCCI entities of Concord's ``meter`` Kind (:mod:`occi.categories.usage`).

A meter is read through the same engine service CIMI's Meter is
(:class:`engine.usage.meters.MeterService`), with the caller's scope: a
tenant sees its own meters, an administrator those of the domains it
administers; anyone else's meter is a 404, like a missing one. Listings are
filtered and paginated as every collection is (GFD.223 §3.4, §3.5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.usage.meters import Meter
from engine.usage.types import TYPES, UsageType
from occi.categories.usage import METER, METER_LOCATION
from occi.mapping import filters
from occi.mapping import tables as t
from occi.mapping.context import OcciContext
from occi.mapping.load import location_of
from occi.model import (
    ID,
    SUMMARY,
    TITLE,
    AttributeValue,
    Entity,
    EntityCollection,
    EntityRendering,
)

#: Engine resource type -> the table of the OCCI Kind that renders it.
TARGETS = {
    "compute": t.COMPUTE,
    "volume": t.STORAGE,
    "network": t.NETWORK,
    "network_interface": t.NETWORKINTERFACE,
}


@dataclass(frozen=True)
class MeterCollection:
    """The meter Kind's collection, ``/meter/``."""

    path: str = METER_LOCATION


@dataclass(frozen=True)
class MeterPath:
    """One meter's path, ``/meter/<meter id>``."""

    id: str

    @property
    def location(self) -> str:
        """The meter's path."""
        return METER_LOCATION + self.id


def parse_meter_location(path: str) -> MeterCollection | MeterPath | None:
    """The meter collection or a meter's path, or None when ``path`` is neither."""
    if path in (METER_LOCATION, METER_LOCATION.rstrip("/")):
        return MeterCollection()
    if path.startswith(METER_LOCATION):
        meter_id = path[len(METER_LOCATION) :]
        if meter_id and "/" not in meter_id:
            return MeterPath(meter_id)
    return None


def _moment(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def _total(meter: Meter) -> str:
    # Exact: no exponent, no trailing zeros (the same text as CIMI's total).
    return format(meter.amount.normalize(), "f")


def render_meter(meter: Meter) -> EntityRendering:
    """A meter as a resource of the ``meter`` Kind."""
    info = TYPES[UsageType(meter.usage_type)]
    values: dict[str, AttributeValue] = {
        ID: meter.id,
        TITLE: f"{meter.resource_name or meter.resource_id} {meter.usage_type}",
        SUMMARY: info.description,
        "concord.usage.type": meter.usage_type,
        "concord.usage.offering": meter.offering_id,
        "concord.usage.unit": meter.unit,
        "concord.usage.resource.type": meter.resource_type,
        "concord.usage.resource.id": meter.resource_id,
        "concord.usage.resource.name": meter.resource_name,
        "concord.usage.start": _moment(meter.first),
        "concord.usage.end": _moment(meter.last),
        "concord.usage.periods": meter.periods,
        "concord.usage.seconds": meter.seconds,
        "concord.usage.quantity": meter.quantity,
        "concord.usage.total": _total(meter),
    }
    table = TARGETS.get(meter.resource_type)
    if table is not None:
        values["concord.usage.resource.location"] = location_of(table, meter.resource_id)
    return EntityRendering(
        kind=METER.type_id, attributes=values, location=METER_LOCATION + meter.id
    )


def read_meter(ctx: OcciContext, target: MeterPath) -> EntityRendering:
    """One meter the caller may see.

    :raises NotFound: no such meter, or not the caller's.
    """
    return render_meter(ctx.engine.meters.get(ctx.scope, target.id))


def list_meters(
    ctx: OcciContext,
    wanted: filters.Filter,
    page: filters.Page | None,
    *,
    full: bool,
) -> EntityCollection:
    """The meters the caller may see, filtered then paginated.

    :param full: full renderings; without, locations only (text listings).
    """
    meters: list[Entity] = [render_meter(m) for m in ctx.engine.meters.list(ctx.scope)]
    if wanted:
        meters = filters.apply(ctx.registry, meters, wanted)
    chosen = page.slice(meters) if page else meters
    if not full:
        chosen = [EntityRendering(location=m.location) for m in chosen]
    return EntityCollection.of(chosen)


__all__ = [
    "MeterCollection",
    "MeterPath",
    "list_meters",
    "parse_meter_location",
    "read_meter",
    "render_meter",
]
