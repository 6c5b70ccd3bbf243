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
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from cimi.mapping import states
from cimi.mapping.base import (
    COMMON_EDITS,
    COMMON_NEEDS,
    KIB_PER_MIB,
    Binding,
    Context,
    Outcome,
    ScopedListing,
    attr,
    const,
    public_id,
    ref,
    sub,
)
from cimi.mapping.parameters import device_of
from cimi.mapping.queried import machine_columns
from cimi.mapping.templates import name_for, template_parameters
from cimi.mapping.zones import ZONE_FIELD, chosen_zone
from cimi.query.sql import Columns
from engine.catalog.models import Image
from engine.compute.models import Compute
from engine.errors import InvalidInput, NotFound
from engine.lifecycle import Kind
from engine.network.models import Network, NetworkInterface
from engine.storage.models import StorageAttachment, Volume
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


def _group_of(ctx: Context, compute: Compute, what: str) -> str | None:
    """The name or policy of the compute's placement group (a Concord extension)."""
    known = ctx.memo.get("machines.groups")
    if known is not None and compute.id in known["checked"]:
        group = known["groups"].get(compute.id)
    else:
        group = ctx.engine.placement_groups.groups_of([compute.id]).get(compute.id)
        # The name and the policy are two attributes of one lookup (issue 15).
        known = ctx.memo.setdefault("machines.groups", {"checked": set(), "groups": {}})
        known["checked"].add(compute.id)
        if group is not None:
            known["groups"][compute.id] = group
    if group is None:
        return None
    return group.name if what == "name" else group.policy.value


def _offered(state: str) -> builtins.list[str]:
    return states.offered(Kind.COMPUTE, state, states.MACHINE_ACTIONS)


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
        ("placementGroup", lambda c, ctx, href: _group_of(ctx, c, "name")),
        ("placementPolicy", lambda c, ctx, href: _group_of(ctx, c, "policy")),
        ("highlyAvailable", attr("ha_enabled")),
        ("stateMessage", attr("state_message")),
        ZONE_FIELD,
    )
    edits = COMMON_EDITS
    model = Compute
    needs = MappingProxyType(
        {
            **COMMON_NEEDS,
            "state": ("state",),
            "cpu": ("vcpus",),
            "memory": ("memory_mib",),
            "disks": (),
            "cpuArch": ("arch",),
            "volumes": (),
            "networkInterfaces": (),
            "placementGroup": (),
            "placementPolicy": (),
            "highlyAvailable": ("ha_enabled",),
            "stateMessage": ("state_message",),
            "zone": ("zone_id",),
            "operations": ("state", "image_id"),
        }
    )

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Compute:
        return ctx.engine.compute.get(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Compute]:
        return ctx.engine.compute.list(ctx.scope)

    def columns(self, ctx: Context) -> Columns:
        return machine_columns(ctx, ARCHITECTURES)

    def listing(self, ctx: Context) -> ScopedListing:
        return ctx.engine.compute

    def prepare(
        self, ctx: Context, objs: builtins.list[Any], only: frozenset[str] | None = None
    ) -> None:
        ids = [c.id for c in objs]
        if only is None or not only.isdisjoint({"placementGroup", "placementPolicy"}):
            groups = ctx.engine.placement_groups.groups_of(ids)
            ctx.memo["machines.groups"] = {"checked": set(ids), "groups": groups}
        if only is not None and "operations" not in only:
            return  # only the offered operations ask whether a guest has a disk
        # Whether a guest has a disk matters only where its state offers
        # capture: no reads for a Collection of running Machines (issue 15).
        capturing = [c for c in objs if "capture" in _offered(c.state)]
        if not capturing:
            ctx.memo["machines.with_disk"] = {"checked": set(ids), "yes": set()}
            return
        ids = [c.id for c in capturing]
        session = ctx.engine.session
        attached = set(
            session.scalars(
                sa.select(StorageAttachment.compute_id).where(StorageAttachment.compute_id.in_(ids))
            )
        )
        images = {c.image_id for c in capturing if c.image_id}
        with_bytes = set()
        if images:
            with_bytes = set(
                session.scalars(
                    sa.select(Image.id).where(Image.id.in_(images), Image.location.is_not(None))
                )
            )
        yes = attached | {c.id for c in capturing if c.image_id in with_bytes}
        ctx.memo["machines.with_disk"] = {"checked": {c.id for c in objs}, "yes": yes}

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        params = template_parameters(ctx, value, "machineTemplate", TemplateKind.COMPUTE)
        if value.get("highlyAvailable") is not None:  # the HA extension (docs/cimi.rst)
            params = {**params, "ha_enabled": value["highlyAvailable"]}
        zone_id = chosen_zone(ctx, value)  # the zone extension (cimi.mapping.zones)
        compute, job = ctx.engine.templates.launch_compute(
            ctx.scope,
            zone_id=zone_id,
            name=name_for(value, "machine"),
            description=value.get("description"),
            properties=value.get("properties"),
            parameters=params,
            placement_group=value.get("placementGroup"),
            placement_policy=value.get("placementPolicy"),
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
        offered = _offered(obj.state)
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
        self.machine(ctx, parent)

    @staticmethod
    def machine(ctx: Context, parent: tuple[str, ...]) -> Compute:
        """The Machine a URL's first id names (by its public id or its row id)."""
        return ctx.engine.compute.get(ctx.scope, parent[0])

    @staticmethod
    def machine_id(ctx: Context, obj: Any) -> str:
        """The public id of the Machine a link belongs to."""
        return public_id(ctx, Compute, obj.compute_id) or obj.compute_id


class MachineDisks(_MachinePart):
    """MachineDisk: the boot disk of a Machine booted from an image with bytes."""

    type_name = "MachineDisk"
    path = ("machines", "disks")
    fields = (
        ("capacity", lambda d, ctx, href: d["capacity"]),
        ("initialLocation", const(f"/dev/{BOOT_DEVICE}")),
    )
    common = False

    def ids(self, ctx: Context, obj: Any) -> tuple[str, ...]:
        return (obj["machine_id"], "boot")

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        compute = self.machine(ctx, parent)
        image = ctx.engine.session.get(Image, compute.image_id) if compute.image_id else None
        if image is None or image.location is None:
            return []
        return [{"machine_id": compute.public_id, "capacity": image.size_bytes // 1024}]

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Any:
        found = self.fetch_all(ctx, ids[:1])
        if ids[1] != "boot" or not found:
            raise NotFound(f"no disk {ids[1]!r}")
        return found[0]


class MachineVolumes(_MachinePart):
    """MachineVolume: a Volume attached to a Machine (attach = add, detach = delete)."""

    type_name = "MachineVolume"
    path = ("machines", "volumes")
    fields = (
        ("initialLocation", lambda a, ctx, href: f"/dev/{a.device}"),
        ("volume", ref("volumes", "volume_id", Volume)),
    )

    def ids(self, ctx: Context, obj: StorageAttachment) -> tuple[str, ...]:
        return (self.machine_id(ctx, obj), obj.public_id)

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> StorageAttachment:
        attachment = ctx.engine.attachments.get_attachment(ctx.scope, ids[1])
        if attachment.compute_id != self.machine(ctx, ids).id:
            raise NotFound(f"no MachineVolume {ids[1]!r}")
        return attachment

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        compute = self.machine(ctx, parent)
        return ctx.engine.attachments.list_attachments(ctx.scope, compute_id=compute.id)

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
        ("network", ref("networks", "network_id", Network)),
        ("networkPort", ref("networkPorts", "id", NetworkInterface)),
        ("state", lambda n, ctx, href: states.state_of(states.LINK, n.state)),
        ("macAddress", attr("mac")),
        ("networkType", const("PRIVATE")),
    )

    def ids(self, ctx: Context, obj: NetworkInterface) -> tuple[str, ...]:
        return (self.machine_id(ctx, obj), obj.public_id)

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> NetworkInterface:
        nic = ctx.engine.interfaces.get_interface(ctx.scope, ids[1])
        if nic.compute_id != self.machine(ctx, ids).id:
            raise NotFound(f"no MachineNetworkInterface {ids[1]!r}")
        return nic

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Any]:
        compute = self.machine(ctx, parent)
        return ctx.engine.interfaces.list_interfaces(ctx.scope, compute_id=compute.id)

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
    fields = (("address", ref("addresses", "id", NetworkInterface)),)

    def ids(self, ctx: Context, obj: NetworkInterface) -> tuple[str, ...]:
        return (_MachinePart.machine_id(ctx, obj), obj.public_id, obj.public_id)

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
