"""Machine (DSP0263 5.14.1) and its link resources over computes, attachments and NICs.

=================================  ==============================================
CIMI                               engine
=================================  ==============================================
Machine                            Compute (``cpu`` = vcpus, ``memory`` KiB = MiB
                                   x 1024, ``cpuArch`` from the arch)
MachineDisk                        the boot disk of a compute whose image has bytes
MachineVolume                      StorageAttachment (``initialLocation`` =
                                   ``/dev/`` + device)
MachineNetworkInterface            NetworkInterface (``macAddress`` = mac)
MachineNetworkInterfaceAddress     the interface's IP address, as an Address
=================================  ==============================================

A Machine is created from a MachineTemplate (by reference, by value or both)
through :meth:`engine.templates.service.TemplateService.launch_compute`; its
actions are the lifecycle's (:mod:`cimi.mapping.states`). Capture is offered
when the Machine has a disk to copy, and is POSTed to the MachineImage
Collection (5.14.7.1).
"""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy as sa

from cimi.mapping import states
from cimi.mapping.base import (
    COMMON_EDITS,
    KIB_PER_MIB,
    Binding,
    Context,
    Outcome,
    attr,
    const,
    ref,
    sub,
)
from cimi.mapping.parameters import device_of
from cimi.mapping.templates import name_for, template_parameters
from engine.catalog.models import Image
from engine.compute.models import Compute
from engine.errors import InvalidInput, NotFound
from engine.lifecycle import Kind
from engine.network.models import NetworkInterface
from engine.storage.models import StorageAttachment
from engine.templates.models import TemplateKind

#: libvirt/engine architecture -> CIMI cpuArch (5.14.1).
ARCHITECTURES = {
    "x86_64": "x86_64",
    "i686": "x86",
    "i386": "x86",
    "aarch64": "ARM",
    "armv7l": "ARM",
    "ppc64": "PowerPC",
    "ppc64le": "PowerPC",
    "s390x": "zArchitecture",
    "mips": "MIPS",
    "sparc64": "SPARC",
}
BOOT_DEVICE = "vda"


def _capturable(ctx: Context, compute: Compute) -> bool:
    """Whether the guest has a disk the capture job can copy (engine.compute.capture)."""
    with_disk = ctx.memo.get("machines.with_disk")
    if with_disk is not None and compute.id in with_disk.get("checked", ()):
        return compute.id in with_disk["yes"]
    session = ctx.engine.session
    attached = session.scalar(
        sa.select(StorageAttachment.id).where(StorageAttachment.compute_id == compute.id).limit(1)
    )
    if attached is not None:
        return True
    image = session.get(Image, compute.image_id) if compute.image_id else None
    return image is not None and image.location is not None


class Machines(Binding):
    """Machine (5.14.1) over Compute."""

    type_name = "Machine"
    path = ("machines",)
    fields = (
        ("state", lambda c, ctx, href: states.state_of(states.MACHINE, c.state)),
        ("cpu", attr("vcpus")),
        ("memory", attr("memory_mib", KIB_PER_MIB)),
        ("disks", sub("disks")),
        ("cpuArch", lambda c, ctx, href: ARCHITECTURES.get(c.arch)),
        ("volumes", sub("volumes")),
        ("networkInterfaces", sub("networkInterfaces")),
    )
    edits = COMMON_EDITS

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Compute:
        return ctx.engine.compute.get(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Compute]:
        return ctx.engine.compute.list(ctx.scope)

    def prepare(self, ctx: Context, objs: builtins.list[Any]) -> None:
        ids = [c.id for c in objs]
        session = ctx.engine.session
        attached = set(
            session.scalars(
                sa.select(StorageAttachment.compute_id).where(StorageAttachment.compute_id.in_(ids))
            )
        )
        images = {c.image_id for c in objs if c.image_id}
        with_bytes = set(
            session.scalars(
                sa.select(Image.id).where(Image.id.in_(images), Image.location.is_not(None))
            )
        )
        yes = attached | {c.id for c in objs if c.image_id in with_bytes}
        ctx.memo["machines.with_disk"] = {"checked": set(ids), "yes": yes}

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        params = template_parameters(ctx, value, "machineTemplate", TemplateKind.COMPUTE)
        compute, job = ctx.engine.templates.launch_compute(
            ctx.scope,
            name=name_for(value, "machine"),
            description=value.get("description"),
            properties=value.get("properties"),
            parameters=params,
        )
        return Outcome(compute, job=job, location=self.href(ctx, compute), created=True)

    def update(self, ctx: Context, obj: Compute, kwargs: dict[str, Any]) -> Any:
        return ctx.engine.compute.update(ctx.scope, obj.id, **kwargs)

    def can_delete(self, ctx: Context, obj: Compute) -> bool:
        return states.deletable(Kind.COMPUTE, obj.state)

    def delete(self, ctx: Context, obj: Compute) -> Outcome:
        job = ctx.engine.compute.delete(ctx.scope, obj.id)
        return Outcome(job=job, location=self.href(ctx, obj))

    def actions_now(self, ctx: Context, obj: Compute, href: str) -> builtins.list[tuple[str, str]]:
        offered = states.offered(Kind.COMPUTE, obj.state, states.MACHINE_ACTIONS)
        actions = [(name, href) for name in offered if name != "capture"]
        if "capture" in offered and _capturable(ctx, obj):
            actions.append(("capture", ctx.links.of("machineImages")))
        return actions

    def act(self, ctx: Context, obj: Compute, name: str, action: dict[str, Any]) -> Outcome:
        if name == "capture":
            raise InvalidInput(
                "capture a Machine by POSTing a MachineImage whose imageLocation is the "
                "Machine to the machineImages Collection (DSP0263 5.14.7.1)",
                field="action",
            )
        if name not in states.MACHINE_ACTIONS:
            return super().act(ctx, obj, name, action)
        table = states.FORCED if action.get("force") else states.MACHINE_ACTIONS
        candidates = table.get(name, states.MACHINE_ACTIONS[name])
        # When none is allowed, the first is asked for and the engine says why not (409).
        chosen = states.engine_action(Kind.COMPUTE, obj.state, candidates) or candidates[0]
        job = ctx.engine.compute.perform(ctx.scope, obj.id, chosen)
        return Outcome(job=job, location=self.href(ctx, obj))


class _MachinePart(Binding):
    """A resource of a Machine's sub-collection: its parent must be visible."""

    def check_parent(self, ctx: Context, parent: tuple[str, ...]) -> None:
        ctx.engine.compute.get(ctx.scope, parent[0])


class MachineDisks(_MachinePart):
    """MachineDisk: the boot disk of a Machine booted from an image with bytes."""

    type_name = "MachineDisk"
    path = ("machines", "disks")
    fields = (
        ("capacity", lambda d, ctx, href: d["capacity"]),
        ("initialLocation", const(f"/dev/{BOOT_DEVICE}")),
    )
    common = False

    def ids(self, obj: Any) -> tuple[str, ...]:
        return (obj["compute_id"], "boot")

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        compute = ctx.engine.compute.get(ctx.scope, parent[0])
        image = ctx.engine.session.get(Image, compute.image_id) if compute.image_id else None
        if image is None or image.location is None:
            return []
        return [{"compute_id": compute.id, "capacity": image.size_bytes // 1024}]

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Any:
        found = [d for d in self.fetch_all(ctx, ids[:1]) if d["compute_id"] == ids[0]]
        if ids[1] != "boot" or not found:
            raise NotFound(f"no disk {ids[1]!r}")
        return found[0]


class MachineVolumes(_MachinePart):
    """MachineVolume: a Volume attached to a Machine (attach = add, detach = delete)."""

    type_name = "MachineVolume"
    path = ("machines", "volumes")
    fields = (
        ("initialLocation", lambda a, ctx, href: f"/dev/{a.device}"),
        ("volume", ref("volumes", "volume_id")),
    )

    def ids(self, obj: StorageAttachment) -> tuple[str, ...]:
        return (obj.compute_id, obj.id)

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> StorageAttachment:
        attachment = ctx.engine.attachments.get_attachment(ctx.scope, ids[1])
        if attachment.compute_id != ids[0]:
            raise NotFound(f"no storage attachment {ids[1]!r}")
        return attachment

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        self.check_parent(ctx, parent)
        return ctx.engine.attachments.list_attachments(ctx.scope, compute_id=parent[0])

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        volume_id = ctx.links.id_of(value["volume"].get("href"), "volumes", "Volume", "volume")
        attachment, job = ctx.engine.attachments.attach(
            ctx.scope,
            compute_id=parent[0],
            volume_id=volume_id,
            device=device_of(value.get("initialLocation")),
        )
        return Outcome(attachment, job=job, location=self.href(ctx, attachment), created=True)

    def can_delete(self, ctx: Context, obj: StorageAttachment) -> bool:
        return states.deletable(Kind.STORAGE_ATTACHMENT, obj.state)

    def delete(self, ctx: Context, obj: StorageAttachment) -> Outcome:
        job = ctx.engine.attachments.detach(ctx.scope, obj.id)
        return Outcome(job=job, location=self.href(ctx, obj))


class MachineInterfaces(_MachinePart):
    """MachineNetworkInterface: a Machine's interface on a Network."""

    type_name = "MachineNetworkInterface"
    path = ("machines", "networkInterfaces")
    fields = (
        ("addresses", sub("addresses")),
        ("network", ref("networks", "network_id")),
        ("networkPort", ref("networkPorts", "id")),
        ("state", lambda n, ctx, href: states.state_of(states.LINK, n.state)),
        ("macAddress", attr("mac")),
        ("networkType", const("PRIVATE")),
    )

    def ids(self, obj: NetworkInterface) -> tuple[str, ...]:
        return (obj.compute_id, obj.id)

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> NetworkInterface:
        nic = ctx.engine.interfaces.get_interface(ctx.scope, ids[1])
        if nic.compute_id != ids[0]:
            raise NotFound(f"no network interface {ids[1]!r}")
        return nic

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        self.check_parent(ctx, parent)
        return ctx.engine.interfaces.list_interfaces(ctx.scope, compute_id=parent[0])

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        for unsupported in ("networkPort", "mtu"):
            if unsupported in value:
                raise InvalidInput(f"{unsupported} is not supported here", field=unsupported)
        if value.get("networkType", "PRIVATE") != "PRIVATE":
            raise InvalidInput("Concord networks are PRIVATE", field="networkType")
        network_id = ctx.links.id_of(value["network"].get("href"), "networks", "Network", "network")
        nic, job = ctx.engine.interfaces.attach_interface(
            ctx.scope, compute_id=parent[0], network_id=network_id, mac=value.get("macAddress")
        )
        return Outcome(nic, job=job, location=self.href(ctx, nic), created=True)

    def can_delete(self, ctx: Context, obj: NetworkInterface) -> bool:
        return states.deletable(Kind.NETWORK_INTERFACE, obj.state)

    def delete(self, ctx: Context, obj: NetworkInterface) -> Outcome:
        job = ctx.engine.interfaces.detach_interface(ctx.scope, obj.id)
        return Outcome(job=job, location=self.href(ctx, obj))


class InterfaceAddresses(Binding):
    """MachineNetworkInterfaceAddress: the interface's address (its id is the interface's)."""

    type_name = "MachineNetworkInterfaceAddress"
    path = ("machines", "networkInterfaces", "addresses")
    fields = (("address", ref("addresses", "id")),)

    def ids(self, obj: NetworkInterface) -> tuple[str, ...]:
        return (obj.compute_id, obj.id, obj.id)

    def check_parent(self, ctx: Context, parent: tuple[str, ...]) -> None:
        MachineInterfaces().fetch(ctx, parent)

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        nic = MachineInterfaces().fetch(ctx, parent)
        return [nic] if nic.ip_address else []

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> NetworkInterface:
        found = self.fetch_all(ctx, ids[:2])
        if ids[2] != ids[1] or not found:
            raise NotFound(f"no address {ids[2]!r}")
        return found[0]


__all__ = [
    "ARCHITECTURES",
    "InterfaceAddresses",
    "MachineDisks",
    "MachineInterfaces",
    "MachineVolumes",
    "Machines",
]
