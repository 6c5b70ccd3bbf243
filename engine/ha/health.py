"""The host health state machine: up -> suspect -> down, or back to up.

A pure function of what the monitor observed (:func:`step`), so that it can be
tested exhaustively (a Hypothesis state machine does) and persisted as three
values (:class:`HealthRecord`). The rules, with the operator's thresholds of
:class:`HealthPolicy`:

========  ==========================================  ========
from      observation                                 to
========  ==========================================  ========
any       the heartbeat answered                      up
up        silent for less than ``suspect_after``      up
up        silent for ``suspect_after`` or more        suspect
suspect   silent for less than ``down_after``         suspect
suspect   silent for ``down_after``; second check     suspect
          not run yet, or it answered
suspect   silent for ``down_after``; second check     down
          failed too
down      anything                                    down
========  ==========================================  ========

"Silent" is the time since the last answer *of either check*: a host that
answers the second check but not the heartbeat (its management connection is
stuck, the host is not) is alive, so that answer restarts the clock. A single
slow answer therefore never declares a host down: it takes ``down_after``
seconds without any answer on the heartbeat *and* a failed independent check
at the end of them (CloudStack's activity check, Masakari's second monitor;
reference/engine.md §1.4, §5.1).

``down`` is final for the monitor: the host is then fenced and its guests
recovered (:mod:`engine.ha.recovery`); it is an operator who brings it back
(``concord host enable``), never an answer, because a host that was declared
down may already be being fenced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from engine.ha.models import HaHealth


@dataclass(frozen=True)
class HealthPolicy:
    """The operator's thresholds, in seconds (settings ``ha_suspect_after`` and ``ha_down_after``).

    :raises ValueError: a threshold is not positive, or ``down_after`` is
        shorter than ``suspect_after``.
    """

    suspect_after: float
    down_after: float

    def __post_init__(self) -> None:
        if not 0 < self.suspect_after <= self.down_after:
            raise ValueError("suspect_after: must be more than 0 and at most down_after")


@dataclass(frozen=True)
class Observation:
    """One look at a host.

    :param at: when it was made.
    :param answered: the heartbeat (the pooled connection: keepalive plus an
        active call) answered in time.
    :param witness: the independent second check's answer: True (answered),
        False (failed), None (not run).
    """

    at: dt.datetime
    answered: bool
    witness: bool | None = None


@dataclass(frozen=True)
class HealthRecord:
    """What is persisted of a host's health."""

    state: HaHealth
    last_ok: dt.datetime
    since: dt.datetime


def step(record: HealthRecord, seen: Observation, policy: HealthPolicy) -> HealthRecord:
    """The record after ``seen`` (see the module's table)."""
    if record.state is HaHealth.DOWN:
        return record
    alive = seen.answered or seen.witness is True
    last_ok = max(record.last_ok, seen.at) if alive else record.last_ok
    if seen.answered:
        new = HaHealth.UP
    else:
        silence = (seen.at - last_ok).total_seconds()
        if silence < policy.suspect_after:
            new = record.state
        elif silence < policy.down_after or seen.witness is not False:
            new = HaHealth.SUSPECT
        else:
            new = HaHealth.DOWN
    since = record.since if new is record.state else seen.at
    return replace(record, state=new, last_ok=last_ok, since=since)


def needs_witness(record: HealthRecord, at: dt.datetime, policy: HealthPolicy) -> bool:
    """Whether a failed heartbeat at ``at`` calls for the second check.

    It does once the host has been silent for ``down_after``.
    """
    return (
        record.state is not HaHealth.DOWN
        and (at - record.last_ok).total_seconds() >= policy.down_after
    )


__all__ = ["HealthPolicy", "HealthRecord", "Observation", "needs_witness", "step"]
