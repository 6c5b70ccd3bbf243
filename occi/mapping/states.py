"""Engine states and actions in OCCI's words (GFD.224 §3 state diagrams and Actions).

The engine's lifecycle (:mod:`engine.lifecycle`) has transitional states,
since every change is a job; OCCI has none. A resource in a transitional
state is rendered in the OCCI state it is *leaving* (a compute ``starting``
is still ``inactive``), and ``*.state.message`` says what is happening
(``starting``), unless the engine recorded a message of its own (an error).
Resources being deleted are not rendered at all: to an OCCI client a
successful DELETE means the entity is gone (GFD.223 §3.7).

Actions: each OCCI action term (and ``method``, where GFD.224 gives one)
names one engine action; the actions an entity renders are the OCCI terms
of the engine actions its current state allows (GFD.223 §3.7: "SHOULD
render only currently applicable Actions").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from engine.lifecycle import Action, Kind, State

S = State
A = Action

#: Engine states in which an entity is gone for OCCI (a DELETE was accepted).
GONE = frozenset({S.DELETING, S.DETACHING, S.DELETED})

#: occi.compute.state (GFD.224 §3.1 Fig. 2): active, inactive, suspended, error.
COMPUTE_STATES: Mapping[State, str] = MappingProxyType(
    {
        S.RUNNING: "active",
        S.STOPPED: "inactive",
        # Both the engine's pause (memory kept) and suspend (memory saved to
        # disk) are GFD.224's suspended (suspend method=suspend / hibernate).
        S.PAUSED: "suspended",
        S.SUSPENDED: "suspended",
        S.ERROR: "error",
        # Transitional: the state being left.
        S.CREATING: "inactive",
        S.STARTING: "inactive",
        S.STOPPING: "active",
        S.RESTARTING: "active",
        S.PAUSING: "active",
        # Not "the state being left": a paused compute being hibernated is
        # suspended before and after, and a running one is on its way to
        # suspended; rendering it active would tell a client polling for
        # suspended that the suspend was undone (issue 17).
        S.SUSPENDING: "suspended",
        S.RESUMING: "suspended",
        S.CAPTURING: "inactive",
    }
)

#: occi.storage.state (GFD.224 §3.3 Fig. 5): online, offline, error.
STORAGE_STATES: Mapping[State, str] = MappingProxyType(
    {
        S.AVAILABLE: "online",
        S.OFFLINE: "offline",
        # GFD.184's degraded is gone from 1.2: a degraded volume still serves.
        S.DEGRADED: "online",
        S.ERROR: "error",
        S.CREATING: "offline",
        S.RESIZING: "online",
        S.CAPTURING: "online",
        S.GOING_OFFLINE: "online",
        S.GOING_ONLINE: "offline",
    }
)

#: occi.network.state (GFD.224 §3.2 Fig. 3): active, inactive, error.
NETWORK_STATES: Mapping[State, str] = MappingProxyType(
    {
        S.RUNNING: "active",
        S.STOPPED: "inactive",
        S.ERROR: "error",
        S.CREATING: "inactive",
        S.STARTING: "inactive",
        S.STOPPING: "active",
    }
)

STATES: Mapping[Kind, Mapping[State, str]] = MappingProxyType(
    {Kind.COMPUTE: COMPUTE_STATES, Kind.VOLUME: STORAGE_STATES, Kind.NETWORK: NETWORK_STATES}
)


def occi_state(kind: Kind, state: str) -> str:
    """The OCCI state of a compute, volume or network in engine ``state``."""
    return STATES[kind].get(State(state), "error")


def link_state(state: str, compute_state: str | None) -> str:
    """occi.networkinterface.state / occi.storagelink.state (GFD.224 §3.4 Fig. 6, 8).

    The engine's attachments are ``attaching``, ``attached`` or ``error``; a
    link is *active* when it is attached to a running compute and *inactive*
    otherwise (the engine leaves "inactive" to the renderings to derive).
    """
    if state == S.ERROR:
        return "error"
    if state == S.ATTACHED and compute_state == S.RUNNING:
        return "active"
    return "inactive"


def state_message(state: str, message: str | None, stable: Iterable[State]) -> str | None:
    """``*.state.message``: the engine's message, else the name of a running job's state."""
    if message:
        return message
    if State(state) not in set(stable):
        return f"{State(state).value.replace('_', ' ')} (a job is running)"
    return None


#: (OCCI action term, ``method`` or None) -> engine action, per kind.
#: GFD.224 §3.1: stop graceful/acpioff are the engine's graceful stop and
#: poweroff its forced one; restart's three methods are one engine restart;
#: suspend's ``suspend`` keeps memory (the engine's pause) and ``hibernate``
#: saves it to disk (the engine's suspend); save is a capture.
ACTIONS: Mapping[Kind, Mapping[tuple[str, str | None], Action]] = MappingProxyType(
    {
        Kind.COMPUTE: MappingProxyType(
            {
                ("start", None): A.START,
                ("stop", None): A.STOP,
                ("stop", "graceful"): A.STOP,
                ("stop", "acpioff"): A.STOP,
                ("stop", "poweroff"): A.FORCE_STOP,
                ("restart", None): A.RESTART,
                ("restart", "graceful"): A.RESTART,
                ("restart", "warm"): A.RESTART,
                ("restart", "cold"): A.RESTART,
                ("suspend", None): A.PAUSE,
                ("suspend", "suspend"): A.PAUSE,
                ("suspend", "hibernate"): A.SUSPEND,
                ("save", None): A.CAPTURE,
                ("save", "hot"): A.CAPTURE,
                ("save", "deferred"): A.CAPTURE,
            }
        ),
        # GFD.224 §3.3: storage online/offline.
        Kind.VOLUME: MappingProxyType({("online", None): A.ONLINE, ("offline", None): A.OFFLINE}),
        # GFD.224 §3.2: network up/down.
        Kind.NETWORK: MappingProxyType({("up", None): A.START, ("down", None): A.STOP}),
    }
)

#: Engine action -> the OCCI term that invokes it, per kind (for rendering).
ACTION_TERMS: Mapping[Kind, Mapping[Action, str]] = MappingProxyType(
    {
        Kind.COMPUTE: MappingProxyType(
            {
                A.START: "start",
                A.RESUME: "start",
                A.STOP: "stop",
                A.FORCE_STOP: "stop",
                A.RESTART: "restart",
                A.PAUSE: "suspend",
                A.SUSPEND: "suspend",
                A.CAPTURE: "save",
            }
        ),
        Kind.VOLUME: MappingProxyType({A.ONLINE: "online", A.OFFLINE: "offline"}),
        Kind.NETWORK: MappingProxyType({A.START: "up", A.STOP: "down"}),
    }
)


#: An action invoked without ``method``: the engine actions it may mean, in order
#: of preference; the first one the entity's state allows is taken. So every
#: action an entity renders can be invoked as rendered, with no method: ``stop``
#: of a suspended compute powers it off (a paused guest cannot answer ACPI),
#: ``suspend`` keeps memory in RAM (method ``suspend``) and, on a compute
#: already paused that way, saves it to disk (``hibernate``), and ``start``
#: resumes a paused one.
DEFAULTS: Mapping[Kind, Mapping[str, tuple[Action, ...]]] = MappingProxyType(
    {
        Kind.COMPUTE: MappingProxyType(
            {
                "start": (A.START, A.RESUME),
                "stop": (A.STOP, A.FORCE_STOP),
                "suspend": (A.PAUSE, A.SUSPEND),
            }
        ),
    }
)


def engine_action(
    kind: Kind, term: str, method: str | None, allowed: Iterable[Action] = ()
) -> Action | None:
    """The engine action an OCCI action (and method) means, or None if there is none.

    :param allowed: the engine actions the entity's state allows now; without
        a method, the first of the term's :data:`DEFAULTS` among them wins.
    """
    if method is None:
        candidates = DEFAULTS.get(kind, {}).get(term, ())
        now = set(allowed)
        for candidate in candidates:
            if candidate in now:
                return candidate
    return ACTIONS.get(kind, {}).get((term, method))


def candidates(kind: Kind, term: str, method: str | None) -> tuple[Action, ...]:
    """Every engine action ``term`` (and ``method``) may mean on a ``kind``."""
    if method is None and term in DEFAULTS.get(kind, {}):
        return DEFAULTS[kind][term]
    found = ACTIONS.get(kind, {}).get((term, method))
    return () if found is None else (found,)


def applicable_terms(kind: Kind, allowed: Iterable[Action]) -> list[str]:
    """The OCCI action terms an entity renders, in the Kind's order, given the
    engine actions its state allows now."""
    terms = ACTION_TERMS.get(kind, {})
    wanted = {terms[action] for action in allowed if action in terms}
    order = dict.fromkeys(term for term, _ in ACTIONS.get(kind, {}))
    return [term for term in order if term in wanted]


__all__ = [
    "ACTIONS",
    "ACTION_TERMS",
    "COMPUTE_STATES",
    "DEFAULTS",
    "GONE",
    "NETWORK_STATES",
    "STATES",
    "STORAGE_STATES",
    "applicable_terms",
    "candidates",
    "engine_action",
    "link_state",
    "occi_state",
    "state_message",
]
