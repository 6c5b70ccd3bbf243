"""The one translation of engine states and actions into CIMI's (DSP0263 5.14-5.17).

The engine owns the lifecycles (:mod:`engine.lifecycle`); CIMI sees them
through these tables, and offers an operation exactly when the lifecycle
allows one of the engine actions it maps to in the resource's current state
(DSP0263 4.2.1.5: ``operations`` lists what the requester may do *now*).

Machine (5.14.1; the engine state that serves each CIMI state is documented in
:mod:`engine.lifecycle`): ``restarting`` and ``resuming`` show as STARTING,
the transient state DSP0263's restart and start pass through. Volume (5.15):
CIMI has no offline volume; ``offline`` and its transitions (an OCCI
notion, GFD.224 3.3) have no CIMI state and are left out of the
representation, ``resizing`` shows AVAILABLE (the volume stays usable) and a
``degraded`` pool shows ERROR. Links (MachineVolume, MachineNetworkInterface)
have ATTACHING, ATTACHED, DETACHING; a NetworkPort (1.x) shows its
interface's link as CREATING, STARTED, DELETING. Jobs: ``cancelled`` is
STOPPED, the Job state list shared by StratusLab and SlipStream (cimi.md 2.12).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from engine import lifecycle
from engine.errors import InvalidInput
from engine.jobs.models import JobState
from engine.lifecycle import Action, Kind, State

S = State

MACHINE: Mapping[State, str] = MappingProxyType(
    {
        S.CREATING: "CREATING",
        S.STARTING: "STARTING",
        S.RUNNING: "STARTED",
        S.STOPPING: "STOPPING",
        S.STOPPED: "STOPPED",
        S.RESTARTING: "STARTING",
        S.PAUSING: "PAUSING",
        S.PAUSED: "PAUSED",
        S.RESUMING: "STARTING",
        S.SUSPENDING: "SUSPENDING",
        S.SUSPENDED: "SUSPENDED",
        S.CAPTURING: "CAPTURING",
        S.DELETING: "DELETING",
        S.ERROR: "ERROR",
    }
)

VOLUME: Mapping[State, str] = MappingProxyType(
    {
        S.CREATING: "CREATING",
        S.AVAILABLE: "AVAILABLE",
        S.RESIZING: "AVAILABLE",
        S.CAPTURING: "CAPTURING",
        S.DEGRADED: "ERROR",
        S.DELETING: "DELETING",
        S.ERROR: "ERROR",
    }
)

NETWORK: Mapping[State, str] = MappingProxyType(
    {
        S.CREATING: "CREATING",
        S.STARTING: "STARTING",
        S.RUNNING: "STARTED",
        S.STOPPING: "STOPPING",
        S.STOPPED: "STOPPED",
        S.DELETING: "DELETING",
        S.ERROR: "ERROR",
    }
)

IMAGE: Mapping[State, str] = MappingProxyType(
    {
        S.CREATING: "CREATING",
        S.AVAILABLE: "AVAILABLE",
        S.DELETING: "DELETING",
        S.ERROR: "ERROR",
    }
)

LINK: Mapping[State, str] = MappingProxyType(
    {
        S.ATTACHING: "ATTACHING",
        S.ATTACHED: "ATTACHED",
        S.DETACHING: "DETACHING",
        S.ERROR: "ERROR",
    }
)

PORT: Mapping[State, str] = MappingProxyType(
    {S.ATTACHING: "CREATING", S.ATTACHED: "STARTED", S.DETACHING: "DELETING", S.ERROR: "ERROR"}
)

JOB: Mapping[JobState, str] = MappingProxyType(
    {
        JobState.QUEUED: "QUEUED",
        JobState.RUNNING: "RUNNING",
        JobState.SUCCESS: "SUCCESS",
        JobState.FAILED: "FAILED",
        JobState.CANCELLED: "STOPPED",
    }
)

#: CIMI action name -> the engine actions that carry it out, in order of
#: preference: the first one the lifecycle allows now is used.
#:
#: * stop: graceful where the engine has it, else forced (a paused or
#:   suspended guest cannot answer ACPI); ``force=true`` asks for forced only;
#: * restart: from STARTED the engine's restart (stop then start, 5.14.1);
#:   from STOPPED, PAUSED or SUSPENDED a start, as Sirocco reads the 5.14
#:   diagram;
#: * capture goes through the MachineImageCollection (5.14.7.1).
MACHINE_ACTIONS: Mapping[str, tuple[Action, ...]] = MappingProxyType(
    {
        "start": (Action.START,),
        "stop": (Action.STOP, Action.FORCE_STOP),
        "restart": (Action.RESTART, Action.START),
        "pause": (Action.PAUSE,),
        "suspend": (Action.SUSPEND,),
        "capture": (Action.CAPTURE,),
    }
)
#: stop and restart with ``force=true`` (DSP0263 5.14.1, MachineStopForce).
FORCED: Mapping[str, tuple[Action, ...]] = MappingProxyType(
    {"stop": (Action.FORCE_STOP,), "restart": (Action.RESTART, Action.START)}
)

NETWORK_ACTIONS: Mapping[str, tuple[Action, ...]] = MappingProxyType(
    {"start": (Action.START,), "stop": (Action.STOP,)}
)


def state_of(table: Mapping[State, str], state: str) -> str | None:
    """The CIMI state of an engine state (None: no CIMI equivalent; left out)."""
    try:
        return table.get(State(state))
    except ValueError:
        return None


def engine_action(kind: Kind, state: str, candidates: tuple[Action, ...] | None) -> Action | None:
    """The first of *candidates* the lifecycle of *kind* allows in *state*, if any."""
    if not candidates:
        return None
    allowed = _allowed(kind, state)
    return next((action for action in candidates if action in allowed), None)


@cache
def _allowed(kind: Kind, state: str) -> frozenset[Action]:
    """The lifecycle's allowed actions, looked up once per (kind, state): the tables
    are immutable, and a Collection of 1,000 Machines asks 7,000 times."""
    try:
        return lifecycle.allowed_actions(kind, State(state))
    except (ValueError, InvalidInput):  # not a state of this kind: offer nothing
        return frozenset()


#: offered() by (kind, state, table identity): the action tables are module
#: constants and the lifecycle immutable, and a Collection asks once per entry.
_OFFERED: dict[tuple[Kind, str, int], tuple[Mapping[str, tuple[Action, ...]], list[str]]] = {}


def offered(kind: Kind, state: str, table: Mapping[str, tuple[Action, ...]]) -> list[str]:
    """The CIMI actions of *table* that a resource of *kind* in *state* accepts now."""
    key = (kind, state, id(table))
    found = _OFFERED.get(key)
    if found is None:
        names = [
            name for name, candidates in table.items() if engine_action(kind, state, candidates)
        ]
        found = _OFFERED[key] = (table, names)  # the table kept: its identity stays valid
    return list(found[1])


def deletable(kind: Kind, state: str) -> bool:
    """Whether the lifecycle allows ``delete`` now (DSP0263 4.2.1.4)."""
    return engine_action(kind, state, (Action.DELETE,)) is not None


__all__ = [
    "FORCED",
    "IMAGE",
    "JOB",
    "LINK",
    "MACHINE",
    "MACHINE_ACTIONS",
    "NETWORK",
    "NETWORK_ACTIONS",
    "PORT",
    "VOLUME",
    "deletable",
    "engine_action",
    "offered",
    "state_of",
]
