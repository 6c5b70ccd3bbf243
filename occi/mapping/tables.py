"""The declarative tables: each OCCI attribute of each Kind and the engine field behind it.

One :class:`KindTable` per GFD.224 Kind. A :class:`Field` says where the
value comes from (``read``, on :class:`Facts`), how it converts each way,
which keyword of the engine's create call takes it, and how a later change
is made (:class:`Change`). Renderers, creation and updates all walk these
tables; nothing else in ``occi`` knows an engine field name.

==================================  ==============================  ===========================
OCCI attribute (GFD.224)            engine field                    creation / later change
==================================  ==============================  ===========================
occi.core.title / summary           name / description              create / update
occi.compute.architecture           arch (x86_64 -> x64)            checked / fixed
occi.compute.cores                  vcpus                           create / resize (stopped)
occi.compute.memory (GiB)           memory_mib                      create / resize (stopped)
occi.compute.hostname               hostname                        create / update
occi.compute.share                  cpu_share (from the offering)   checked / fixed
occi.credentials.ssh.publickey      ssh_public_key                  create / fixed
occi.compute.userdata               user_data                       create / fixed
occi.storage.size (GiB)             size_bytes (whole GiB)          create / resize (grow)
occi.network.vlan / label           vlan / label                    create / fixed, update
occi.network.address / gateway /    cidr / gateway / allocation     create / fixed
allocation (ipnetwork)
occi.networkinterface.interface     interface                       create / fixed
occi.networkinterface.mac           mac                             create / fixed
occi.networkinterface.address       ip_address                      create / fixed
(ipnetworkinterface) gateway,       network's gateway, allocation   checked / fixed
allocation
occi.storagelink.deviceid           device (/dev/vdb <-> vdb)       create / fixed
occi.storagelink.mountpoint         mountpoint                      create / fixed
``*.state``, ``*.state.message``    state, state_message            server
==================================  ==============================  ===========================

"checked" attributes have no engine keyword: a creation request may give
them, and is refused (400) when the created entity does not have the value
asked for (e.g. an architecture other than the OS template's).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engine.lifecycle import Kind as EngineKind
from engine.lifecycle import stable_states
from occi.categories import infrastructure as infra
from occi.categories.types import Kind
from occi.mapping import units
from occi.mapping.states import link_state, occi_state, state_message
from occi.model import AttributeValue


class Change(enum.StrEnum):
    """How an attribute changes after creation."""

    #: Only the server sets it (ids, states); a client's different value is refused (400).
    SERVER = "server"
    #: The service's ``update``, at any time.
    UPDATE = "update"
    #: The service's ``resize``, which the lifecycle may refuse (409).
    RESIZE = "resize"
    #: Chosen at creation; the engine cannot change it later (409).
    FIXED = "fixed"


@dataclass(frozen=True)
class Facts:
    """What a field reads: the engine row and, for links, what the row does not hold.

    :param compute_state: a link's compute's engine state (link states derive from it).
    :param gateway: a network interface's network's gateway.
    """

    row: Any
    compute_state: str | None = None
    gateway: str | None = None


def _same(value: Any) -> Any:
    return value


def _column(name: str) -> Callable[[Facts], Any]:
    def read(facts: Facts) -> Any:
        return getattr(facts.row, name)

    read.__name__ = f"read_{name}"
    return read


@dataclass(frozen=True)
class Field:
    """One OCCI attribute of a Kind (or of a Mixin on it) and its engine field.

    :param read: the engine value, from the entity's :class:`Facts`.
    :param to_occi: engine value -> attribute value (None: not rendered).
    :param to_engine: attribute value (already coerced by its definition) ->
        what the engine's create, update or resize call takes.
    :param create: the keyword of the create call; None if the engine takes none.
    :param change: how a later change is made.
    :param mixin: the Mixin that brings the attribute, if it is not the Kind's own.
    :param clearable: a full update (PUT) without it clears it (GFD.185: missing
        information is deleted "if allowed").
    """

    attribute: str
    read: Callable[[Facts], Any]
    to_occi: Callable[[Any], AttributeValue | None] = _same
    to_engine: Callable[[AttributeValue], Any] = _same
    create: str | None = None
    change: Change = Change.FIXED
    mixin: str | None = None
    clearable: bool = False

    def value(self, facts: Facts) -> AttributeValue | None:
        """The attribute's value for an entity, or None when it has none."""
        value = self.read(facts)
        return None if value is None else self.to_occi(value)


@dataclass(frozen=True)
class KindTable:
    """The fields of one Kind, and the engine kind its entities are."""

    kind: Kind
    engine_kind: EngineKind
    fields: tuple[Field, ...]

    @property
    def term(self) -> str:
        """The Kind's term, also the first segment of its entities' paths."""
        return self.kind.term

    def field(self, attribute: str) -> Field | None:
        """The field of ``attribute``, if the Kind (or one of its Mixins) defines it."""
        return _INDEX[self.kind.term].get(attribute)


def _entity_fields(kind_term: str, *, link: bool = False) -> tuple[Field, ...]:
    def identifier(facts: Facts) -> str:
        return units.urn(kind_term, facts.row.public_id)

    # The engine keeps a link's name but has no way to change it later.
    title_change = Change.FIXED if link else Change.UPDATE
    fields = [
        Field("occi.core.id", identifier, change=Change.SERVER),
        Field("occi.core.title", _column("name"), create="name", change=title_change),
    ]
    if not link:  # GFD.221 §3.4.1: summary is a Resource's attribute
        fields.append(
            Field(
                "occi.core.summary",
                _column("description"),
                create="description",
                change=Change.UPDATE,
                clearable=True,
            )
        )
    return tuple(fields)


def _state_fields(prefix: str, kind: EngineKind) -> tuple[Field, Field]:
    stable = stable_states(kind)

    def state(facts: Facts) -> str:
        if kind in (EngineKind.NETWORK_INTERFACE, EngineKind.STORAGE_ATTACHMENT):
            return link_state(facts.row.state, facts.compute_state)
        return occi_state(kind, facts.row.state)

    def message(facts: Facts) -> str | None:
        return state_message(facts.row.state, facts.row.state_message, stable)

    return (
        Field(f"{prefix}.state", state, change=Change.SERVER),
        Field(f"{prefix}.state.message", message, change=Change.SERVER),
    )


COMPUTE = KindTable(
    infra.COMPUTE,
    EngineKind.COMPUTE,
    (
        *_entity_fields("compute"),
        Field("occi.compute.architecture", _column("arch"), units.occi_architecture),
        Field("occi.compute.cores", _column("vcpus"), create="vcpus", change=Change.RESIZE),
        Field(
            "occi.compute.memory",
            _column("memory_mib"),
            units.mib_as_gib,
            units.gib_as_mib,
            create="memory_mib",
            change=Change.RESIZE,
        ),
        Field(
            "occi.compute.hostname",
            _column("hostname"),
            create="hostname",
            change=Change.UPDATE,
            clearable=True,
        ),
        Field("occi.compute.share", _column("cpu_share")),
        *_state_fields("occi.compute", EngineKind.COMPUTE),
        Field(
            "occi.credentials.ssh.publickey",
            _column("ssh_public_key"),
            create="ssh_public_key",
            mixin=infra.SSH_KEY.type_id,
        ),
        Field(
            "occi.compute.userdata",
            _column("user_data"),
            create="user_data",
            mixin=infra.USER_DATA.type_id,
        ),
    ),
)

STORAGE = KindTable(
    infra.STORAGE,
    EngineKind.VOLUME,
    (
        *_entity_fields("storage"),
        Field(
            "occi.storage.size",
            _column("size_bytes"),
            units.bytes_as_gib,
            units.gib_as_whole_gib,
            create="size_gib",
            change=Change.RESIZE,
        ),
        *_state_fields("occi.storage", EngineKind.VOLUME),
    ),
)

NETWORK = KindTable(
    infra.NETWORK,
    EngineKind.NETWORK,
    (
        *_entity_fields("network"),
        Field("occi.network.vlan", _column("vlan"), create="vlan"),
        Field(
            "occi.network.label",
            _column("label"),
            create="label",
            change=Change.UPDATE,
            clearable=True,
        ),
        *_state_fields("occi.network", EngineKind.NETWORK),
        Field(
            "occi.network.address", _column("cidr"), create="cidr", mixin=infra.IPNETWORK.type_id
        ),
        Field(
            "occi.network.gateway",
            _column("gateway"),
            create="gateway",
            mixin=infra.IPNETWORK.type_id,
        ),
        Field(
            "occi.network.allocation",
            _column("allocation"),
            create="allocation",
            mixin=infra.IPNETWORK.type_id,
        ),
    ),
)


def _gateway(facts: Facts) -> str | None:
    return facts.gateway


NETWORKINTERFACE = KindTable(
    infra.NETWORKINTERFACE,
    EngineKind.NETWORK_INTERFACE,
    (
        *_entity_fields("networkinterface", link=True),
        Field("occi.networkinterface.interface", _column("interface"), create="interface"),
        Field("occi.networkinterface.mac", _column("mac"), create="mac"),
        *_state_fields("occi.networkinterface", EngineKind.NETWORK_INTERFACE),
        Field(
            "occi.networkinterface.address",
            _column("ip_address"),
            create="ip_address",
            mixin=infra.IPNETWORKINTERFACE.type_id,
        ),
        Field("occi.networkinterface.gateway", _gateway, mixin=infra.IPNETWORKINTERFACE.type_id),
        Field(
            "occi.networkinterface.allocation",
            _column("allocation"),
            mixin=infra.IPNETWORKINTERFACE.type_id,
        ),
    ),
)

STORAGELINK = KindTable(
    infra.STORAGELINK,
    EngineKind.STORAGE_ATTACHMENT,
    (
        *_entity_fields("storagelink", link=True),
        Field(
            "occi.storagelink.deviceid",
            _column("device"),
            units.device_path,
            units.device_name,
            create="device",
        ),
        Field("occi.storagelink.mountpoint", _column("mountpoint"), create="mountpoint"),
        *_state_fields("occi.storagelink", EngineKind.STORAGE_ATTACHMENT),
    ),
)

#: Every table, by Kind term (the first segment of an entity's path).
TABLES: Mapping[str, KindTable] = MappingProxyType(
    {t.term: t for t in (COMPUTE, STORAGE, NETWORK, NETWORKINTERFACE, STORAGELINK)}
)
#: The same tables by Kind type identifier and by engine kind.
BY_TYPE_ID: Mapping[str, KindTable] = MappingProxyType({t.kind.type_id: t for t in TABLES.values()})
BY_ENGINE_KIND: Mapping[EngineKind, KindTable] = MappingProxyType(
    {t.engine_kind: t for t in TABLES.values()}
)
RESOURCE_TABLES = (COMPUTE, STORAGE, NETWORK)
LINK_TABLES = (NETWORKINTERFACE, STORAGELINK)
#: The Kinds a link's target is, by link Kind term (GFD.224 §3.4).
LINK_TARGETS: Mapping[str, KindTable] = MappingProxyType(
    {"networkinterface": NETWORK, "storagelink": STORAGE}
)

_INDEX: dict[str, dict[str, Field]] = {
    table.term: {f.attribute: f for f in table.fields} for table in TABLES.values()
}

__all__ = [
    "BY_ENGINE_KIND",
    "BY_TYPE_ID",
    "COMPUTE",
    "LINK_TABLES",
    "LINK_TARGETS",
    "NETWORK",
    "NETWORKINTERFACE",
    "RESOURCE_TABLES",
    "STORAGE",
    "STORAGELINK",
    "TABLES",
    "Change",
    "Facts",
    "Field",
    "KindTable",
]
