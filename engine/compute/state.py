"""A compute's recorded state: conditional transitions, quota amounts and events.

Shared by :mod:`engine.compute.service` (requests), :mod:`engine.compute.handlers`
(jobs) and :mod:`engine.compute.reconcile` (observation), so that the three
record changes the same way:

* :func:`change_state` is a conditional ``UPDATE ... WHERE state = expected``:
  if two requests race on one compute, the second finds the state moved and
  gets a :class:`~engine.errors.Conflict`, on SQLite and MariaDB alike, so a
  compute never has two jobs in flight and reconciliation never overwrites
  a state a job just set;
* every ``compute.*`` event carries :func:`compute_facts` (owner, zone, host,
  offering, image, size, ``state``) plus ``previous_state``, so that usage
  and HA can follow a guest from its events alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.compute.models import Compute
from engine.errors import Conflict
from engine.events.models import Event
from engine.events.service import DomainEvent, emit
from engine.lifecycle import Action, Kind, State
from engine.scope import Owner, Scope
from engine.tenancy.models import ResourceType

#: The actions :meth:`ComputeService.perform` turns into jobs (delete has its own method).
JOB_ACTIONS = frozenset(
    {
        Action.START,
        Action.STOP,
        Action.FORCE_STOP,
        Action.RESTART,
        Action.PAUSE,
        Action.RESUME,
        Action.SUSPEND,
        Action.CAPTURE,
    }
)


def job_action(action: Action) -> str:
    """The job (and handler) name of a compute action: ``compute.<action>``."""
    return f"compute.{action.value}"


def quota_amounts(compute: Compute) -> dict[ResourceType, int]:
    """What a compute counts against its owner's limits."""
    return {
        ResourceType.INSTANCES: 1,
        ResourceType.CPU: compute.vcpus,
        ResourceType.MEMORY: compute.memory_mib,
    }


def compute_facts(compute: Compute) -> dict[str, Any]:
    """The facts every ``compute.*`` event carries (usage and HA read these)."""
    return {
        "name": compute.name,
        "account_id": compute.account_id,
        "project_id": compute.project_id,
        "domain_id": compute.domain_id,
        "zone_id": compute.zone_id,
        "host_id": compute.host_id,
        "offering_id": compute.offering_id,
        "image_id": compute.image_id,
        "vcpus": compute.vcpus,
        "memory_mib": compute.memory_mib,
        "ha_enabled": compute.ha_enabled,
        "state": compute.state,
    }


def emit_compute(
    session: Session,
    compute: Compute,
    event_type: str,
    *,
    previous_state: str | None,
    scope: Scope | None = None,
    job_id: str | None = None,
    **extra: Any,
) -> Event:
    """Record a ``compute.*`` event with the compute's facts, in the caller's transaction."""
    payload = {**compute_facts(compute), "previous_state": previous_state, **extra}
    return emit(
        session,
        DomainEvent(event_type, Kind.COMPUTE.value, compute.id, Owner.of(compute), payload),
        scope,
        job_id,
    )


def change_state(
    session: Session,
    compute: Compute,
    expected: State,
    new: State,
    *,
    message: str | None = None,
    unchanged_since: dt.datetime | None = None,
    **values: Any,
) -> None:
    """Move ``compute`` from ``expected`` to ``new`` (and set ``values``) atomically.

    A conditional ``UPDATE ... WHERE state = expected``: the only way two
    concurrent requests cannot both act on one state.

    :param message: the new ``state_message`` (cleared by default).
    :param unchanged_since: also require ``updated`` to be this value, for
        callers that read the row earlier and must not act on it if anything
        happened since, even a round trip back to ``expected`` (reconciliation).
    :raises Conflict: the compute is no longer in ``expected`` (or was changed).
    """
    conditions = [Compute.id == compute.id, Compute.state == expected.value]
    if unchanged_since is not None:
        conditions.append(Compute.updated == unchanged_since)
    result = session.execute(
        sa.update(Compute)
        .where(*conditions)
        .values(state=new.value, state_message=message, **values)
        .execution_options(synchronize_session="fetch")
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise Conflict(
            "the compute changed state meanwhile; read it again and retry",
            expected=expected.value,
            subject=Kind.COMPUTE.value,
            reason="changed",
        )


def running_sizes_by_host(session: Session) -> dict[str, tuple[int, int]]:
    """The vCPUs and MiB of the running guests on each host, by host id (capacity ``used``)."""
    rows = session.execute(
        sa.select(Compute.host_id, sa.func.sum(Compute.vcpus), sa.func.sum(Compute.memory_mib))
        .where(Compute.state == State.RUNNING.value, Compute.host_id.is_not(None))
        .group_by(Compute.host_id)
    )
    return {
        host_id: (int(vcpus or 0), int(memory or 0))
        for host_id, vcpus, memory in rows
        if host_id is not None
    }


__all__ = [
    "JOB_ACTIONS",
    "change_state",
    "compute_facts",
    "emit_compute",
    "job_action",
    "quota_amounts",
    "running_sizes_by_host",
]
