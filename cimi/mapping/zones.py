"""The availability zone extension of Machines, Volumes and Networks (docs/cimi.rst).

CIMI has no placement vocabulary; DSP0263 5.8 lets a provider add extension
attributes, declared in ResourceMetadata (5.11). A MachineCreate,
VolumeCreate or NetworkCreate may give ``zone``, the name of a zone the
caller may use, and the new resource is placed there (without it, the first
enabled zone); every Machine, Volume and Network shows its ``zone``. The
zones are the same engine rows OCCI renders as ``availability_zone#<name>``
Mixins. A zone the caller may not use (a disabled one, for a tenant) is
found exactly as one that does not exist: a 400 that names only what the
client sent, so a tenant learns nothing of zones it cannot use.
"""

from __future__ import annotations

from typing import Any

from cimi.mapping.base import Context, Getter, body_references
from engine.inventory.models import Zone


def zone_name(ctx: Context, zone_id: str | None) -> str | None:
    """The name of a resource's zone (None when it has none), once per request."""
    names: dict[str, str] = ctx.memo.setdefault("zones", {})
    if zone_id and zone_id not in names:
        zone = ctx.engine.session.get(Zone, zone_id)
        names[zone_id] = zone.name if zone is not None else ""
    return names.get(zone_id or "") or None


#: The ``zone`` attribute of a Machine, Volume or Network (rows with a ``zone_id``).
ZONE_FIELD: tuple[str, Getter] = ("zone", lambda obj, ctx, href: zone_name(ctx, obj.zone_id))


def chosen_zone(ctx: Context, value: dict[str, Any]) -> str | None:
    """The id of the zone a create request names in ``zone`` (None: the default zone).

    :raises InvalidInput: no zone of that name that the caller may use (a 400,
        as any unknown name in a body: :func:`cimi.mapping.base.body_references`).
    """
    if value.get("zone") is None:
        return None
    with body_references():
        return ctx.engine.inventory.find_zone(ctx.scope, value["zone"]).id


__all__ = ["ZONE_FIELD", "chosen_zone", "zone_name"]
