"""The canonical lifecycles: every (kind, state, action) and random job sequences.

The expected tables below are written out by hand from the design, not read
from :mod:`engine.lifecycle`; a change to a lifecycle must change both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from itertools import product
from types import MappingProxyType
from typing import Any, cast

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.errors import InvalidInput, InvalidTransition
from engine.lifecycle import (
    MACHINES,
    Action,
    Kind,
    Machine,
    State,
    TableError,
    Transition,
    actions,
    allowed_actions,
    begin,
    complete,
    complete_creation,
    fail,
    fail_creation,
    initial,
    is_stable,
    machine,
    observe,
    reached_by,
    stable_states,
    states,
    transitional_states,
    validate_tables,
)

# ---------------------------------------------------------------- expected tables

R = "restore"  # a failed job returns to the state it began from
E = "error"  # a failed job leaves the resource in "error"
DELETE = {"delete": ("deleting", "deleted", E)}
DETACH = {"delete": ("detaching", "deleted", E)}

#: kind -> stable state -> action -> (transitional, success, on failure)
EXPECTED: dict[str, dict[str, dict[str, tuple[str, str, str]]]] = {
    "compute": {
        "stopped": {
            "start": ("starting", "running", R),
            "capture": ("capturing", "stopped", R),
            **DELETE,
        },
        "running": {
            "stop": ("stopping", "stopped", R),
            "force_stop": ("stopping", "stopped", R),
            "restart": ("restarting", "running", E),
            "pause": ("pausing", "paused", R),
            "suspend": ("suspending", "suspended", R),
            **DELETE,
        },
        "paused": {
            "start": ("resuming", "running", R),
            "resume": ("resuming", "running", R),
            "force_stop": ("stopping", "stopped", R),
            "suspend": ("suspending", "suspended", R),
            **DELETE,
        },
        "suspended": {
            "start": ("starting", "running", R),
            "resume": ("starting", "running", R),
            "force_stop": ("stopping", "stopped", R),
            **DELETE,
        },
        "error": {"force_stop": ("stopping", "stopped", R), **DELETE},
        "deleted": {},
    },
    "volume": {
        "available": {
            "resize": ("resizing", "available", R),
            "capture": ("capturing", "available", R),
            "offline": ("going_offline", "offline", R),
            **DELETE,
        },
        "offline": {"online": ("going_online", "available", R), **DELETE},
        "degraded": {"offline": ("going_offline", "offline", R), **DELETE},
        "error": DELETE,
        "deleted": {},
    },
    "network": {
        "stopped": {"start": ("starting", "running", R), **DELETE},
        "running": {"stop": ("stopping", "stopped", R), **DELETE},
        "error": DELETE,
        "deleted": {},
    },
    "network_interface": {"attached": DETACH, "error": DETACH, "deleted": {}},
    "storage_attachment": {"attached": DETACH, "error": DETACH, "deleted": {}},
    "image": {"available": DELETE, "error": DELETE, "deleted": {}},
}

TRANSITIONAL: dict[str, set[str]] = {
    "compute": {
        "creating",
        "starting",
        "stopping",
        "restarting",
        "pausing",
        "resuming",
        "suspending",
        "capturing",
        "deleting",
    },
    "volume": {"creating", "resizing", "capturing", "going_offline", "going_online", "deleting"},
    "network": {"creating", "starting", "stopping", "deleting"},
    "network_interface": {"attaching", "detaching"},
    "storage_attachment": {"attaching", "detaching"},
    "image": {"creating", "deleting"},
}

#: kind -> (initial state, state after creation if not started, if started)
CREATION: dict[str, tuple[str, str, str]] = {
    "compute": ("creating", "stopped", "running"),
    "volume": ("creating", "offline", "available"),
    "network": ("creating", "stopped", "running"),
    "network_interface": ("attaching", "attached", "attached"),
    "storage_attachment": ("attaching", "attached", "attached"),
    "image": ("creating", "available", "available"),
}

ALL_STATES = {s for kind in EXPECTED for s in EXPECTED[kind]} | {
    s for kind in TRANSITIONAL for s in TRANSITIONAL[kind]
}
ALL_ACTIONS = {a for kind in EXPECTED for row in EXPECTED[kind].values() for a in row}


def test_vocabulary_is_the_expected_one() -> None:
    assert {k.value for k in Kind} == set(EXPECTED)
    assert {s.value for s in State} == ALL_STATES
    assert {a.value for a in Action} == ALL_ACTIONS


@pytest.mark.parametrize("kind", list(Kind))
def test_states_of_each_kind(kind: Kind) -> None:
    assert stable_states(kind) == set(EXPECTED[kind])
    assert transitional_states(kind) == TRANSITIONAL[kind]
    assert states(kind) == set(EXPECTED[kind]) | TRANSITIONAL[kind]
    assert actions(kind) == {a for row in EXPECTED[kind].values() for a in row}


# ----------------------------------------- every (kind, state, action) combination


@pytest.mark.parametrize(
    ("kind", "state", "action"),
    [(k, State(s), a) for k in Kind for s in EXPECTED[k] for a in Action],
    ids=str,
)
def test_every_stable_state_and_action(kind: Kind, state: State, action: Action) -> None:
    expected = EXPECTED[kind][state]
    if action in expected:
        transitional, success, on_failure = expected[action]
        assert begin(kind, state, action) == transitional
        assert complete(kind, State(transitional), action) == success
        failed = fail(kind, State(transitional), action, state)
        assert failed == (state if on_failure == R else "error")
        return
    with pytest.raises(InvalidTransition) as caught:
        begin(kind, state, action)
    allowed = sorted(expected)
    assert caught.value.details == {
        "kind": kind,
        "state": state,
        "action": action,
        "allowed": allowed,
    }
    for word in (kind.label, f"'{state}'", f"'{action}'", *allowed):
        assert word in caught.value.message


@pytest.mark.parametrize(
    ("kind", "state"),
    [(k, s) for k in Kind for s in State if s not in EXPECTED[k]],
    ids=str,
)
def test_no_action_starts_from_other_states(kind: Kind, state: State) -> None:
    for action in Action:
        if state in TRANSITIONAL[kind]:
            with pytest.raises(InvalidTransition, match="job is running") as caught:
                begin(kind, state, action)
            assert caught.value.details["allowed"] == []
        else:
            match = f"'{state}' is not a state of a {kind.label}"
            with pytest.raises(InvalidInput, match=match):
                begin(kind, state, action)


@pytest.mark.parametrize(
    ("kind", "action", "reached"),
    [
        (Kind.COMPUTE, Action.START, {"running", "starting", "resuming"}),
        (Kind.COMPUTE, Action.STOP, {"stopped", "stopping"}),
        (Kind.COMPUTE, Action.PAUSE, {"paused", "pausing"}),
        # coming back to where it began: every restart or capture does something
        (Kind.COMPUTE, Action.RESTART, set()),
        (Kind.COMPUTE, Action.CAPTURE, set()),
        (Kind.VOLUME, Action.ONLINE, {"available", "going_online"}),
    ],
)
def test_reached_by(kind: Kind, action: Action, reached: set[str]) -> None:
    assert {str(s) for s in reached_by(kind, action)} == reached


@pytest.mark.parametrize(
    ("kind", "state"),
    [(k, s) for k in Kind for s in State],
    ids=str,
)
def test_allowed_actions_and_stability(kind: Kind, state: State) -> None:
    if state in EXPECTED[kind]:
        assert allowed_actions(kind, state) == set(EXPECTED[kind][state])
        assert is_stable(kind, state)
    elif state in TRANSITIONAL[kind]:
        assert allowed_actions(kind, state) == frozenset()
        assert not is_stable(kind, state)
    else:
        with pytest.raises(InvalidInput):
            allowed_actions(kind, state)
        with pytest.raises(InvalidInput):
            is_stable(kind, state)


def test_error_names_the_empty_choice_of_a_deleted_resource() -> None:
    with pytest.raises(InvalidTransition, match="allows no action"):
        begin(Kind.COMPUTE, State.DELETED, Action.DELETE)


# ------------------------------------------------------------- creation


@pytest.mark.parametrize("kind", list(Kind))
def test_creation(kind: Kind) -> None:
    first, stopped, started = CREATION[kind]
    assert initial(kind) == first
    assert complete_creation(kind, State(first), started=False) == stopped
    assert complete_creation(kind, State(first), started=True) == started
    assert fail_creation(kind, State(first)) == "error"


@pytest.mark.parametrize("kind", list(Kind))
def test_creation_outcome_needs_the_creation_state(kind: Kind) -> None:
    after = State(CREATION[kind][1])
    with pytest.raises(InvalidTransition, match="not being created") as caught:
        complete_creation(kind, after, started=True)
    # A list, like every other refusal's ``expected``: the renderings read only lists.
    assert caught.value.details["expected"] == [CREATION[kind][0]]
    with pytest.raises(InvalidTransition, match="not being created"):
        fail_creation(kind, after)
    with pytest.raises(InvalidInput):
        fail_creation(kind, State.GOING_ONLINE if kind != Kind.VOLUME else State.PAUSED)


# ---------------------------------------------------- job outcomes that do not fit


def test_complete_refuses_a_job_that_is_not_running() -> None:
    # The record is stable (say a forced observation replaced the job's state).
    with pytest.raises(InvalidTransition, match="no 'start' job runs through state 'running'"):
        complete(Kind.COMPUTE, State.RUNNING, Action.START)
    # A transitional state of another action.
    with pytest.raises(InvalidTransition):
        complete(Kind.COMPUTE, State.STOPPING, Action.START)
    with pytest.raises(InvalidInput):
        complete(Kind.NETWORK, State.PAUSING, Action.PAUSE)


def test_fail_checks_the_previous_state() -> None:
    # stop is not allowed from paused, so no such job can be failing.
    with pytest.raises(InvalidTransition, match="from 'paused'"):
        fail(Kind.COMPUTE, State.STOPPING, Action.STOP, State.PAUSED)
    # start from paused resumes: it never runs through starting.
    with pytest.raises(InvalidTransition):
        fail(Kind.COMPUTE, State.STARTING, Action.START, State.PAUSED)
    with pytest.raises(InvalidInput):
        fail(Kind.VOLUME, State.RESIZING, Action.RESIZE, State.RUNNING)
    # The same transitional state goes back to wherever its job began.
    for previous in (State.RUNNING, State.PAUSED, State.SUSPENDED, State.ERROR):
        assert fail(Kind.COMPUTE, State.STOPPING, Action.FORCE_STOP, previous) == previous


def test_unknown_kind_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a resource kind"):
        machine(cast(Kind, "router"))


# ------------------------------------------------------------- observation


def test_observe_moves_between_any_stable_states() -> None:
    for kind in Kind:
        targets = set(EXPECTED[kind]) - {"deleted"}
        for current, observed in product(targets, targets):
            assert observe(kind, State(current), State(observed)) == observed


def test_observe_does_not_override_a_running_job_unless_forced() -> None:
    with pytest.raises(InvalidTransition, match="job running"):
        observe(Kind.COMPUTE, State.STARTING, State.RUNNING)
    assert observe(Kind.COMPUTE, State.STARTING, State.STOPPED, force=True) == "stopped"
    assert observe(Kind.VOLUME, State.CREATING, State.DEGRADED, force=True) == "degraded"


@pytest.mark.parametrize("kind", list(Kind))
def test_observe_does_not_override_creation_unless_forced(kind: Kind) -> None:
    first, after, _ = CREATION[kind]
    with pytest.raises(InvalidTransition, match="job running"):
        observe(kind, State(first), State(after))
    assert observe(kind, State(first), State(after), force=True) == after


def test_observe_never_leaves_or_reaches_deleted() -> None:
    with pytest.raises(InvalidTransition, match="deleted"):
        observe(Kind.IMAGE, State.DELETED, State.AVAILABLE, force=True)
    with pytest.raises(InvalidInput):
        observe(Kind.COMPUTE, State.RUNNING, State.DELETED)


@pytest.mark.parametrize("observed", [State.STARTING, State.AVAILABLE])
def test_observe_accepts_only_stable_states_of_the_kind(observed: State) -> None:
    with pytest.raises(InvalidInput):
        observe(Kind.COMPUTE, State.RUNNING, observed, force=True)


# ----------------------------------------------------------- table validation


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        cast(Any, MACHINES)[Kind.IMAGE] = MACHINES[Kind.VOLUME]
    with pytest.raises(TypeError):
        cast(Any, MACHINES[Kind.COMPUTE].transitions)[(State.PAUSED, Action.STOP)] = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cast(Any, MACHINES[Kind.COMPUTE]).initial = State.STOPPED


def test_the_engine_tables_are_consistent() -> None:
    validate_tables()


def _edit(kind: Kind, **changes: Any) -> dict[Kind, Machine]:
    return {**MACHINES, kind: dataclasses.replace(MACHINES[kind], **changes)}


def _rows(
    kind: Kind,
    add: Mapping[tuple[State, Action], Transition] | None = None,
    drop: tuple[tuple[State, Action], ...] = (),
) -> dict[tuple[State, Action], Transition]:
    rows = {k: v for k, v in MACHINES[kind].transitions.items() if k not in drop}
    return {**rows, **(add or {})}


C, V, N = Kind.COMPUTE, Kind.VOLUME, Kind.NETWORK
S = State
BROKEN: dict[str, tuple[Callable[[], dict[Kind, Machine]], str]] = {
    "missing kind": (
        lambda: {k: m for k, m in MACHINES.items() if k != Kind.IMAGE},
        "image: no lifecycle table",
    ),
    "misfiled kind": (
        lambda: {**MACHINES, Kind.IMAGE: MACHINES[V]},
        "image: the table filed here is for volume",
    ),
    "stable and transitional": (
        lambda: _edit(N, transitional=MACHINES[N].transitional | {S.RUNNING}),
        "'running' is declared both stable and transitional",
    ),
    "no error state": (
        lambda: _edit(N, stable=MACHINES[N].stable - {S.ERROR}),
        "'error' must be a stable state",
    ),
    "stable initial state": (
        lambda: _edit(N, initial=S.STOPPED),
        "initial state 'stopped' is not transitional",
    ),
    "half a creation table": (
        lambda: _edit(N, created={True: S.RUNNING}),
        "creation must say where both",
    ),
    "created into error": (
        lambda: _edit(N, created={True: S.RUNNING, False: S.ERROR}),
        "creation ends in 'error'",
    ),
    "observed-only error": (
        lambda: _edit(V, observed_only=frozenset({S.DEGRADED, S.ERROR})),
        "observed-only state 'error' must be stable",
    ),
    "action from a transitional state": (
        lambda: _edit(
            C, transitions=_rows(C, {(S.STARTING, Action.STOP): Transition(S.STOPPING, S.STOPPED)})
        ),
        "('starting', 'stop') starts from a state that is not stable",
    ),
    "action from deleted": (
        lambda: _edit(
            C, transitions=_rows(C, {(S.DELETED, Action.START): Transition(S.STARTING, S.RUNNING)})
        ),
        "('deleted', 'start') starts from the terminal state",
    ),
    "undeclared transitional state": (
        lambda: _edit(
            N, transitions=_rows(N, {(S.RUNNING, Action.PAUSE): Transition(S.PAUSING, S.RUNNING)})
        ),
        "leads to 'pausing', not a job's transitional state",
    ),
    "job through the creation state": (
        lambda: _edit(
            N, transitions=_rows(N, {(S.STOPPED, Action.START): Transition(S.CREATING, S.RUNNING)})
        ),
        "leads to 'creating'",
    ),
    "success into a transitional state": (
        lambda: _edit(
            N, transitions=_rows(N, {(S.STOPPED, Action.START): Transition(S.STARTING, S.STOPPING)})
        ),
        "succeeds into 'stopping', not a stable state",
    ),
    "stop into deleted": (
        lambda: _edit(
            N, transitions=_rows(N, {(S.RUNNING, Action.STOP): Transition(S.STOPPING, S.DELETED)})
        ),
        "('running', 'stop'): only delete may (and must) succeed into 'deleted'",
    ),
    "ambiguous success": (
        lambda: _edit(
            C, transitions=_rows(C, {(S.PAUSED, Action.CAPTURE): Transition(S.CAPTURING, S.PAUSED)})
        ),
        "'capture' through 'capturing' succeeds into both",
    ),
    "no delete": (
        lambda: _edit(V, transitions=_rows(V, drop=((S.OFFLINE, Action.DELETE),))),
        "volume: 'offline' does not allow delete",
    ),
    "unreachable transitional state": (
        lambda: _edit(C, transitional=MACHINES[C].transitional | {S.RESIZING}),
        "compute: transitional state 'resizing' is unreachable",
    ),
    "unreachable stable state": (
        lambda: _edit(
            N,
            stable=MACHINES[N].stable | {S.PAUSED},
            transitions=_rows(N, {(S.PAUSED, Action.DELETE): Transition(S.DELETING, S.DELETED)}),
        ),
        "network: stable state 'paused' is unreachable",
    ),
    "observed-only state reached by a job": (
        lambda: _edit(V, observed_only=frozenset({S.DEGRADED, S.OFFLINE})),
        "'offline' is declared observed-only but a job reaches it",
    ),
    "unused state": (
        lambda: _edit(
            V,
            stable=MACHINES[V].stable - {S.DEGRADED},
            observed_only=frozenset(),
            transitions=_rows(V, drop=((S.DEGRADED, Action.OFFLINE), (S.DEGRADED, Action.DELETE))),
        ),
        "state 'degraded' is used by no kind",
    ),
    "unused action": (
        lambda: _edit(
            V,
            transitional=MACHINES[V].transitional - {S.RESIZING},
            transitions=_rows(V, drop=((S.AVAILABLE, Action.RESIZE),)),
        ),
        "action 'resize' is used by no kind",
    ),
}


@pytest.mark.parametrize(("make", "problem"), list(BROKEN.values()), ids=list(BROKEN))
def test_validate_tables_rejects(make: Callable[[], dict[Kind, Machine]], problem: str) -> None:
    with pytest.raises(TableError) as caught:
        validate_tables(MappingProxyType(make()))
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert problem in str(caught.value)


# ------------------------------------------------------------- random job sequences


class LifecycleModel(RuleBasedStateMachine):
    """Random begin/complete/fail/observe sequences against one kind's lifecycle."""

    kind: Kind

    def __init__(self) -> None:
        super().__init__()
        self.state = initial(self.kind)
        self.creating = True
        self.job: tuple[Action, State] | None = None  # (action, state it began from)
        self.was_deleted = False

    @precondition(lambda self: self.creating)
    @rule(started=st.booleans())
    def creation_succeeds(self, started: bool) -> None:
        self.state = complete_creation(self.kind, self.state, started=started)
        self.creating = False

    @precondition(lambda self: self.creating)
    @rule()
    def creation_fails(self) -> None:
        self.state = fail_creation(self.kind, self.state)
        assert self.state == "error"
        self.creating = False

    @rule(action=st.sampled_from(Action))
    def start_job(self, action: Action) -> None:
        if is_stable(self.kind, self.state) and action in allowed_actions(self.kind, self.state):
            previous, self.state = self.state, begin(self.kind, self.state, action)
            self.job = (action, previous)
        else:
            with pytest.raises(InvalidTransition):
                begin(self.kind, self.state, action)

    @precondition(lambda self: self.job is not None)
    @rule()
    def job_succeeds(self) -> None:
        action, _ = cast(tuple[Action, State], self.job)
        self.state = complete(self.kind, self.state, action)
        self.job = None
        self.was_deleted = self.was_deleted or self.state == "deleted"

    @precondition(lambda self: self.job is not None)
    @rule()
    def job_fails(self) -> None:
        action, previous = cast(tuple[Action, State], self.job)
        self.state = fail(self.kind, self.state, action, previous)
        assert self.state in (previous, "error")
        self.job = None

    @precondition(lambda self: self.job is None and not self.creating)
    @rule(action=st.sampled_from(Action))
    def no_job_to_end(self, action: Action) -> None:
        with pytest.raises(InvalidTransition):
            complete(self.kind, self.state, action)
        with pytest.raises(InvalidTransition):
            fail(self.kind, self.state, action, self.state)

    @rule(observed=st.sampled_from(State), force=st.booleans())
    def reconcile(self, observed: State, force: bool) -> None:
        stable = set(EXPECTED[self.kind]) - {"deleted"}
        if observed not in stable:
            with pytest.raises(InvalidInput):
                observe(self.kind, self.state, observed, force=force)
        elif self.state == "deleted" or (not force and self.state in TRANSITIONAL[self.kind]):
            with pytest.raises(InvalidTransition):
                observe(self.kind, self.state, observed, force=force)
        else:
            self.state = observe(self.kind, self.state, observed, force=force)
            assert self.state == observed
            self.job, self.creating = None, False

    @invariant()
    def state_belongs_to_the_kind(self) -> None:
        assert self.state in states(self.kind)

    @invariant()
    def actions_only_when_stable_and_alive(self) -> None:
        allowed = allowed_actions(self.kind, self.state)
        if self.state == "deleted" or self.state in TRANSITIONAL[self.kind]:
            assert allowed == frozenset()
        else:
            assert allowed, f"{self.kind} stuck in {self.state}"

    @invariant()
    def transitional_exactly_while_a_job_runs(self) -> None:
        running = self.creating or self.job is not None
        assert is_stable(self.kind, self.state) is not running

    @invariant()
    def deleted_is_terminal(self) -> None:
        assert not self.was_deleted or self.state == "deleted"


def _model_test(kind: Kind) -> Any:
    name = f"{kind.name.title().replace('_', '')}Model"
    model = cast(type[LifecycleModel], type(name, (LifecycleModel,), {"kind": kind}))
    case = model.TestCase
    case.settings = settings(max_examples=25, stateful_step_count=30, deadline=None, database=None)
    return case


TestComputeLifecycle = _model_test(Kind.COMPUTE)
TestVolumeLifecycle = _model_test(Kind.VOLUME)
TestNetworkLifecycle = _model_test(Kind.NETWORK)
TestNetworkInterfaceLifecycle = _model_test(Kind.NETWORK_INTERFACE)
TestStorageAttachmentLifecycle = _model_test(Kind.STORAGE_ATTACHMENT)
TestImageLifecycle = _model_test(Kind.IMAGE)
