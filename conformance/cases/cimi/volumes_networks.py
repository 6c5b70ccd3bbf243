"""Volumes (DSP0263 5.15) and Networks (5.16)."""

from __future__ import annotations

from conformance.cases import CIMI_RENDERINGS, case
from conformance.cases.cimi.machines import check_created, delete_case, is_integer
from conformance.cases.context import CaseContext
from conformance.formats.cimi import JSON

VOLUME_STATES = ("CREATING", "AVAILABLE", "CAPTURING", "DELETING", "ERROR")
IMAGE_STATES = ("CREATING", "AVAILABLE", "DELETING", "ERROR")
NETWORK_STATES = ("CREATING", "STARTING", "STARTED", "STOPPING", "STOPPED", "DELETING", "ERROR")
NETWORK_TYPES = ("PUBLIC", "PRIVATE")


def is_boolean(value: object, rendering: str) -> bool:
    """A boolean in JSON, or 'true'/'false' in XML."""
    return isinstance(value, bool) if rendering == JSON else value in ("true", "false")


@case(
    "cimi.volume.attributes",
    "A Volume has a state, integer capacity, boolean bootable",
    requirements=["DSP0263/volume.attributes"],
    renderings=CIMI_RENDERINGS,
)
def volume_attributes(ctx: CaseContext) -> None:
    exchange, volume = ctx.cimi.read(ctx.cimi.sample("volume"), ctx.media)
    ctx.check(volume.get("state"), "the Volume has no state", exchange)
    ctx.check(
        is_integer(volume.get("capacity"), ctx.media),
        f"capacity is {volume.get('capacity')!r}",
        exchange,
    )
    if volume.get("bootable") is not None:
        ctx.check(
            is_boolean(volume.get("bootable"), ctx.media),
            f"bootable is {volume.get('bootable')!r}",
            exchange,
        )


@case(
    "cimi.volume.state",
    "Volume.state takes a value of the spec",
    requirements=["DSP0263/volume.state"],
)
def volume_state(ctx: CaseContext) -> None:
    exchange, volume = ctx.cimi.read(ctx.cimi.sample("volume"))
    ctx.check(volume.get("state") in VOLUME_STATES, f"state is {volume.get('state')!r}", exchange)


@case(
    "cimi.volume.create",
    "A VolumeCreate creates a Volume that becomes AVAILABLE",
    requirements=["DSP0263/volume.create", "DSP0263/crud.create"],
    renderings=CIMI_RENDERINGS,
    profile="full",
)
def volume_create(ctx: CaseContext) -> None:
    url = check_created(ctx, "volume")
    ctx.cimi.wait_state(url, ("AVAILABLE",))


@case(
    "cimi.volume.delete",
    "Deleting a Volume removes it",
    requirements=["DSP0263/volume.delete", "DSP0263/crud.delete"],
    profile="full",
)
def volume_delete(ctx: CaseContext) -> None:
    delete_case(ctx, "volume")


@case(
    "cimi.volumeconfig.attributes",
    "VolumeConfigurations have an integer capacity",
    requirements=["DSP0263/volumeconfig.attributes"],
    renderings=CIMI_RENDERINGS,
)
def volumeconfig_attributes(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.collection("volumeConfigs", ctx.media)
    if not document.entries:
        ctx.skip("the provider lists no VolumeConfiguration")
    for entry in document.entries:
        ctx.check(
            is_integer(entry.get("capacity"), ctx.media),
            f"{entry.get('id')}: capacity is {entry.get('capacity')!r}",
            exchange,
        )


@case(
    "cimi.volumeimage.attributes",
    "VolumeImages have a state of the spec, boolean bootable",
    requirements=["DSP0263/volumeimage.attributes"],
    renderings=CIMI_RENDERINGS,
)
def volumeimage_attributes(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.collection("volumeImages", ctx.media)
    if not document.entries:
        ctx.skip("the provider lists no VolumeImage")
    for entry in document.entries:
        ctx.check(
            entry.get("state") in IMAGE_STATES,
            f"{entry.get('id')}: state {entry.get('state')!r}",
            exchange,
        )
        if entry.get("bootable") is not None:
            ctx.check(
                is_boolean(entry.get("bootable"), ctx.media),
                f"{entry.get('id')}: bootable {entry.get('bootable')!r}",
                exchange,
            )


@case(
    "cimi.network.attributes",
    "A Network has a state, a networkType of the spec, integer mtu",
    requirements=["DSP0263/network.attributes"],
    renderings=CIMI_RENDERINGS,
)
def network_attributes(ctx: CaseContext) -> None:
    exchange, network = ctx.cimi.read(ctx.cimi.sample("network"), ctx.media)
    ctx.check(network.get("state"), "the Network has no state", exchange)
    if network.get("networkType") is not None:
        ctx.check(
            network.get("networkType") in NETWORK_TYPES,
            f"networkType is {network.get('networkType')!r}",
            exchange,
        )
    if network.get("mtu") is not None:
        ctx.check(
            is_integer(network.get("mtu"), ctx.media), f"mtu is {network.get('mtu')!r}", exchange
        )


@case(
    "cimi.network.state",
    "Network.state takes a value of the spec",
    requirements=["DSP0263/network.state"],
)
def network_state(ctx: CaseContext) -> None:
    exchange, network = ctx.cimi.read(ctx.cimi.sample("network"))
    ctx.check(
        network.get("state") in NETWORK_STATES, f"state is {network.get('state')!r}", exchange
    )


@case(
    "cimi.network.create",
    "A NetworkCreate creates a Network",
    requirements=["DSP0263/network.create", "DSP0263/crud.create"],
    renderings=CIMI_RENDERINGS,
    profile="full",
)
def network_create(ctx: CaseContext) -> None:
    check_created(ctx, "network")


@case(
    "cimi.network.actions",
    "A Network's start and stop reach STARTED and STOPPED",
    requirements=["DSP0263/network.actions"],
    profile="full",
)
def network_actions(ctx: CaseContext) -> None:
    url = ctx.cimi.fixture("network")
    for name, end in (("stop", "STOPPED"), ("start", "STARTED"), ("stop", "STOPPED")):
        if ctx.cimi.state(url) == end:
            continue
        exchange = ctx.cimi.invoke(url, name)
        ctx.expect_status(exchange, 200, 202, 204, what=name)
        ctx.cimi.settle(exchange)
        ctx.cimi.wait_state(url, (end,))


@case(
    "cimi.network.delete",
    "Deleting a Network removes it",
    requirements=["DSP0263/network.delete", "DSP0263/crud.delete"],
    profile="full",
)
def network_delete(ctx: CaseContext) -> None:
    delete_case(ctx, "network")


@case(
    "cimi.networkconfig.attributes",
    "NetworkConfigurations have a spec networkType, int mtu",
    requirements=["DSP0263/networkconfig.attributes"],
    renderings=CIMI_RENDERINGS,
)
def networkconfig_attributes(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.collection("networkConfigs", ctx.media)
    if not document.entries:
        ctx.skip("the provider lists no NetworkConfiguration")
    for entry in document.entries:
        if entry.get("networkType") is not None:
            ctx.check(
                entry.get("networkType") in NETWORK_TYPES,
                f"{entry.get('id')}: networkType {entry.get('networkType')!r}",
                exchange,
            )
        if entry.get("mtu") is not None:
            ctx.check(
                is_integer(entry.get("mtu"), ctx.media),
                f"{entry.get('id')}: mtu {entry.get('mtu')!r}",
                exchange,
            )
