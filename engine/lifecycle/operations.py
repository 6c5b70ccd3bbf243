"""The lifecycle functions: look the tables up, refuse what they forbid.

Every mutating operation on a resource is an asynchronous job, so a state
change happens in two steps:

1. when the job is accepted, :func:`begin` turns the resource's stable state
   into the job's transitional state (or raises :class:`InvalidTransition`);
2. when the job ends, :func:`complete` (success) or :func:`fail` (failure)
   turns the transitional state into a stable one.

Creation follows the same pattern with :func:`initial`,
:func:`complete_creation` and :func:`fail_creation`. Reconciliation with the
hypervisor uses :func:`observe`.

All functions are pure: they take states and return states. The caller
stores the result (and, for :func:`fail`, remembers the state the job began
from) in the same transaction as the job record.
"""

from __future__ import annotations

from engine.errors import InvalidInput, InvalidTransition

from .tables import MACHINES, Machine, Transition
from .vocabulary import Action, Kind, OnFailure, State


def machine(kind: Kind) -> Machine:
    """The lifecycle table of *kind*.

    :raises InvalidInput: if *kind* is not a :class:`Kind`.
    """
    try:
        return MACHINES[kind]
    except KeyError:
        raise InvalidInput(f"'{kind}' is not a resource kind", kind=str(kind)) from None


def states(kind: Kind) -> frozenset[State]:
    """Every state a resource of *kind* can be in."""
    return machine(kind).states


def stable_states(kind: Kind) -> frozenset[State]:
    """The states of *kind* in which no job runs."""
    return machine(kind).stable


def transitional_states(kind: Kind) -> frozenset[State]:
    """The states of *kind* shown while a job runs."""
    return machine(kind).transitional


def actions(kind: Kind) -> frozenset[Action]:
    """Every action *kind* allows in at least one state (what a rendering advertises)."""
    return machine(kind).actions


def is_stable(kind: Kind, state: State) -> bool:
    """Whether *state* is one where no job runs on a resource of *kind*.

    :raises InvalidInput: if *state* is not a state of *kind*.
    """
    m = machine(kind)
    return _state_of(m, state) in m.stable


def allowed_actions(kind: Kind, state: State) -> frozenset[Action]:
    """The actions a resource of *kind* in *state* accepts now.

    Empty while a job runs (transitional states) and once ``DELETED``.

    :raises InvalidInput: if *state* is not a state of *kind*.
    """
    m = machine(kind)
    _state_of(m, state)
    return frozenset(a for (s, a) in m.transitions if s == state)


def reached_by(kind: Kind, action: Action) -> frozenset[State]:
    """The states in which *action* has nothing left to do on a resource of *kind*.

    Those are the stable states the action leads to and the transitional
    states its jobs run through: a ``start`` on a running compute, or on one
    whose start job runs, would change nothing. Renderings use this to apply
    an action to a whole collection, leaving the members already there alone.
    Rows that come back to their own state (``restart``, ``capture``) change
    something every time, so they reach nothing.

    :raises InvalidInput: if *kind* is not a :class:`Kind`.
    """
    m = machine(kind)
    rows = [row for (s, a), row in m.transitions.items() if a == action and row.success != s]
    return frozenset(row.success for row in rows) | frozenset(row.transitional for row in rows)


def initial(kind: Kind) -> State:
    """The state of a new resource of *kind* while its creation job runs."""
    return machine(kind).initial


def complete_creation(kind: Kind, current: State, *, started: bool) -> State:
    """The stable state a successful creation job leaves.

    :param current: the resource's recorded state; must be :func:`initial`.
    :param started: whether the caller asked for the resource in service:
        a compute or network ``RUNNING`` rather than ``STOPPED``, a volume
        ``AVAILABLE`` rather than ``OFFLINE``. Kinds with a single
        in-service state (attachments, images) ignore it.
    :raises InvalidTransition: if *current* is not the creation state (the
        record was changed under the job, e.g. by a forced :func:`observe`).
    """
    m = machine(kind)
    _expect_creating(m, current)
    return m.created[started]


def fail_creation(kind: Kind, current: State) -> State:
    """The state a failed creation job leaves: always ``ERROR``.

    There is no earlier state to go back to, and the hypervisor may hold a
    part of the resource; from ``ERROR`` the owner can delete it.

    :raises InvalidTransition: if *current* is not the creation state.
    """
    _expect_creating(machine(kind), current)
    return State.ERROR


def begin(kind: Kind, state: State, action: Action, resource_id: str | None = None) -> State:
    """Accept a job running *action* on a resource of *kind* in *state*.

    :param resource_id: the resource's id, for the error's details.
    :returns: the transitional state to record while the job runs.
    :raises InvalidInput: if *state* is not a state of *kind*.
    :raises InvalidTransition: if the lifecycle forbids *action* in *state*;
        the message and ``details`` name the kind, state, action and the
        actions allowed instead (and the id when given).
    """
    try:
        return _row(machine(kind), state, action).transitional
    except InvalidTransition as exc:
        if resource_id is None:
            raise
        raise InvalidTransition(exc.message, **exc.details, id=resource_id) from None


def complete(kind: Kind, transitional: State, action: Action) -> State:
    """The stable state a successful *action* job leaves.

    :param transitional: the resource's recorded state, which must be the
        state :func:`begin` returned for *action*.
    :raises InvalidTransition: if no *action* job runs through *transitional*
        (the record was changed under the job, or the caller mixed jobs up).
    """
    m = machine(kind)
    _state_of(m, transitional)
    for (_, a), row in m.transitions.items():
        if a == action and row.transitional == transitional:
            return row.success
    raise _no_such_job(m, transitional, action)


def fail(kind: Kind, transitional: State, action: Action, previous: State) -> State:
    """The state a failed *action* job leaves.

    A transitional state does not say where its job started (``stopping``
    may come from ``running``, ``paused``, ``suspended`` or ``error``), so
    the caller passes *previous*, the stable state :func:`begin` was called
    with. The table says whether the failure restores it (a failed attempt
    leaves the hypervisor unchanged) or leads to ``ERROR`` (restart and
    delete, whose several steps may have half-happened).

    :raises InvalidTransition: if *previous* and *action* do not lead to
        *transitional*.
    """
    m = machine(kind)
    row = m.transitions.get((_state_of(m, previous), action))
    if row is None or row.transitional != _state_of(m, transitional):
        raise _no_such_job(m, transitional, action, previous)
    return previous if row.on_failure == OnFailure.RESTORE else State.ERROR


def observe(kind: Kind, current: State, observed: State, *, force: bool = False) -> State:
    """Set the state that reconciliation observed on the hypervisor.

    Any stable state may replace any stable state. A transitional state
    belongs to a running job and is replaced only when *force* is true
    (after a crash, when the job is known to be dead); the job's own
    :func:`complete` or :func:`fail` then raises, since the record moved on.

    Observation never yields ``DELETED``: a resource that vanished from the
    hypervisor is recorded as ``ERROR`` and its owner deletes it, so that
    deletion is always a job with its usage and quota accounting.

    :returns: *observed*.
    :raises InvalidInput: if *observed* is not a stable state of *kind* or
        is ``DELETED``, or *current* is not a state of *kind*.
    :raises InvalidTransition: if *current* is ``DELETED`` (terminal), or is
        transitional and *force* is false.
    """
    m = machine(kind)
    _state_of(m, current)
    if _state_of(m, observed) not in m.stable or observed == State.DELETED:
        raise InvalidInput(
            f"'{observed}' cannot be observed on a {kind.label}: "
            "only stable states other than 'deleted' can",
            kind=str(kind),
            state=str(observed),
        )
    if current == State.DELETED:
        raise InvalidTransition(
            f"{kind.label} is deleted; its state can no longer change",
            kind=str(kind),
            state=str(current),
            observed=str(observed),
        )
    if current in m.transitional and not force:
        raise InvalidTransition(
            f"{kind.label} in state '{current}' has a job running; "
            f"observing '{observed}' would override it",
            kind=str(kind),
            state=str(current),
            observed=str(observed),
        )
    return observed


def _state_of(m: Machine, state: State) -> State:
    if state not in m.states:
        raise InvalidInput(
            f"'{state}' is not a state of a {m.kind.label}",
            kind=str(m.kind),
            state=str(state),
        )
    return state


def _row(m: Machine, state: State, action: Action) -> Transition:
    row = m.transitions.get((_state_of(m, state), action))
    if row is not None:
        return row
    allowed = sorted(str(a) for (s, a) in m.transitions if s == state)
    if state in m.transitional:
        why = "a job is running on it; no action is allowed until it ends"
    elif not allowed:
        why = "it allows no action"
    else:
        why = "allowed actions: " + ", ".join(allowed)
    raise InvalidTransition(
        f"cannot '{action}' a {m.kind.label} in state '{state}': {why}",
        kind=str(m.kind),
        state=str(state),
        action=str(action),
        allowed=allowed,
    )


def _expect_creating(m: Machine, current: State) -> None:
    if _state_of(m, current) != m.initial:
        raise InvalidTransition(
            f"{m.kind.label} in state '{current}' is not being created",
            kind=str(m.kind),
            state=str(current),
            expected=[str(m.initial)],
        )


def _no_such_job(
    m: Machine, transitional: State, action: Action, previous: State | None = None
) -> InvalidTransition:
    start = "" if previous is None else f" from '{previous}'"
    return InvalidTransition(
        f"no '{action}' job{start} runs through state '{transitional}' of a {m.kind.label}",
        kind=str(m.kind),
        state=str(transitional),
        action=str(action),
        previous=None if previous is None else str(previous),
    )


__all__ = [
    "actions",
    "allowed_actions",
    "begin",
    "complete",
    "complete_creation",
    "fail",
    "fail_creation",
    "initial",
    "is_stable",
    "machine",
    "observe",
    "reached_by",
    "stable_states",
    "states",
    "transitional_states",
]
