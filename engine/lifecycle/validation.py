"""Consistency checks on the lifecycle tables, run once at import.

A table mistake (a state nobody can reach, a resource that can never be
deleted, a job whose outcome is ambiguous) would otherwise surface as a
resource stuck in production. :func:`validate_tables` turns each such mistake
into a :class:`TableError` before the engine serves a single request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .tables import MACHINES, Machine
from .vocabulary import Action, Kind, State


class TableError(ValueError):
    """A lifecycle table contradicts itself; a programming error, not a client's.

    :param problems: one sentence per inconsistency found.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("inconsistent lifecycle tables: " + "; ".join(problems))
        self.problems = problems


def validate_tables(machines: Mapping[Kind, Machine] = MACHINES) -> None:
    """Check every lifecycle table; raise :class:`TableError` listing all problems.

    The rules:

    * every kind has exactly one machine, filed under its own kind;
    * stable and transitional states are disjoint; ``ERROR`` and ``DELETED``
      are stable states of every kind;
    * actions start only from stable states other than ``DELETED``, lead to a
      declared transitional state other than the creation state, and succeed
      into a declared stable state; only ``delete`` succeeds into ``DELETED``;
    * a ``(transitional state, action)`` pair has one success state, since
      :func:`engine.lifecycle.complete` is not told the previous state;
    * every stable state other than ``DELETED`` allows ``delete``;
    * no dangling states: every transitional state is the initial state or
      some action's; every stable state is reached by creation, by some
      action's success, by failure (``ERROR``) or is declared observed-only,
      and an observed-only state is reached in no other way;
    * every :class:`State` and every :class:`Action` is used by some kind.

    :param machines: the tables to check; the engine's own by default.
    :raises TableError: if any rule is broken.
    """
    problems = [p for kind in Kind for p in _check_kind(machines, kind)]
    used_states = {s for m in machines.values() for s in m.states}
    used_actions = {a for m in machines.values() for a in m.actions}
    problems += [f"state '{s}' is used by no kind" for s in State if s not in used_states]
    problems += [f"action '{a}' is used by no kind" for a in Action if a not in used_actions]
    if problems:
        raise TableError(problems)


def _check_kind(machines: Mapping[Kind, Machine], kind: Kind) -> Iterator[str]:
    machine = machines.get(kind)
    if machine is None:
        yield f"{kind}: no lifecycle table"
        return
    if machine.kind != kind:
        yield f"{kind}: the table filed here is for {machine.kind}"
    yield from _check_declarations(machine)
    yield from _check_transitions(machine)
    yield from _check_reachability(machine)


def _check_declarations(m: Machine) -> Iterator[str]:
    for state in sorted(m.stable & m.transitional):
        yield f"{m.kind}: '{state}' is declared both stable and transitional"
    for state in (State.ERROR, State.DELETED):
        if state not in m.stable:
            yield f"{m.kind}: '{state}' must be a stable state"
    if m.initial not in m.transitional:
        yield f"{m.kind}: initial state '{m.initial}' is not transitional"
    if set(m.created) != {False, True}:
        yield f"{m.kind}: creation must say where both started and stopped resources go"
    for state in m.created.values():
        if state not in m.stable or state in (State.ERROR, State.DELETED):
            yield f"{m.kind}: creation ends in '{state}', not an in-service stable state"
    misdeclared = (m.observed_only - m.stable) | (m.observed_only & {State.ERROR, State.DELETED})
    for state in sorted(misdeclared):
        yield f"{m.kind}: observed-only state '{state}' must be stable, not ERROR/DELETED"


def _check_transitions(m: Machine) -> Iterator[str]:
    outcome: dict[tuple[State, Action], State] = {}
    for (state, action), t in sorted(m.transitions.items()):
        row = f"{m.kind}: ('{state}', '{action}')"
        if state not in m.stable:
            yield f"{row} starts from a state that is not stable"
        if state == State.DELETED:
            yield f"{row} starts from the terminal state"
        if t.transitional not in m.transitional or t.transitional == m.initial:
            yield f"{row} leads to '{t.transitional}', not a job's transitional state"
        if t.success not in m.stable:
            yield f"{row} succeeds into '{t.success}', not a stable state"
        if (t.success == State.DELETED) != (action == Action.DELETE):
            yield f"{row}: only delete may (and must) succeed into '{State.DELETED}'"
        known = outcome.setdefault((t.transitional, action), t.success)
        if known != t.success:
            yield (
                f"{m.kind}: '{action}' through '{t.transitional}' succeeds into both "
                f"'{known}' and '{t.success}'"
            )
    for state in sorted(m.stable - {State.DELETED}):
        if (state, Action.DELETE) not in m.transitions:
            yield f"{m.kind}: '{state}' does not allow delete"


def _check_reachability(m: Machine) -> Iterator[str]:
    by_jobs = {t.transitional for t in m.transitions.values()}
    for state in sorted(m.transitional - by_jobs - {m.initial}):
        yield f"{m.kind}: transitional state '{state}' is unreachable"
    by_outcomes = set(m.created.values()) | {t.success for t in m.transitions.values()}
    by_outcomes.add(State.ERROR)
    for state in sorted(m.stable - by_outcomes - m.observed_only):
        yield f"{m.kind}: stable state '{state}' is unreachable"
    for state in sorted(m.observed_only & by_outcomes):
        yield f"{m.kind}: '{state}' is declared observed-only but a job reaches it"


__all__ = ["TableError", "validate_tables"]
