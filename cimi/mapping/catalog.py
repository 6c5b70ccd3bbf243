"""Configurations and images (DSP0263 5.14, 5.15, 5.16) over the engine's catalog.

===================== ====================== ==========================================
CIMI                  engine                 notes
===================== ====================== ==========================================
MachineConfiguration  ComputeOffering        ``cpu`` = vcpus, ``memory`` KiB, one
                                             ``disks`` entry for a root disk size
MachineImage          Image                  ``type`` IMAGE; ``imageLocation`` the
                                             Machine a captured image came from
VolumeConfiguration   DiskOffering           ``capacity`` KiB (custom-size: none)
VolumeImage           Image (the same rows)  bootable; ``imageLocation`` refers to
                                             the MachineImage of the same bytes
NetworkConfiguration  NetworkOffering        ``networkType`` PRIVATE
===================== ====================== ==========================================

Offerings are public catalog entries: only administrators add, edit and
delete them, and the Collections offer ``add`` to administrators only (the
catalog service decides, and refuses others with 403). MachineImages are
added by capture: a MachineImage whose ``imageLocation`` is one of the
caller's Machines (5.14.7.1); registering image bytes is an administrator's
job through the CLI, so any other ``imageLocation`` is refused (400).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping
from typing import Any, ClassVar

from cimi.mapping import names, states
from cimi.mapping.base import (
    COMMON_EDITS,
    KIB_PER_GIB,
    KIB_PER_MIB,
    Binding,
    Context,
    Outcome,
    attr,
    capacity_gib,
    const,
    public_id,
)
from cimi.mapping.templates import name_for
from engine.catalog.models import ComputeOffering, DiskOffering, Image, NetworkOffering
from engine.compute.models import Compute
from engine.errors import InvalidInput
from engine.lifecycle import Action
from engine.scope import Scope


def _manages(scope: Scope, entry: Any) -> bool:
    """Whether *scope* may change *entry* (the catalog service has the last word)."""
    if entry.account_id is not None:
        return scope.is_admin or entry.account_id == scope.account_id
    return scope.is_root_admin or (scope.is_admin and entry.domain_id is not None)


class CatalogBinding(Binding):
    """A catalog entry type; edit and delete for those who manage the entry."""

    model: ClassVar[type[Any]]
    edits = COMMON_EDITS

    #: Whether hrefs carry readable names (configurations and images of machines).
    named: ClassVar[bool] = False

    def ids(self, ctx: Context, obj: Any) -> tuple[str, ...]:
        if self.named:
            return (names.href_id(ctx, self.model, obj.id),)
        return super().ids(ctx, obj)

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Any:
        wanted = names.entry_id(ctx, self.model, ids[0]) if self.named else ids[0]
        return ctx.engine.catalog.get_entry(ctx.scope, self.model, wanted)

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        return ctx.engine.catalog.list_entries(ctx.scope, self.model)

    def can_edit(self, ctx: Context, obj: Any) -> bool:
        return _manages(ctx.scope, obj)

    def update(self, ctx: Context, obj: Any, kwargs: dict[str, Any]) -> Any:
        if kwargs.get("description", "") is None:
            kwargs["description"] = ""  # the catalog reads None as "unchanged"
        return ctx.engine.catalog.update_entry(ctx.scope, self.model, obj.id, **kwargs)

    def can_delete(self, ctx: Context, obj: Any) -> bool:
        return _manages(ctx.scope, obj)

    def delete(self, ctx: Context, obj: Any) -> Outcome:
        ctx.engine.catalog.delete_entry(ctx.scope, self.model, obj.id)
        return Outcome()

    def created(self, ctx: Context, entry: Any) -> Outcome:
        """The outcome of a synchronous creation."""
        return Outcome(entry, location=self.href(ctx, entry), created=True)


class MachineConfigurations(CatalogBinding):
    """MachineConfiguration (5.14) over ComputeOffering."""

    type_name = "MachineConfiguration"
    path = ("machineConfigs",)
    model = ComputeOffering
    named = True
    fields = (
        ("cpu", attr("vcpus")),
        ("memory", attr("memory_mib", KIB_PER_MIB)),
        (
            "disks",
            lambda o, ctx, href: (
                [{"capacity": o.root_disk_gib * KIB_PER_GIB}] if o.root_disk_gib else None
            ),
        ),
    )

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.is_admin

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        if value.get("cpuArch", "x86_64") != "x86_64":
            raise InvalidInput("Concord guests are x86_64", field="cpuArch")
        disks = value.get("disks", [])
        if len(disks) > 1:
            raise InvalidInput("a configuration has at most one (root) disk", field="disks")
        offering = ctx.engine.catalog.create_compute_offering(
            ctx.scope,
            name_for(value, "config"),
            vcpus=value["cpu"],
            memory_mib=math.ceil(value["memory"] / KIB_PER_MIB),
            root_disk_gib=capacity_gib(disks[0]["capacity"], "disks[0].capacity") if disks else 0,
            description=value.get("description"),
            properties=value.get("properties"),
        )
        return self.created(ctx, offering)


def _image_state(image: Image, ctx: Context, href: str) -> str | None:
    return states.state_of(states.IMAGE, image.state)


class MachineImages(CatalogBinding):
    """MachineImage (5.14.7) over Image; added by capturing a Machine."""

    type_name = "MachineImage"
    path = ("machineImages",)
    model = Image
    named = True
    fields = (
        ("state", _image_state),
        ("type", const("IMAGE")),
        (
            "imageLocation",
            lambda i, ctx, href: (
                ctx.links.of("machines", public_id(ctx, Compute, i.source_compute_id) or "")
                if i.source_compute_id
                else None
            ),
        ),
    )

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        if value.get("type", "IMAGE") != "IMAGE":
            raise InvalidInput("a capture makes a full IMAGE, not a snapshot", field="type")
        if "relatedImage" in value:
            raise InvalidInput("relatedImage is not supported", field="relatedImage")
        machine_id = ctx.links.id_of(
            value["imageLocation"], "machines", "Machine (to capture)", "imageLocation"
        )
        name = name_for(value, "image")
        job = ctx.engine.compute.perform(
            ctx.scope,
            machine_id,
            Action.CAPTURE,
            image_name=name,
            image_description=value.get("description"),
        )
        ctx.memo.pop("terms.Image", None)  # the catalog grew: names are made over it
        image = ctx.engine.catalog.get_entry(ctx.scope, Image, job.parameters["image_id"])
        if value.get("properties"):
            ctx.engine.catalog.update_entry(
                ctx.scope, Image, image.id, properties=value["properties"]
            )
        return Outcome(image, job=job, location=self.href(ctx, image), created=True)


class VolumeConfigurations(CatalogBinding):
    """VolumeConfiguration (5.15.5) over DiskOffering."""

    type_name = "VolumeConfiguration"
    path = ("volumeConfigs",)
    model = DiskOffering
    fields = (
        (
            "capacity",
            lambda o, ctx, href: o.size_gib * KIB_PER_GIB if o.size_gib is not None else None,
        ),
    )

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.is_admin

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        offering = ctx.engine.catalog.create_disk_offering(
            ctx.scope,
            name_for(value, "config"),
            size_gib=capacity_gib(value["capacity"], "capacity"),
            description=value.get("description"),
            properties=value.get("properties"),
        )
        return self.created(ctx, offering)


class VolumeImages(CatalogBinding):
    """VolumeImage (5.15) over the same images: what a bootable Volume is made from."""

    type_name = "VolumeImage"
    path = ("volumeImages",)
    model = Image
    named = True
    edits: ClassVar[Mapping[str, str]] = {}
    fields = (
        ("state", _image_state),
        (
            "imageLocation",
            lambda i, ctx, href: {
                "href": ctx.links.of("machineImages", names.href_id(ctx, Image, i.id))
            },
        ),
        ("bootable", const(True)),
    )

    def can_delete(self, ctx: Context, obj: Any) -> bool:
        return False  # through its MachineImage: one way to delete an image


class NetworkConfigurations(CatalogBinding):
    """NetworkConfiguration (5.16) over NetworkOffering."""

    type_name = "NetworkConfiguration"
    path = ("networkConfigs",)
    model = NetworkOffering
    fields = (("networkType", const("PRIVATE")),)

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.is_admin

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        if value.get("networkType", "PRIVATE") != "PRIVATE":
            raise InvalidInput("Concord networks are PRIVATE", field="networkType")
        for unsupported in ("mtu", "classOfService"):
            if unsupported in value:
                raise InvalidInput(f"{unsupported} is not supported", field=unsupported)
        offering = ctx.engine.catalog.create_network_offering(
            ctx.scope,
            name_for(value, "config"),
            description=value.get("description"),
            properties=value.get("properties"),
        )
        return self.created(ctx, offering)


__all__ = [
    "CatalogBinding",
    "MachineConfigurations",
    "MachineImages",
    "NetworkConfigurations",
    "VolumeConfigurations",
    "VolumeImages",
]
