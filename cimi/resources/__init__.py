"""The declarative field tables of every CIMI type Concord serves, and their registry.

One :class:`Table` per resource type, one per Collection wrapper, one per
request body (``Action``, ``<Type>Create``). Tables are data; the codecs, the
schema generator and the query checks walk them. Look-ups::

    table("Machine")                 the resource table
    collection_of("Machine")         its Collection wrapper (MachineCollection)
    create_table("Machine")          the body of "add" (MachineCreate, or the
                                     resource itself for directly created types)
    by_uri("http://schemas.dmtf.org/cimi/1/Machine")

Collection entry keys (the JSON array of a Collection; in XML the entries are
bare ``<Member>`` elements, or wrapped in this name when
:data:`~cimi.resources._common.XML_WRAPPERS` is set) are the lowerCamelCase
plural of the member type (``machineVolumes``), except where CIMI 1.x spells
them otherwise (cimi.md 2.1, 6.2): ``addresses``, and ``resourceMetadata``,
which is not pluralised (DSP0263 1.0.1 5.11; Deltacloud's RMD plan reads
``resourceMetadata``; DSP0263 2.0.0 has ``resourceMetadatas``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cimi.resources import credentials, machines, meters, networks, system, volumes
from cimi.resources._common import collection_table
from cimi.resources._model import (
    ACTION_PREFIX,
    CAPABILITY_PREFIX,
    NS,
    NS_ALT,
    Access,
    Field,
    Kind,
    Place,
    Role,
    Table,
    type_uri,
)
from cimi.resources.system import CEP_COLLECTIONS

__all__ = [
    "ACTION_PREFIX",
    "CAPABILITY_PREFIX",
    "CEP_COLLECTIONS",
    "COLLECTION_KEYS",
    "NS",
    "NS_ALT",
    "TABLES",
    "Access",
    "Field",
    "Kind",
    "Place",
    "Role",
    "Table",
    "by_uri",
    "collection_of",
    "create_table",
    "table",
    "type_uri",
]

#: Member type -> the array key of its Collection.
COLLECTION_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "Machine": "machines",
        "MachineDisk": "machineDisks",
        "MachineVolume": "machineVolumes",
        "MachineNetworkInterface": "machineNetworkInterfaces",
        "MachineNetworkInterfaceAddress": "machineNetworkInterfaceAddresses",
        "MachineTemplate": "machineTemplates",
        "MachineConfiguration": "machineConfigurations",
        "MachineImage": "machineImages",
        "Credential": "credentials",
        "CredentialTemplate": "credentialTemplates",
        "Volume": "volumes",
        "VolumeTemplate": "volumeTemplates",
        "VolumeConfiguration": "volumeConfigurations",
        "VolumeImage": "volumeImages",
        "Network": "networks",
        "NetworkTemplate": "networkTemplates",
        "NetworkConfiguration": "networkConfigurations",
        "NetworkPort": "networkPorts",
        "Address": "addresses",
        "AddressTemplate": "addressTemplates",
        "Job": "jobs",
        "Meter": "meters",
        "Sample": "samples",
        "MeterConfiguration": "meterConfigurations",
        "ResourceMetadata": "resourceMetadata",
    }
)


def _build() -> dict[str, Table]:
    base = [
        *system.TABLES,
        *machines.TABLES,
        *credentials.TABLES,
        *volumes.TABLES,
        *networks.TABLES,
        *meters.TABLES,
    ]
    tables = {t.name: t for t in base}
    for member, key in COLLECTION_KEYS.items():
        wrapper = collection_table(tables[member], key)
        tables[wrapper.name] = wrapper
    return tables


#: Every table by type name: resources, collections, requests.
TABLES: Mapping[str, Table] = MappingProxyType(_build())
_BY_URI = {t.uri: t for t in TABLES.values() if t.uri}


def table(name: str) -> Table:
    """The table of the type called *name* (``Machine``, ``MachineCollection``...).

    :raises KeyError: for a type Concord does not model.
    """
    return TABLES[name]


def collection_of(member: str) -> Table:
    """The Collection table whose entries are *member* resources.

    :raises KeyError: when *member* has no Collection.
    """
    return TABLES[member + "Collection"]


def create_table(member: str) -> Table:
    """The table of the body a client POSTs to *member*'s Collection ``add`` (5.5.12.1).

    ``<Type>Create`` for types created from a template (Machine, Volume,
    Network, Credential, Address); the resource itself for the rest
    (templates, configurations, images, link resources).
    """
    return TABLES.get(member + "Create") or TABLES[member]


def by_uri(uri: str) -> Table | None:
    """The table whose type URI is *uri*, in CIMI 1 or CIMI 2 spelling; None if unknown."""
    if uri.startswith(NS_ALT + "/"):
        uri = NS + uri[len(NS_ALT) :]
    return _BY_URI.get(uri)
