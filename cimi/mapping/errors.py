"""Engine errors in CIMI's words: resource types, states, operations, attributes, units.

:func:`translate` writes the message and ``details`` of an engine error from
its structured details (:mod:`engine.errors`) through CIMI's tables:
DSP0263's type names (Machine, Volume, Network, MachineVolume...), its
states (STARTED, STOPPED, PAUSED, SUSPENDED...; :mod:`cimi.mapping.states`),
its operation URIs (``http://schemas.dmtf.org/cimi/1/action/start``) and its
attribute names and units (``memory`` and ``capacity`` in KiB, ``cpu``). The
error renderer (:mod:`cimi.views.errors`) uses it for every engine error;
no engine text is parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cimi.mapping import states as st
from cimi.mapping.base import KIB_PER_GIB, KIB_PER_MIB
from cimi.resources import ACTION_PREFIX
from concord import error_facts
from concord.error_words import FIELDS
from engine.errors import (
    AlreadyExists,
    EngineError,
    NotFound,
)
from engine.lifecycle import Action, Kind, State, stable_states

#: Engine kinds as DSP0263 names the resource types.
TYPE_NAMES: Mapping[Kind, str] = {
    Kind.COMPUTE: "Machine",
    Kind.VOLUME: "Volume",
    Kind.NETWORK: "Network",
    Kind.NETWORK_INTERFACE: "MachineNetworkInterface",
    Kind.STORAGE_ATTACHMENT: "MachineVolume",
    Kind.IMAGE: "MachineImage",
}

_STATES: Mapping[Kind, Mapping[State, str]] = {
    Kind.COMPUTE: st.MACHINE,
    Kind.VOLUME: st.VOLUME,
    Kind.NETWORK: st.NETWORK,
    Kind.NETWORK_INTERFACE: st.LINK,
    Kind.STORAGE_ATTACHMENT: st.LINK,
    Kind.IMAGE: st.IMAGE,
}

#: Engine action -> the CIMI operation that asks for it (5.14.1, 5.16); delete
#: is the HTTP DELETE (4.2.1.4), and a volume's size is changed by edit.
_OPERATIONS: Mapping[Kind, Mapping[Action, str]] = {
    Kind.COMPUTE: {
        Action.START: "start",
        Action.RESUME: "start",
        Action.STOP: "stop",
        Action.FORCE_STOP: "stop",
        Action.RESTART: "restart",
        Action.PAUSE: "pause",
        Action.SUSPEND: "suspend",
        Action.CAPTURE: "capture",
    },
    Kind.NETWORK: {Action.START: "start", Action.STOP: "stop"},
    Kind.VOLUME: {Action.RESIZE: "edit"},
}

#: Engine field -> (CIMI attribute, KiB per engine unit or 1).
_FIELDS: Mapping[str, tuple[str, int]] = {
    "vcpus": ("cpu", 1),
    "memory_mib": ("memory", KIB_PER_MIB),
    "size_gib": ("capacity", KIB_PER_GIB),
    "root_disk_gib": ("capacity", KIB_PER_GIB),
    "name": ("name", 1),
    "description": ("description", 1),
    "properties": ("properties", 1),
    "user_data": ("userData", 1),
    "ssh_public_key": ("key", 1),
    "device": ("initialLocation", 1),
    "mountpoint": ("initialLocation", 1),
    "image_id": ("machineImage", 1),
    "offering_id": ("machineConfig", 1),
    "ip_address": ("ip", 1),
    "gateway": ("defaultGateway", 1),
    "cidr": ("mask", 1),
    "mac": ("macAddress", 1),
    "hostname": ("hostname", 1),
    "ip": ("ip", 1),
    "dns": ("dns", 1),
    "mask": ("mask", 1),
    "protocol": ("protocol", 1),
    "allocation": ("allocation", 1),
}

#: What a refused link operation is to a CIMI client: adding or deleting it.
_LINK_VERBS = {"attach": "add", "prepare": "add", "detach": "delete"}


def state_word(kind: Kind, state: str) -> str:
    """The CIMI state of a resource in engine ``state``, in words for a message."""
    try:
        engine_state = State(state)
    except ValueError:
        return "in another state"
    if engine_state is State.DELETED:
        return "gone"
    word = _STATES[kind].get(engine_state)
    return word if word is not None else "out of service"


def operation_uri(name: str) -> str:
    """The URI of a CIMI operation (5.5.11; DSP0263 4.2.1.5)."""
    return name if name in ("edit", "delete", "add") or "/" in name else ACTION_PREFIX + name


def _field_message(error: EngineError) -> tuple[str, dict[str, Any]] | None:
    keyword = error.details.get("field")
    found = _FIELDS.get(keyword) if isinstance(keyword, str) else None
    if found is None and isinstance(keyword, str) and keyword.rpartition(".")[2] == "capacity":
        # cimi.mapping.base.capacity_gib names the attribute by its CIMI path
        # (volumeConfig.capacity, disks[0].capacity): KiB to the client, GiB below.
        found = (keyword, KIB_PER_GIB)
    shared = FIELDS.get(keyword) if isinstance(keyword, str) else None
    name, kib = found or (shared, 1)
    scale, suffix = (kib, " KiB") if error.details.get("unit") in ("MiB", "GiB") else (1, "")
    text = error_facts.field_message(
        error,
        name,
        number=lambda value: str(value * scale),
        suffix=suffix,
        whole=f"must be a multiple of {kib} KiB" if kib > 1 else "must be a whole number",
    )
    if text is None:
        return None
    return text, ({"field": found[0]} if found else {})


#: Engine resource types of limits -> (CIMI's words, KiB or count per engine unit).
QUOTA_WORDS: Mapping[str, tuple[str, float]] = {
    "instances": ("Machines", 1),
    "cpu": ("Machine cpu", 1),
    "memory": ("Machine memory in KiB", KIB_PER_MIB),
    "volumes": ("Volumes", 1),
    "primary_storage": ("Volume capacity in KiB", KIB_PER_GIB),
    "networks": ("Networks", 1),
    "snapshots": ("snapshots", 1),
    "templates": ("MachineImages", 1),
    "projects": ("projects", 1),
}

_CAPACITY = {
    "machine": "no host can take this Machine now",
    "disk": "there is no room for this Volume now",
    "address": "the Network has no free address left for a MachineNetworkInterface",
    "other": "the cloud has no room for this request now",
}


def _machine(cpu: int, memory_mib: int, where: str) -> tuple[str, dict[str, Any]]:
    kib = memory_mib * KIB_PER_MIB
    return (
        f"{_CAPACITY['machine']}{where} (cpu {cpu}, memory {kib} KiB); try another "
        "MachineConfiguration or later"
    ), {"cpu": cpu, "memory": kib}


def _attribute(keyword: str) -> str | None:
    found = _FIELDS.get(keyword)
    return found[0] if found else None


#: CIMI's words for what an engine error is about (DSP0263 resource types),
#: before the words both renderings share (:data:`concord.error_facts.NOUNS`).
NOUNS: Mapping[str, str] = {
    **{kind.value: word for kind, word in TYPE_NAMES.items()},
    "compute_offering": "MachineConfiguration",
    "disk_offering": "VolumeConfiguration",
    "network_offering": "NetworkConfiguration",
    "guest": "Machine",
    # DSP0263 calls images MachineImages; a HEPiX image list lists them.
    "image_list": "MachineImage list",
    "storage_pool": "pool",
    "ssh_key": "Credential",
    "job": "Job",
    "meter": "Meter",
}

VOCABULARY = error_facts.Vocabulary(
    nouns=NOUNS,
    field=_attribute,
    quota=QUOTA_WORDS,
    capacity=_CAPACITY,
    machine=_machine,
    guests="Machines",
    disks="Volumes",
)


def translate(error: EngineError) -> tuple[str, dict[str, Any]] | None:
    """The message and details of an engine error in CIMI's words, from its
    structured details; None when it carries none (its message, free of engine
    vocabulary, is then shown as it is)."""
    if (by_class := error_facts.by_class(error, VOCABULARY)) is not None:
        return by_class
    if (about := error_facts.by_subject(error, VOCABULARY)) is not None:
        return about, {}
    details = error.details
    if (found := _field_message(error)) is not None:
        return found
    kind = error_facts.kind(details.get("kind"))
    if kind is None:
        return None
    rid = details.get("id")
    noun = TYPE_NAMES[kind] + (f" {rid}" if isinstance(rid, str) else "")
    facts: dict[str, Any] = {"resourceType": TYPE_NAMES[kind], **({"id": rid} if rid else {})}
    state = details.get("state")
    if isinstance(error, NotFound):
        return f"no {noun}", facts
    if isinstance(error, AlreadyExists):
        return f"{noun} exists already", facts
    if not isinstance(state, str):
        return f"{noun}: the request cannot be carried out", facts
    word = state_word(kind, state)
    facts["state"] = word
    busy = _busy(kind, state)
    words = f"it is {word}" + (" (an operation is in progress)" if busy else "")
    link = error_facts.kind(details.get("link"))
    if "operation" in details and link is not None:
        verb = _LINK_VERBS.get(str(details["operation"]), "edit")
        return f"cannot {verb} a {TYPE_NAMES[link]} of {noun} now: {words}", facts
    action = details.get("action")
    expected = error_facts.strings(details.get("expected"))
    if expected:
        words += f"; it must be {' or '.join(sorted({state_word(kind, s) for s in expected}))}"
    known = isinstance(action, str) and _name(_OPERATIONS.get(kind, {}), action)
    if isinstance(action, str) and not known and action != Action.DELETE.value:
        return f"cannot edit {noun} now: {words}", facts
    if isinstance(action, str):
        table = _OPERATIONS.get(kind, {})
        asked = "delete" if action == Action.DELETE.value else _name(table, action)
        allowed = error_facts.strings(details.get("allowed"))
        names = list(dict.fromkeys(_name(table, a) for a in allowed if _name(table, a)))
        if Action.DELETE.value in allowed:
            names.append("delete")
        uris = [operation_uri(n) for n in names]
        facts["operations"] = " ".join(uris)
        offered = f"operations allowed now: {', '.join(uris)}" if uris else "no operation now"
        return f"cannot {asked or 'do this to'} {noun}: {words}; {offered}", facts
    return f"{noun} cannot do this now: {words}", facts


def _name(table: Mapping[Action, str], action: str) -> str:
    try:
        return table.get(Action(action), "")
    except ValueError:
        return ""


def _busy(kind: Kind, state: str) -> bool:
    try:
        return State(state) not in stable_states(kind) and State(state) is not State.DELETED
    except ValueError:
        return False


#: The detail keys CIMI's own code raises errors with, in CIMI's words: a
#: refused action's operations and the resource's CIMI state
#: (cimi.views.operations). A client reads them as they are
#: (concord.errors.translated); engine facts go through :func:`translate`.
CIMI_DETAILS = frozenset({"operations", "resourceState"})

__all__ = [
    "CIMI_DETAILS",
    "QUOTA_WORDS",
    "TYPE_NAMES",
    "operation_uri",
    "state_word",
    "translate",
]
