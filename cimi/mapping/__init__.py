"""The one place that maps engine objects to CIMI's neutral form and CIMI requests to
engine calls.

A :class:`~cimi.mapping.base.Binding` per CIMI type; this module registers
them by Collection path, which is also the URL layout below the base URI::

    machines/<id>                                        Machine
    machines/<id>/disks/<id>                             MachineDisk
    machines/<id>/volumes/<id>                           MachineVolume
    machines/<id>/networkInterfaces/<id>                 MachineNetworkInterface
    machines/<id>/networkInterfaces/<id>/addresses/<id>  MachineNetworkInterfaceAddress
    machineTemplates/<id>, machineConfigs/<id>, machineImages/<id>
    credentials/<id>, credentialTemplates/<id>
    volumes/<id>, volumeTemplates/<id>, volumeConfigs/<id>, volumeImages/<id>
    networks/<id>, networks/<id>/networkPorts, networkTemplates/<id>,
    networkConfigs/<id>, networkPorts/<id>, addresses/<id>, addressTemplates/<id>
    jobs/<id>, resourceMetadata/<Type>
    meters/<id>, meters/<id>/samples/<id>, meterConfigs/<type>

Tables of state and action translations are in :mod:`cimi.mapping.states`;
template parameters in :mod:`cimi.mapping.parameters`. Nothing here knows
HTTP, JSON or XML.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cimi.mapping.base import Binding, Context, Outcome, body_references
from cimi.mapping.catalog import (
    MachineConfigurations,
    MachineImages,
    NetworkConfigurations,
    VolumeConfigurations,
    VolumeImages,
)
from cimi.mapping.credentials import Credentials
from cimi.mapping.jobs import Jobs
from cimi.mapping.links import Links
from cimi.mapping.machines import (
    InterfaceAddresses,
    MachineDisks,
    MachineInterfaces,
    Machines,
    MachineVolumes,
)
from cimi.mapping.metadata import ResourceMetadatas, cloud_entry_point
from cimi.mapping.meters import MeterConfigurations, Meters, MeterSamples
from cimi.mapping.networks import Addresses, NetworkPorts, Networks, PortsOfNetwork
from cimi.mapping.templates import (
    AddressTemplates,
    CredentialTemplates,
    MachineTemplates,
    NetworkTemplates,
    VolumeTemplates,
)
from cimi.mapping.volumes import Volumes

_TOP: tuple[Binding, ...] = (
    Machines(),
    MachineTemplates(),
    MachineConfigurations(),
    MachineImages(),
    Credentials(),
    CredentialTemplates(),
    Volumes(),
    VolumeTemplates(),
    VolumeConfigurations(),
    VolumeImages(),
    Networks(),
    NetworkTemplates(),
    NetworkConfigurations(),
    NetworkPorts(),
    Addresses(),
    AddressTemplates(),
    Jobs(),
    Meters(),
    MeterConfigurations(),
)
#: The CIMI types with a Collection in the CloudEntryPoint.
SERVED: tuple[str, ...] = (*(b.type_name for b in _TOP), "ResourceMetadata")

BINDINGS: tuple[Binding, ...] = (
    *_TOP,
    ResourceMetadatas(SERVED),
    MachineDisks(),
    MachineVolumes(),
    MachineInterfaces(),
    InterfaceAddresses(),
    PortsOfNetwork(),
    MeterSamples(),
)
#: Collection path (keys from the base URI) -> binding.
BY_PATH: Mapping[tuple[str, ...], Binding] = MappingProxyType({b.path: b for b in BINDINGS})
#: CIMI type -> the binding whose resources have that type's ids.
BY_TYPE: Mapping[str, Binding] = MappingProxyType(
    {b.type_name: b for b in reversed(BINDINGS) if not isinstance(b, PortsOfNetwork)}
)


def route(segments: tuple[str, ...]) -> tuple[Binding, tuple[str, ...], bool] | None:
    """The binding, URL ids and kind of the path *segments* below the base URI.

    ``("machines",)`` is a Collection (ids ``()``), ``("machines", "7")`` a
    resource (ids ``("7",)``), ``("machines", "7", "volumes")`` the
    Collection below Machine 7 (ids ``("7",)``). Returns None for anything
    else.

    :returns: (binding, ids, whether it is a resource).
    """
    keys, ids = segments[0::2], segments[1::2]
    binding = BY_PATH.get(keys)
    if binding is None or any(not i for i in ids):
        return None
    return binding, ids, len(ids) == len(keys)


__all__ = [
    "BINDINGS",
    "BY_PATH",
    "BY_TYPE",
    "SERVED",
    "Binding",
    "Context",
    "Links",
    "Outcome",
    "body_references",
    "cloud_entry_point",
    "route",
]
