"""The lifecycle of each kind, written as data.

Each :class:`Machine` declares a kind's stable and transitional states and a
table ``(stable state, action) -> Transition``. A :class:`Transition` names
the transitional state the resource shows while the job runs, the stable
state a successful job leaves, and where a failed job leaves it
(:class:`~engine.lifecycle.vocabulary.OnFailure`). Nothing here is code that
decides: :mod:`engine.lifecycle.operations` only looks rows up, and
:func:`engine.lifecycle.validation.validate_tables` checks the rows.

Spec references: GFD.224 is OCCI 1.2 Infrastructure (section and figure
numbers as in the occi-wg ``infrastructure.tex`` source), GFD.184 is OCCI 1.1
Infrastructure, DSP0263 is CIMI (clause numbers of DSP0263 1.1 =
ISO/IEC 19831:2015).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from .vocabulary import Action, Kind, OnFailure, State

#: Short aliases that keep the tables below readable.
S = State
A = Action


class Transition(NamedTuple):
    """One row of a lifecycle table: what a job does to a resource.

    :param transitional: the state shown while the job runs.
    :param success: the stable state a successful job leaves.
    :param on_failure: where a failed job leaves the resource.
    """

    transitional: State
    success: State
    on_failure: OnFailure = OnFailure.RESTORE


@dataclass(frozen=True)
class Machine:
    """The lifecycle of one resource kind.

    :param kind: the kind this machine governs.
    :param stable: states in which no job runs; actions start only here.
    :param transitional: states shown while a job runs.
    :param initial: the transitional state of a new resource, while its
        creation job runs.
    :param created: the first stable state after creation, keyed by whether
        the caller asked for the resource to be started (in service).
    :param transitions: ``(stable state, action) -> Transition``.
    :param observed_only: stable states that only reconciliation reaches
        (through :func:`engine.lifecycle.observe`), never a job.
    """

    kind: Kind
    stable: frozenset[State]
    transitional: frozenset[State]
    initial: State
    created: Mapping[bool, State]
    transitions: Mapping[tuple[State, Action], Transition]
    observed_only: frozenset[State] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Freeze the mappings too, so no caller can edit a lifecycle at run time.
        object.__setattr__(self, "created", MappingProxyType(dict(self.created)))
        object.__setattr__(self, "transitions", MappingProxyType(dict(self.transitions)))

    @property
    def states(self) -> frozenset[State]:
        """Every state of the kind, stable or transitional."""
        return self.stable | self.transitional

    @property
    def actions(self) -> frozenset[Action]:
        """Every action the kind allows in at least one state."""
        return frozenset(action for _, action in self.transitions)


def _go(
    transitional: State, success: State, on_failure: OnFailure = OnFailure.RESTORE
) -> Transition:
    return Transition(transitional, success, on_failure)


# Deleting tears a resource down in several hypervisor steps (destroy, undefine,
# remove storage) or asynchronously (device detach completes on a guest event),
# so a failed delete leaves an unknown remainder: ERROR, from which delete is
# allowed again. DSP0263 §4.2.1.4 requires DELETING while the delete runs.
_DELETE = _go(S.DELETING, S.DELETED, OnFailure.ERROR)
_DETACH = _go(S.DETACHING, S.DELETED, OnFailure.ERROR)

#: Virtual machines (GFD.224 §3.1 Compute; DSP0263 §5.14 Machine).
COMPUTE = Machine(
    kind=Kind.COMPUTE,
    stable=frozenset({S.STOPPED, S.RUNNING, S.PAUSED, S.SUSPENDED, S.ERROR, S.DELETED}),
    transitional=frozenset(
        {
            S.CREATING,
            S.STARTING,
            S.STOPPING,
            S.RESTARTING,
            S.PAUSING,
            S.RESUMING,
            S.SUSPENDING,
            S.CAPTURING,
            S.DELETING,
        }
    ),
    # DSP0263 §5.14: CREATING after add, then the MachineTemplate's initialState;
    # GFD.224 §3.1 Fig. 2: initial -> inactive.
    initial=S.CREATING,
    created={False: S.STOPPED, True: S.RUNNING},
    transitions={
        # GFD.224 §3.1 Fig. 2 inactive -start-> active; DSP0263 §5.14 STOPPED -start-> STARTING.
        (S.STOPPED, A.START): _go(S.STARTING, S.RUNNING),
        # DSP0263 §5.14.7.1 capture: where it is allowed is the provider's choice. Only
        # from STOPPED, so the disk copy is consistent and CAPTURING has one success
        # state; GFD.224 §3.1 `save` ("via stop and start chain") is composed by the
        # compute service as stop, capture, start.
        (S.STOPPED, A.CAPTURE): _go(S.CAPTURING, S.STOPPED),
        (S.STOPPED, A.DELETE): _DELETE,
        # GFD.224 §3.1 Fig. 2 active -stop-> inactive (method graceful/acpioff);
        # DSP0263 §5.14 stop.
        (S.RUNNING, A.STOP): _go(S.STOPPING, S.STOPPED),
        # GFD.224 §3.1 stop method=poweroff; DSP0263 §5.14 stop with force=true.
        (S.RUNNING, A.FORCE_STOP): _go(S.STOPPING, S.STOPPED),
        # GFD.224 §3.1 restart "via stop and start chain"; DSP0263 §5.14 restart from
        # STARTED = stop then start. A failure may fall between the two: ERROR.
        (S.RUNNING, A.RESTART): _go(S.RESTARTING, S.RUNNING, OnFailure.ERROR),
        # DSP0263 §5.14 pause (OCCI suspend method=suspend): memory kept in RAM.
        (S.RUNNING, A.PAUSE): _go(S.PAUSING, S.PAUSED),
        # GFD.224 §3.1 Fig. 2 active -suspend-> suspended (method=hibernate);
        # DSP0263 §5.14 suspend: memory saved to disk (libvirt managed save).
        (S.RUNNING, A.SUSPEND): _go(S.SUSPENDING, S.SUSPENDED),
        (S.RUNNING, A.DELETE): _DELETE,
        # DSP0263 §5.14 Machine diagram (as OW2 Sirocco reads it) PAUSED -start-> STARTING;
        # libvirt resumes the vCPUs.
        (S.PAUSED, A.START): _go(S.RESUMING, S.RUNNING),
        (S.PAUSED, A.RESUME): _go(S.RESUMING, S.RUNNING),
        # A paused guest cannot answer ACPI, so only a forced stop is honest.
        (S.PAUSED, A.FORCE_STOP): _go(S.STOPPING, S.STOPPED),
        # Managed save of a paused guest; the driver restores it running.
        (S.PAUSED, A.SUSPEND): _go(S.SUSPENDING, S.SUSPENDED),
        (S.PAUSED, A.DELETE): _DELETE,
        # GFD.224 §3.1 Fig. 2 suspended -start-> active; DSP0263 §5.14 (Sirocco's reading)
        # SUSPENDED -start-> STARTING. In libvirt start and resume both restore the
        # managed save.
        (S.SUSPENDED, A.START): _go(S.STARTING, S.RUNNING),
        (S.SUSPENDED, A.RESUME): _go(S.STARTING, S.RUNNING),
        # Discarding the saved memory is a power-off: forced only.
        (S.SUSPENDED, A.FORCE_STOP): _go(S.STOPPING, S.STOPPED),
        (S.SUSPENDED, A.DELETE): _DELETE,
        # GFD.224 §3.1 Fig. 2 draws no edge out of error; a forced stop brings the
        # machine back to a known state (Sirocco's reading of DSP0263 §5.14 allows stop
        # from ERROR).
        (S.ERROR, A.FORCE_STOP): _go(S.STOPPING, S.STOPPED),
        (S.ERROR, A.DELETE): _DELETE,
    },
)

#: Block volumes (GFD.224 §3.3 Storage; DSP0263 §5.15 Volume).
VOLUME = Machine(
    kind=Kind.VOLUME,
    stable=frozenset({S.AVAILABLE, S.OFFLINE, S.DEGRADED, S.ERROR, S.DELETED}),
    transitional=frozenset(
        {
            S.CREATING,
            S.RESIZING,
            S.CAPTURING,
            S.GOING_OFFLINE,
            S.GOING_ONLINE,
            S.DELETING,
        }
    ),
    # DSP0263 §5.15 Volume CREATING -> AVAILABLE; GFD.224 §3.3 Fig. 5 initial -> offline.
    initial=S.CREATING,
    created={False: S.OFFLINE, True: S.AVAILABLE},
    transitions={
        # GFD.224 §3.3: resizing is an update of occi.storage.size; GFD.184 had a
        # `resize` action and state.
        (S.AVAILABLE, A.RESIZE): _go(S.RESIZING, S.AVAILABLE),
        # DSP0263 §5.15 Volume CAPTURING (a VolumeImage); GFD.184 snapshot/backup.
        (S.AVAILABLE, A.CAPTURE): _go(S.CAPTURING, S.AVAILABLE),
        # GFD.224 §3.3 Fig. 5 online -offline-> offline.
        (S.AVAILABLE, A.OFFLINE): _go(S.GOING_OFFLINE, S.OFFLINE),
        (S.AVAILABLE, A.DELETE): _DELETE,
        # GFD.224 §3.3 Fig. 5 offline -online-> online; offline -> final (delete).
        (S.OFFLINE, A.ONLINE): _go(S.GOING_ONLINE, S.AVAILABLE),
        (S.OFFLINE, A.DELETE): _DELETE,
        # GFD.184 `degraded`: its pool reports degraded. Take it out of service or
        # delete it; reconciliation brings it back when the pool recovers.
        (S.DEGRADED, A.OFFLINE): _go(S.GOING_OFFLINE, S.OFFLINE),
        (S.DEGRADED, A.DELETE): _DELETE,
        (S.ERROR, A.DELETE): _DELETE,
    },
    observed_only=frozenset({S.DEGRADED}),
)

#: Networks (GFD.224 §3.2 Network; DSP0263 §5.16 Network).
NETWORK = Machine(
    kind=Kind.NETWORK,
    stable=frozenset({S.STOPPED, S.RUNNING, S.ERROR, S.DELETED}),
    transitional=frozenset({S.CREATING, S.STARTING, S.STOPPING, S.DELETING}),
    # DSP0263 §5.16 Network CREATING; GFD.224 §3.2 Fig. 3 initial -> inactive.
    initial=S.CREATING,
    created={False: S.STOPPED, True: S.RUNNING},
    transitions={
        # GFD.224 §3.2 Fig. 3 inactive -up-> active; DSP0263 §5.16 start.
        (S.STOPPED, A.START): _go(S.STARTING, S.RUNNING),
        # GFD.224 §3.2 Fig. 3 inactive -> final.
        (S.STOPPED, A.DELETE): _DELETE,
        # GFD.224 §3.2 Fig. 3 active -down-> inactive; DSP0263 §5.16 stop.
        (S.RUNNING, A.STOP): _go(S.STOPPING, S.STOPPED),
        (S.RUNNING, A.DELETE): _DELETE,
        (S.ERROR, A.DELETE): _DELETE,
    },
)


def _attachment(kind: Kind) -> Machine:
    # GFD.224 §3.4.1 Fig. 6 and §3.4.2 Fig. 8: one link diagram, no actions;
    # DSP0263 §5.14 MachineVolume: attach = add, detach = delete.
    return Machine(
        kind=kind,
        stable=frozenset({S.ATTACHED, S.ERROR, S.DELETED}),
        transitional=frozenset({S.ATTACHING, S.DETACHING}),
        initial=S.ATTACHING,
        # A link is in service once attached, whether or not its compute runs.
        created={False: S.ATTACHED, True: S.ATTACHED},
        transitions={
            (S.ATTACHED, A.DELETE): _DETACH,
            (S.ERROR, A.DELETE): _DETACH,
        },
    )


#: Network interfaces (GFD.224 §3.4.1 NetworkInterface; CIMI MachineNetworkInterface).
NETWORK_INTERFACE = _attachment(Kind.NETWORK_INTERFACE)
#: Volume attachments (GFD.224 §3.4.2 StorageLink; CIMI MachineVolume).
STORAGE_ATTACHMENT = _attachment(Kind.STORAGE_ATTACHMENT)

#: Captured templates (GFD.224 §3.5.1 OS Template; DSP0263 §5.14 MachineImage).
IMAGE = Machine(
    kind=Kind.IMAGE,
    stable=frozenset({S.AVAILABLE, S.ERROR, S.DELETED}),
    transitional=frozenset({S.CREATING, S.DELETING}),
    # DSP0263 §5.14 MachineImage states CREATING, AVAILABLE, DELETING, ERROR; the
    # image is created by a compute's or volume's capture job.
    initial=S.CREATING,
    created={False: S.AVAILABLE, True: S.AVAILABLE},
    transitions={
        (S.AVAILABLE, A.DELETE): _DELETE,
        (S.ERROR, A.DELETE): _DELETE,
    },
)

#: The lifecycle of every kind, read-only.
MACHINES: Mapping[Kind, Machine] = MappingProxyType(
    {m.kind: m for m in (COMPUTE, VOLUME, NETWORK, NETWORK_INTERFACE, STORAGE_ATTACHMENT, IMAGE)}
)

__all__ = [
    "COMPUTE",
    "IMAGE",
    "MACHINES",
    "NETWORK",
    "NETWORK_INTERFACE",
    "STORAGE_ATTACHMENT",
    "VOLUME",
    "Machine",
    "Transition",
]
