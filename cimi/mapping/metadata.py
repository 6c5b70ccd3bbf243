"""ResourceMetadata (DSP0263 5.11) and the CloudEntryPoint (5.12), generated.

One ResourceMetadata per type the CloudEntryPoint offers, plus one for the
CloudEntryPoint itself, at ``resourceMetadata/<Type>``: ``typeURI`` (spelled
so, as 1.1 and Sirocco do, not Deltacloud's ``typeUri``, cimi.md 6.14), the
capabilities of cimi.md 2.13 (values as text, lists comma-separated), the
type's actions, and Concord's extension attributes (the Credential ``key``, the
Machine's ``placementGroup`` and ``placementPolicy``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from cimi.mapping.base import Binding, Context
from cimi.mapping.parameters import INITIAL_STATES
from cimi.mapping.states import MACHINE_ACTIONS, NETWORK_ACTIONS
from cimi.resources import ACTION_PREFIX, CAPABILITY_PREFIX, CEP_COLLECTIONS, type_uri
from engine.errors import NotFound

#: Namespace of Concord's extension attributes.
EXTENSION_NAMESPACE = "urn:x-concord:cimi"
MEDIA = "application/json, application/xml"

#: Capabilities (cimi.md 2.13), by type: name -> value.
CAPABILITIES: Mapping[str, Mapping[str, str]] = {
    "CloudEntryPoint": {
        "FilterParameter": "true",
        "SelectParameter": "true",
        "ExpandParameter": "true",
        "firstParameter": "true",
    },
    "Machine": {
        "DefaultInitialState": "STARTED",
        "InitialStates": ",".join(INITIAL_STATES),
        "MachineConfigByValue": "true",
        "MachineCredentialByValue": "true",
        "MachineImageByValue": "false",
        "MachineVolumeTemplatesByValue": "true",
        "MachineStopForce": "true",
        "MachineStopForceDefault": "false",
        "RestoreFromImage": "false",
    },
    "Credential": {"CredentialTemplateByValue": "true"},
    "Volume": {
        "SharedVolumeSupport": "false",
        "VolumeConfigByValue": "true",
        "VolumeImageByValue": "false",
        "VolumeSnapshot": "false",
        "VolumeTemplateByValue": "true",
    },
}
#: Actions (POSTed Action bodies), by type.
ACTIONS: Mapping[str, Sequence[str]] = {
    "Machine": tuple(MACHINE_ACTIONS),
    "Network": tuple(NETWORK_ACTIONS),
}
#: The availability zone extension (cimi.mapping.zones).
ZONE: Mapping[str, Any] = {
    "name": "zone",
    "namespace": EXTENSION_NAMESPACE,
    "type": "string",
    "required": False,
}
#: Concord's extension attributes, by type (5.11: namespace, type, required).
ATTRIBUTES: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "Credential": (
        {"name": "key", "namespace": EXTENSION_NAMESPACE, "type": "string", "required": True},
    ),
    # Placement groups (docs/cimi.rst): named in a MachineCreate, shown on the Machine.
    "Machine": (
        {
            "name": "placementGroup",
            "namespace": EXTENSION_NAMESPACE,
            "type": "string",
            "required": False,
        },
        {
            "name": "placementPolicy",
            "namespace": EXTENSION_NAMESPACE,
            "type": "string",
            "required": False,
        },
        # High availability (docs/ha.rst): asked for in a MachineCreate, shown on the Machine.
        {
            "name": "highlyAvailable",
            "namespace": EXTENSION_NAMESPACE,
            "type": "boolean",
            "required": False,
        },
        {
            "name": "stateMessage",
            "namespace": EXTENSION_NAMESPACE,
            "type": "string",
            "required": False,
        },
        # Availability zones (docs/cimi.rst): chosen in a MachineCreate, shown on the Machine.
        ZONE,
    ),
    # The same zones, chosen in a VolumeCreate or NetworkCreate (cimi.mapping.zones).
    "Volume": (ZONE,),
    "Network": (ZONE,),
}


def _described() -> list[str]:
    return ["CloudEntryPoint", *(member for _, member in CEP_COLLECTIONS if member)]


class ResourceMetadatas(Binding):
    """ResourceMetadata (5.11): generated, read-only; the object is the type's name."""

    type_name = "ResourceMetadata"
    path = ("resourceMetadata",)
    common = False

    def __init__(self, served: Sequence[str] = ()) -> None:
        self.served = tuple(t for t in _described() if t == "CloudEntryPoint" or t in served)

    def ids(self, ctx: Context, obj: str) -> tuple[str, ...]:
        return (obj,)

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> str:
        if ids[0] not in self.served:
            raise NotFound(f"no ResourceMetadata {ids[0]!r}")
        return ids[0]

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[str]:
        return list(self.served)

    def render(self, ctx: Context, obj: str, only: frozenset[str] | None = None) -> dict[str, Any]:
        capabilities = [
            {"name": name, "uri": f"{CAPABILITY_PREFIX}{obj}/{name}", "value": value}
            for name, value in CAPABILITIES.get(obj, {}).items()
        ]
        actions = [
            {
                "name": name,
                "uri": ACTION_PREFIX + name,
                "description": f"the {name} operation of a {obj}",
                "method": "POST",
                "inputMessage": MEDIA,
                "outputMessage": MEDIA,
            }
            for name in ACTIONS.get(obj, ())
        ]
        value = {
            "id": self.href(ctx, obj),
            "name": obj,
            "typeURI": type_uri(obj),
            "attributes": [dict(a) for a in ATTRIBUTES.get(obj, ())],
            "capabilities": capabilities,
            "actions": actions,
        }
        return {k: v for k, v in value.items() if v}


def cloud_entry_point(ctx: Context, served: Sequence[str]) -> dict[str, Any]:
    """The neutral CloudEntryPoint: one reference per Collection served, in spec order (5.12).

    Collections Concord does not serve (System, ForwardingGroup, Meter,
    EventLog...) are left out, which is how a client learns they are absent
    (cimi.md 2.1).
    """
    value: dict[str, Any] = {
        "id": ctx.links.cep,
        "name": "Concord",
        "description": "Concord IaaS: CIMI rendering of the resource engine",
        "baseURI": ctx.links.base,
    }
    for key, member in CEP_COLLECTIONS:
        if member is not None and member in served:
            value[key] = {"href": ctx.links.of(key)}
    return value


__all__ = ["ACTIONS", "CAPABILITIES", "ResourceMetadatas", "cloud_entry_point"]
