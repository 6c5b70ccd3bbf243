"""The host health machine (engine.ha.health), driven by Hypothesis.

A rule-based state machine feeds random sequences of heartbeats, silences and
second-check answers at random intervals, and keeps its own simple model of
what must hold: a host is down only after ``down_after`` seconds without any
answer *and* a failed second check at that moment; any answer before that
brings it back up (or keeps it suspect when only the second check answered);
down is final.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.ha.health import HealthPolicy, HealthRecord, Observation, needs_witness, step
from engine.ha.models import HaHealth

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class HostHealthMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.policy = HealthPolicy(suspect_after=3.0, down_after=6.0)
        self.now = T0
        self.record = HealthRecord(HaHealth.UP, T0, T0)
        self.last_answer = T0  # the model: the last answer of either check
        self.down_at: dt.datetime | None = None

    def _observe(self, answered: bool, witness: bool | None) -> None:
        before = self.record
        self.record = step(self.record, Observation(self.now, answered, witness), self.policy)
        if before.state is HaHealth.DOWN:
            assert self.record == before, "down is final"
            return
        if answered or witness:
            self.last_answer = self.now
        silence = (self.now - self.last_answer).total_seconds()
        if answered:
            assert self.record.state is HaHealth.UP
        elif self.record.state is HaHealth.DOWN:
            # Only a failed second check after down_after of silence declares it.
            assert witness is False
            assert silence >= self.policy.down_after
            self.down_at = self.now
        elif silence >= self.policy.down_after and witness is False:
            pytest.fail("silent past down_after with a failed second check, yet not down")
        elif silence >= self.policy.suspect_after:
            assert self.record.state is HaHealth.SUSPECT
        else:
            assert self.record.state is before.state
        assert self.record.last_ok == self.last_answer
        if self.record.state is not before.state:
            assert self.record.since == self.now

    @rule(seconds=st.floats(min_value=0.0, max_value=4.0))
    def time_passes(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    @rule()
    def heartbeat_answers(self) -> None:
        self._observe(True, None)

    @rule()
    def heartbeat_silent(self) -> None:
        self._observe(False, None)

    @rule(answers=st.booleans())
    def silent_then_second_check(self, answers: bool) -> None:
        self._observe(False, answers)

    @precondition(lambda self: self.record.state is not HaHealth.DOWN)
    @rule()
    def witness_is_asked_only_after_down_after(self) -> None:
        silence = (self.now - self.record.last_ok).total_seconds()
        assert needs_witness(self.record, self.now, self.policy) == (
            silence >= self.policy.down_after
        )

    @invariant()
    def down_only_after_down_after(self) -> None:
        if self.record.state is HaHealth.DOWN:
            assert self.down_at is not None
            assert (self.down_at - self.record.last_ok).total_seconds() >= self.policy.down_after


TestHostHealthMachine = HostHealthMachine.TestCase
TestHostHealthMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


@given(st.lists(st.floats(min_value=0.01, max_value=2.9), min_size=1, max_size=50))
def test_silences_shorter_than_suspect_after_between_answers_never_leave_up(
    gaps: list[float],
) -> None:
    """A host that answers at least every suspect_after seconds is always up, however slow."""
    policy = HealthPolicy(3.0, 6.0)
    record, now = HealthRecord(HaHealth.UP, T0, T0), T0
    for gap in gaps:
        now += dt.timedelta(seconds=gap)
        record = step(record, Observation(now, False, False), policy)
        assert record.state is HaHealth.UP
        record = step(record, Observation(now, True), policy)
    assert record.state is HaHealth.UP


def test_a_policy_refuses_down_before_suspect() -> None:
    with pytest.raises(ValueError, match="suspect_after"):
        HealthPolicy(suspect_after=5.0, down_after=2.0)
    with pytest.raises(ValueError, match="suspect_after"):
        HealthPolicy(suspect_after=0.0, down_after=2.0)
