"""CIMI templates <-> the engine's template parameters, both ways.

A CIMI template (MachineTemplate, VolumeTemplate... DSP0263 5.14-5.16) names
other resources by href; the engine's :class:`~engine.templates.models.
LaunchTemplate` keeps engine ids (``offering_id``, ``image_id``...). The
``*_parameters`` functions read a neutral template (or the by-value part of
a ``<Type>Create``'s template, 5.5.12.1) into parameters; the ``*_value``
functions write parameters back as a neutral template. Units: ``memory`` is
KiB and the engine's MiB (rounded up); ``capacity`` is KiB and the engine's
GiB (rounded up) (cimi.md 2.4).

What a template may say that Concord cannot do is refused (400) rather than
dropped: by-value images, disks in a by-value configuration, network MTU or
class of service, public networks, forwarding groups, event logs, and
initial states other than STARTED and STOPPED. Two by-value attributes are
accepted and not kept: a VolumeConfiguration's ``format`` and ``type``
(Concord volumes are raw block devices; the guest chooses its file system).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from cimi.errors import DecodeError
from cimi.mapping import names
from cimi.mapping.base import KIB_PER_GIB, KIB_PER_MIB, Context, capacity_gib, pruned
from engine.catalog.models import ComputeOffering, Image

#: The initial states Concord creates Machines in (InitialStates capability).
INITIAL_STATES = {"STARTED": True, "STOPPED": False}

Convert = Callable[[Context, Mapping[str, Any], str], dict[str, Any]]


def device_of(location: object) -> str | None:
    """The engine device (``vdb``) of a CIMI ``initialLocation`` (``/dev/vdb`` or ``vdb``)."""
    if not isinstance(location, str) or not location:
        return None
    return location.removeprefix("/dev/")


def refuse(path: str, what: str) -> DecodeError:
    """The 400 for a template attribute Concord cannot honour."""
    return DecodeError(f"{path}: {what} is not supported by this provider")


def _unsupported(value: Mapping[str, Any], path: str, names: tuple[str, ...]) -> None:
    for name in names:
        if value.get(name) is not None:
            raise refuse(f"{path}.{name}", name)


def _href(ctx: Context, ref: Any, key: str, what: str, path: str) -> str:
    if not isinstance(ref, Mapping) or "href" not in ref:
        raise refuse(path, f"a {what} given by value")
    return ctx.links.id_of(ref["href"], key, what, path)


def machine_parameters(ctx: Context, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Compute parameters from a (partial) neutral MachineTemplate."""
    _unsupported(value, path, ("eventLogTemplate",))
    params: dict[str, Any] = {}
    if "initialState" in value:
        if value["initialState"] not in INITIAL_STATES:
            raise refuse(f"{path}.initialState", f"initial state {value['initialState']}")
        params["start"] = INITIAL_STATES[value["initialState"]]
    config = value.get("machineConfig")
    if config is not None:
        here = f"{path}.machineConfig"
        _unsupported(config, here, ("disks",))
        if config.get("cpuArch") not in (None, "x86_64"):
            raise refuse(f"{here}.cpuArch", f"CPU architecture {config['cpuArch']}")
        if "href" in config:
            params["offering_id"] = names.entry_id(
                ctx,
                ComputeOffering,
                ctx.links.id_of(config["href"], "machineConfigs", "MachineConfiguration", here),
            )
        if "cpu" in config:
            params["vcpus"] = config["cpu"]
        if "memory" in config:
            params["memory_mib"] = math.ceil(config["memory"] / KIB_PER_MIB)
    if value.get("machineImage") is not None:
        image = _href(
            ctx, value["machineImage"], "machineImages", "MachineImage", f"{path}.machineImage"
        )
        params["image_id"] = names.entry_id(ctx, Image, image)
    credential = value.get("credential")
    if credential is not None:
        here = f"{path}.credential"
        _unsupported(credential, here, ("username", "password"))
        if "href" in credential:
            params["credential_id"] = ctx.links.id_of(
                credential["href"], "credentials", "Credential", here
            )
        elif "key" in credential:
            params["ssh_public_key"] = credential["key"]
        else:
            raise DecodeError(f"{here}: give an href or a key")
    if "volumes" in value:
        params["volumes"] = [
            _volume(ctx, item, f"{path}.volumes[{i}]") for i, item in enumerate(value["volumes"])
        ]
    if "volumeTemplates" in value:
        params["volume_templates"] = [
            _volume_template(ctx, item, f"{path}.volumeTemplates[{i}]")
            for i, item in enumerate(value["volumeTemplates"])
        ]
    if "networkInterfaces" in value:
        params["networks"] = [
            _interface(ctx, item, f"{path}.networkInterfaces[{i}]")
            for i, item in enumerate(value["networkInterfaces"])
        ]
    if "userData" in value:
        params["user_data"] = value["userData"]
    return params


def _volume(ctx: Context, item: Mapping[str, Any], path: str) -> dict[str, Any]:
    _unsupported(item, path, ("credential",))
    volume = {"volume_id": _href(ctx, item.get("volume"), "volumes", "Volume", f"{path}.volume")}
    return pruned({**volume, "device": device_of(item.get("initialLocation"))})


def _volume_template(ctx: Context, item: Mapping[str, Any], path: str) -> dict[str, Any]:
    ref = item.get("volumeTemplate") or {}
    here = f"{path}.volumeTemplate"
    entry: dict[str, Any] = {"device": device_of(item.get("initialLocation"))}
    if "href" in ref:
        entry["template_id"] = ctx.links.id_of(
            ref["href"], "volumeTemplates", "VolumeTemplate", here
        )
    by_value = volume_parameters(ctx, {k: v for k, v in ref.items() if k != "href"}, here)
    if by_value:
        entry["parameters"] = by_value
    return pruned(entry)


def _interface(ctx: Context, item: Mapping[str, Any], path: str) -> dict[str, Any]:
    _unsupported(item, path, ("networkPort", "addresses", "mtu"))
    if item.get("networkType") not in (None, "PRIVATE"):
        raise refuse(f"{path}.networkType", "a PUBLIC network")
    return {"network_id": _href(ctx, item.get("network"), "networks", "Network", f"{path}.network")}


def machine_value(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """The neutral MachineTemplate attributes of compute parameters."""
    links = ctx.links
    config = pruned(
        {
            "href": links.of(
                "machineConfigs", names.href_id(ctx, ComputeOffering, params["offering_id"])
            )
            if "offering_id" in params
            else None,
            "cpu": params.get("vcpus"),
            "memory": params["memory_mib"] * KIB_PER_MIB if "memory_mib" in params else None,
        }
    )
    credential = (
        {"href": links.of("credentials", params["credential_id"])}
        if "credential_id" in params
        else {"key": params["ssh_public_key"]}
        if "ssh_public_key" in params
        else None
    )
    start = params.get("start")
    return pruned(
        {
            "initialState": None if start is None else ("STARTED" if start else "STOPPED"),
            "machineConfig": config,
            "machineImage": {
                "href": links.of("machineImages", names.href_id(ctx, Image, params["image_id"]))
            }
            if "image_id" in params
            else None,
            "credential": credential,
            "volumes": [
                pruned(
                    {
                        "initialLocation": _location(item.get("device")),
                        "volume": {"href": links.of("volumes", item["volume_id"])},
                    }
                )
                for item in params.get("volumes", ())
            ],
            "volumeTemplates": [
                pruned(
                    {
                        "initialLocation": _location(item.get("device")),
                        "volumeTemplate": pruned(
                            {
                                "href": links.of("volumeTemplates", item["template_id"])
                                if "template_id" in item
                                else None,
                                **volume_value(ctx, item.get("parameters", {})),
                            }
                        ),
                    }
                )
                for item in params.get("volume_templates", ())
            ],
            "networkInterfaces": [
                {"network": {"href": links.of("networks", item["network_id"])}}
                for item in params.get("networks", ())
            ],
            "userData": params.get("user_data"),
        }
    )


def _location(device: str | None) -> str | None:
    return f"/dev/{device}" if device else None


def volume_parameters(ctx: Context, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Volume parameters from a (partial) neutral VolumeTemplate."""
    _unsupported(value, path, ("eventLogTemplate",))
    params: dict[str, Any] = {}
    config = value.get("volumeConfig")
    if config is not None:
        here = f"{path}.volumeConfig"
        if "href" in config:
            params["offering_id"] = ctx.links.id_of(
                config["href"], "volumeConfigs", "VolumeConfiguration", here
            )
        if "capacity" in config:
            if config["capacity"] < 1:
                raise DecodeError(f"{here}.capacity: a volume has at least 1 KiB")
            params["size_gib"] = capacity_gib(config["capacity"], f"{here}.capacity")
    if value.get("volumeImage") is not None:
        image = _href(
            ctx, value["volumeImage"], "volumeImages", "VolumeImage", f"{path}.volumeImage"
        )
        params["image_id"] = names.entry_id(ctx, Image, image)
    return params


def volume_value(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """The neutral VolumeTemplate attributes of volume parameters."""
    links = ctx.links
    config = pruned(
        {
            "href": links.of("volumeConfigs", params["offering_id"])
            if "offering_id" in params
            else None,
            "capacity": params["size_gib"] * KIB_PER_GIB if "size_gib" in params else None,
        }
    )
    return pruned(
        {
            "volumeConfig": config,
            "volumeImage": {
                "href": links.of("volumeImages", names.href_id(ctx, Image, params["image_id"]))
            }
            if "image_id" in params
            else None,
        }
    )


def network_parameters(ctx: Context, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Network parameters from a (partial) neutral NetworkTemplate."""
    _unsupported(value, path, ("forwardingGroup", "eventLogTemplate"))
    params: dict[str, Any] = {}
    config = value.get("networkConfig")
    if config is not None:
        here = f"{path}.networkConfig"
        _unsupported(config, here, ("mtu", "classOfService"))
        if config.get("networkType") not in (None, "PRIVATE"):
            raise refuse(f"{here}.networkType", "a PUBLIC network")
        if "href" in config:
            params["offering_id"] = ctx.links.id_of(
                config["href"], "networkConfigs", "NetworkConfiguration", here
            )
    return params


def network_value(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """The neutral NetworkTemplate attributes of network parameters."""
    if "offering_id" not in params:
        return {}
    return {"networkConfig": {"href": ctx.links.of("networkConfigs", params["offering_id"])}}


#: AddressTemplate attribute -> engine address parameter.
_ADDRESS = {
    "ip": "ip",
    "hostname": "hostname",
    "allocation": "allocation",
    "defaultGateway": "gateway",
    "dns": "dns",
    "protocol": "protocol",
    "mask": "mask",
}


def address_parameters(ctx: Context, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Address parameters from a (partial) neutral AddressTemplate."""
    params = {engine: value[name] for name, engine in _ADDRESS.items() if name in value}
    if value.get("network") is not None:
        params["network_id"] = _href(
            ctx, value["network"], "networks", "Network", f"{path}.network"
        )
    return params


def address_value(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """The neutral AddressTemplate attributes of address parameters."""
    value: dict[str, Any] = {
        name: params[engine] for name, engine in _ADDRESS.items() if engine in params
    }
    if "network_id" in params:
        value["network"] = {"href": ctx.links.of("networks", params["network_id"])}
    return value


def credential_parameters(ctx: Context, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Credential parameters from a (partial) neutral CredentialTemplate or Credential.

    Concord's credentials are SSH public keys: ``username`` and ``password``
    are refused.
    """
    _unsupported(value, path, ("username", "password"))
    return {"public_key": value["key"]} if "key" in value else {}


def credential_value(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """The neutral CredentialTemplate attributes of credential parameters."""
    return {"key": params["public_key"]} if "public_key" in params else {}


__all__ = [
    "INITIAL_STATES",
    "Convert",
    "address_parameters",
    "address_value",
    "credential_parameters",
    "credential_value",
    "device_of",
    "machine_parameters",
    "machine_value",
    "network_parameters",
    "network_value",
    "volume_parameters",
    "volume_value",
]
