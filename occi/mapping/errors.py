"""Engine errors in OCCI's words: kinds, states, actions and attributes.

:func:`translate` writes the message of an engine error from its structured
details (:mod:`engine.errors`) through OCCI's tables: GFD.224's Kind terms
(compute, storage, network...), its states (active, inactive, suspended...),
its action terms and attribute names and units (GiB). The error renderer
(:mod:`occi.errors`) uses it for every engine error; no engine text is
parsed.

The engine names its own fields in :class:`~engine.errors.InvalidInput`
(``vcpus``, ``size_gib``...); an OCCI client sent ``occi.compute.cores`` or
``occi.storage.size``. :func:`occi_names` puts the OCCI attribute in front of
the message, found through the Kind's table (the one place that knows both
names, :mod:`occi.mapping.tables`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from concord import error_facts
from concord.error_words import FIELDS
from engine.errors import (
    AlreadyExists,
    EngineError,
    InvalidInput,
    NotFound,
)
from engine.lifecycle import Action, Kind, State, stable_states
from occi.mapping.states import ACTION_TERMS, GONE, STATES, applicable_terms, link_state, occi_state
from occi.mapping.tables import LINK_TABLES, TABLES, KindTable

#: Engine keywords of creation calls that are not a Field's (links, templates, size).
_EXTRA = {
    "offering_id": "a resource template (resource_tpl)",
    "image_id": "an OS template (os_tpl)",
    "vcpus": "occi.compute.cores",
    "memory_mib": "occi.compute.memory",
}


def attribute_for(table: KindTable, keyword: str | None) -> str | None:
    """The OCCI attribute an engine keyword of ``table``'s Kind stands for."""
    if keyword is None:
        return None
    for field in table.fields:
        if field.create == keyword:
            return field.attribute
    return _EXTRA.get(keyword)


@contextmanager
def occi_names(table: KindTable) -> Iterator[None]:
    """Re-raise the engine's InvalidInput with the OCCI attribute named first."""
    try:
        yield
    except InvalidInput as exc:
        field = exc.details.get("field")
        attribute = attribute_for(table, field if isinstance(field, str) else None)
        if attribute is None or attribute in exc.message:
            raise
        details = {k: v for k, v in exc.details.items() if k != "attribute"}
        raise InvalidInput(f"{attribute}: {exc.message}", attribute=attribute, **details) from None


# -- engine errors in OCCI's words ------------------------------------------------

#: Engine kinds as OCCI names them (GFD.224 Kinds; images are OS templates).
KIND_WORDS: dict[Kind, str] = {
    Kind.COMPUTE: "compute",
    Kind.VOLUME: "storage",
    Kind.NETWORK: "network",
    Kind.NETWORK_INTERFACE: "networkinterface",
    Kind.STORAGE_ATTACHMENT: "storagelink",
    Kind.IMAGE: "os_tpl",
}

_ACTIONS = frozenset(a.value for a in Action)

#: What a refused link operation is to an OCCI client: creating or deleting a link.
_OPERATION_VERBS = {"attach": "create", "prepare": "create", "detach": "delete"}

#: Engine units -> (OCCI unit, factor): OCCI sizes are GiB (GFD.224 §3.1, §3.3).
_UNITS = {"MiB": ("GiB", 1 / 1024), "GiB": ("GiB", 1)}


def _state_words(kind: Kind, state: str) -> str:
    """``it is active``, ``it is inactive (a job is running on it)``..."""
    try:
        engine_state = State(state)
    except ValueError:
        return "it is in another state"
    if engine_state in GONE:
        return "it is gone (a DELETE was accepted)"
    busy = engine_state not in stable_states(kind)
    if kind in STATES:
        word = occi_state(kind, state)
    elif kind in (Kind.NETWORK_INTERFACE, Kind.STORAGE_ATTACHMENT):
        word = link_state(state, None)
    else:
        word = "error" if engine_state is State.ERROR else ("being created" if busy else "ready")
        return f"it is {word}"
    return f"it is {word}" + (" (an action is in progress on it)" if busy else "")


def _number(value: float) -> str:
    return f"{value:g}"


def _field_message(error: EngineError) -> tuple[str, dict[str, Any]] | None:
    keyword = error.details.get("field")
    attribute = _attribute(keyword) if isinstance(keyword, str) else None
    shared = FIELDS.get(keyword) if isinstance(keyword, str) else None
    unit, factor = _UNITS.get(str(error.details.get("unit") or ""), ("", 1))
    suffix = f" {unit}" if unit else ""
    text = error_facts.field_message(
        error,
        attribute or shared,
        number=lambda value: _number(value * factor),
        suffix=suffix,
        whole=f"must be a whole number of{suffix or ' units'}",
    )
    if text is None:
        return None
    return text, ({"attribute": attribute} if attribute else {})


#: Engine resource types of limits -> (OCCI's words, OCCI units per engine unit).
QUOTA_WORDS: dict[str, tuple[str, float]] = {
    "instances": ("computes", 1),
    "cpu": ("cores (occi.compute.cores)", 1),
    "memory": ("memory in GiB (occi.compute.memory)", 1 / 1024),
    "volumes": ("storages", 1),
    "primary_storage": ("storage in GiB (occi.storage.size)", 1),
    "networks": ("networks", 1),
    "snapshots": ("snapshots", 1),
    "templates": ("OS templates (os_tpl)", 1),
    "projects": ("projects", 1),
}

#: A lack of capacity, by subject (:func:`concord.error_facts.capacity_subject`).
_CAPACITY = {
    "machine": "no host can take this compute now",
    "disk": "no storage pool has room for this storage now",
    "address": "the network has no free address left for a networkinterface",
    "other": "the cloud has no room for this request now",
}


def _machine(cores: int, memory_mib: int, where: str) -> tuple[str, dict[str, Any]]:
    memory = memory_mib / 1024
    return (
        f"{_CAPACITY['machine']}{where} (occi.compute.cores={cores}, "
        f"occi.compute.memory={_number(memory)}); try another size or later"
    ), {"occi.compute.cores": cores, "occi.compute.memory": memory}


def _attribute(keyword: str) -> str | None:
    for table in (*TABLES.values(), *LINK_TABLES):
        if (attribute := attribute_for(table, keyword)) is not None:
            return attribute
    return None


#: OCCI's words for what an engine error is about (GFD.224 Kinds, templates),
#: before the words both renderings share (:data:`concord.error_facts.NOUNS`).
NOUNS: dict[str, str] = {
    **{kind.value: word for kind, word in KIND_WORDS.items()},
    "compute_offering": "resource_tpl",
    "guest": "compute",
    # GFD.224 calls images OS templates; a HEPiX image list lists them.
    "image_list": "os_tpl list",
}

VOCABULARY = error_facts.Vocabulary(
    nouns=NOUNS,
    field=_attribute,
    quota=QUOTA_WORDS,
    capacity=_CAPACITY,
    machine=_machine,
    guests="computes",
    disks="storage",
)


def translate(error: EngineError) -> tuple[str, dict[str, Any]] | None:
    """The message and details of an engine error in OCCI's words, from its
    structured details (:mod:`engine.errors`); None when it carries none, and
    then its message, free of engine vocabulary, is shown as it is."""
    if (by_class := error_facts.by_class(error, VOCABULARY)) is not None:
        return by_class
    if (about := error_facts.by_subject(error, VOCABULARY)) is not None:
        return about, {}
    details = error.details
    kind = error_facts.kind(details.get("kind"))
    rid = details.get("id")
    if (found := _field_message(error)) is not None:
        return found
    if kind is None:
        return None
    noun = KIND_WORDS[kind] + (f" {rid}" if isinstance(rid, str) else "")
    facts: dict[str, Any] = {"kind": KIND_WORDS[kind], **({"id": rid} if rid else {})}
    state = details.get("state")
    if isinstance(error, NotFound):
        return f"no {noun}", facts
    if isinstance(error, AlreadyExists):
        return f"{noun} exists already", facts
    if not isinstance(state, str):
        return f"{noun}: the request cannot be carried out", facts
    words = _state_words(kind, state)
    facts["state"] = words.removeprefix("it is ")
    if "operation" in details and error_facts.kind(details.get("link")) is not None:
        verb = _OPERATION_VERBS.get(str(details["operation"]), "change")
        link = KIND_WORDS[error_facts.kind(details["link"]) or kind]
        return f"cannot {verb} a {link} of {noun} now: {words}", facts
    action = details.get("action")
    expected = error_facts.strings(details.get("expected"))
    if expected:
        needed = sorted({_state_words(kind, s).removeprefix("it is ") for s in expected})
        words += f"; it must be {' or '.join(needed)}"
    if isinstance(action, str) and _action_term(kind, action) == "change":
        return f"cannot change {noun} now: {words}", facts
    if isinstance(action, str):
        term = _action_term(kind, action)
        allowed = error_facts.strings(details.get("allowed"))
        applicable = applicable_terms(kind, [Action(a) for a in allowed if a in _ACTIONS])
        if Action.DELETE.value in allowed:
            applicable.append("DELETE")
        facts["actions"] = ", ".join(applicable)
        offered = (
            f"applicable now: {', '.join(applicable)}" if applicable else "nothing applies now"
        )
        return f"cannot {term} {noun}: {words}; {offered}", facts
    return f"{noun} cannot do this now: {words}", facts


def _action_term(kind: Kind, action: str) -> str:
    try:
        engine_action = Action(action)
    except ValueError:
        return "change"
    if engine_action is Action.DELETE:
        return "DELETE"
    return ACTION_TERMS.get(kind, {}).get(engine_action, "change")


#: The detail keys OCCI's own code raises errors with, in OCCI's words: the
#: attribute, Category, Mixin location or query parameter the client sent.
#: A client reads them as they are (concord.errors.translated); engine facts
#: go through :func:`translate` instead.
OCCI_DETAILS = frozenset({"attribute", "category", "location", "parameter"})

__all__ = [
    "KIND_WORDS",
    "OCCI_DETAILS",
    "QUOTA_WORDS",
    "attribute_for",
    "occi_names",
    "translate",
]
