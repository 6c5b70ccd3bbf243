"""Volume (DSP0263 5.15) over the engine's volumes.

``capacity`` is KiB (the engine's whole GiB x 1024 x 1024); ``bootable`` is
the engine's flag. A Volume is created from a VolumeTemplate (reference,
value or both) through :meth:`~engine.templates.service.TemplateService.launch_volume`,
and deleted by a job; ``delete`` is offered only when the lifecycle allows it
and no Machine has the Volume attached (the engine refuses that, 409).
Attachment shows as a MachineVolume, never as a Volume state (cimi.md 6.16).
"""

from __future__ import annotations

import builtins
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from cimi.mapping import states
from cimi.mapping.base import (
    COMMON_EDITS,
    COMMON_NEEDS,
    Binding,
    Context,
    Outcome,
    ScopedListing,
    attr,
)
from cimi.mapping.queried import volume_columns
from cimi.mapping.templates import name_for, template_parameters
from cimi.mapping.zones import ZONE_FIELD, chosen_zone
from cimi.query.sql import Columns
from engine.lifecycle import Kind
from engine.storage.models import StorageAttachment, Volume
from engine.templates.models import TemplateKind


def _attached(ctx: Context, volume: Volume) -> bool:
    known = ctx.memo.get("volumes.attached")
    if known is not None and volume.id in known["checked"]:
        return volume.id in known["yes"]
    query = sa.select(StorageAttachment.id).where(StorageAttachment.volume_id == volume.id)
    return ctx.engine.session.scalar(query.limit(1)) is not None


class Volumes(Binding):
    """Volume (5.15) over Volume."""

    type_name = "Volume"
    path = ("volumes",)
    fields = (
        ("state", lambda v, ctx, href: states.state_of(states.VOLUME, v.state)),
        ("capacity", lambda v, ctx, href: v.size_bytes // 1024),
        ("bootable", attr("bootable")),
        ZONE_FIELD,
    )
    edits = COMMON_EDITS
    model = Volume
    needs = MappingProxyType(
        {
            **COMMON_NEEDS,
            "state": ("state",),
            "capacity": ("size_bytes",),
            "bootable": ("bootable",),
            "zone": ("zone_id",),
            "operations": ("state",),
        }
    )

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Volume:
        return ctx.engine.storage.get(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Volume]:
        return ctx.engine.storage.list(ctx.scope)

    def columns(self, ctx: Context) -> Columns:
        return volume_columns(ctx)

    def listing(self, ctx: Context) -> ScopedListing:
        return ctx.engine.storage

    def prepare(
        self, ctx: Context, objs: builtins.list[Any], only: frozenset[str] | None = None
    ) -> None:
        if only is not None and "operations" not in only:
            return  # only ``delete`` asks whether a volume is attached
        ids = [v.id for v in objs]
        query = sa.select(StorageAttachment.volume_id).where(StorageAttachment.volume_id.in_(ids))
        attached = set(ctx.engine.session.scalars(query))
        ctx.memo["volumes.attached"] = {"checked": set(ids), "yes": attached}

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        params = template_parameters(ctx, value, "volumeTemplate", TemplateKind.VOLUME)
        volume, job = ctx.engine.templates.launch_volume(
            ctx.scope,
            zone_id=chosen_zone(ctx, value),  # the zone extension (cimi.mapping.zones)
            name=name_for(value, "volume"),
            description=value.get("description"),
            properties=value.get("properties"),
            parameters=params,
        )
        return Outcome(volume, job=job, location=self.href(ctx, volume), created=True)

    def update(self, ctx: Context, obj: Volume, kwargs: dict[str, Any]) -> Any:
        return ctx.engine.storage.update(ctx.scope, obj.id, **kwargs)

    def can_delete(self, ctx: Context, obj: Volume) -> bool:
        return states.deletable(Kind.VOLUME, obj.state) and not _attached(ctx, obj)

    def delete(self, ctx: Context, obj: Volume) -> Outcome:
        job = ctx.engine.storage.delete(ctx.scope, obj.id)
        return Outcome(job=job, location=self.href(ctx, obj))


__all__ = ["Volumes"]
