"""What every compute job handler shares: loading its compute, its host, its failure path.

See :mod:`engine.compute.handlers` for how handlers run and why they are
idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine import lifecycle
from engine.allocation.service import AllocationService
from engine.compute._guest import SpecFactory, guest_spec
from engine.compute.models import Compute
from engine.compute.state import (
    change_state,
    emit_compute,
    job_action,
    quota_amounts,
)
from engine.db import utcnow
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import PowerState
from engine.errors import Conflict, EngineError, NotFound
from engine.inventory.models import Host
from engine.jobs.worker import JobContext
from engine.lifecycle import Action, Kind, State
from engine.scope import Owner
from engine.tenancy.quotas import QuotaService

log = logging.getLogger("engine.compute.handlers")

#: Longest state_message the column holds.
MESSAGE_LENGTH = 1024
#: Step = what a power action does on the hypervisor, given the job's parameters.
Step = Callable[[HypervisorDriver, str, SpecFactory, Mapping[str, Any]], None]


def load_compute(ctx: JobContext) -> Compute:
    """The job's compute, freshly read.

    :raises NotFound: it no longer exists.
    """
    compute = ctx.session.get(Compute, ctx.job.target_id, populate_existing=True)
    if compute is None:
        raise NotFound("the job's compute no longer exists", subject=Kind.COMPUTE.value)
    return compute


def placed_host(session: Session, compute: Compute) -> Host:
    """The host the compute is placed on.

    :raises Conflict: it is placed nowhere.
    """
    host = session.get(Host, compute.host_id) if compute.host_id else None
    if host is None:
        raise Conflict(
            "the compute is not placed on any host", subject=Kind.COMPUTE.value, reason="not_placed"
        )
    return host


def spec_factory(session: Session, compute: Compute, driver: HypervisorDriver) -> SpecFactory:
    """A function building the guest's definition when (and only if) a step needs it."""
    # Built lazily: most power moves never need the definition.
    return lambda: guest_spec(session, compute, driver)[0]


def power_values(power: PowerState) -> dict[str, Any]:
    """The columns recording a power state just read from the host."""
    return {"power_state": power.value, "power_state_seen": utcnow()}


def release_resources(session: Session, compute: Compute) -> dict[str, Any]:
    """Give back a compute's host capacity and quota, once; return the column values to set.

    ``host_id`` and ``quota_held`` say whether they are still held, so a
    compute whose failed creation already released them releases nothing
    when it is deleted.
    """
    # Quota counters before capacity rows, as when charging (engine.tenancy.quotas).
    if compute.quota_held:
        QuotaService(session).release(Owner.of(compute), quota_amounts(compute))
    if compute.host_id is not None:
        AllocationService(session).release_host(compute.host_id, compute.vcpus, compute.memory_mib)
    return {"host_id": None, "quota_held": False}


class ComputeHandler:
    """What every compute handler shares: its action and the generic failure path.

    :param verb: the lifecycle action the job carries out.
    """

    def __init__(self, verb: Action) -> None:
        self.verb = verb
        self.action = job_action(verb)

    def run(self, ctx: JobContext) -> dict[str, Any] | None:
        """Carry the job out (see the subclasses)."""
        raise NotImplementedError

    def failed(self, ctx: JobContext, message: str) -> None:
        """Leave the compute where the lifecycle puts a failed job, with ``message``."""
        compute = ctx.session.get(Compute, ctx.job.target_id, populate_existing=True)
        if compute is None:
            return
        message = message[:MESSAGE_LENGTH]
        current = State(compute.state)
        try:
            previous = State(ctx.job.parameters["previous"])
            new = lifecycle.fail(Kind.COMPUTE, current, self.verb, previous)
        except (EngineError, KeyError, ValueError):
            # The record moved on (reconciliation forced a state after a
            # crash): keep that state, only tell the owner what happened.
            log.warning("job %s failed on compute %s in state %s", ctx.job.id, compute.id, current)
            compute.state_message = message
            ctx.session.flush()
            return
        change_state(ctx.session, compute, current, new, message=message)
        emit_compute(
            ctx.session,
            compute,
            f"compute.{self.verb.value}.failed",
            previous_state=current.value,
            job_id=ctx.job.id,
            message=message,
        )


__all__ = [
    "MESSAGE_LENGTH",
    "ComputeHandler",
    "Step",
    "load_compute",
    "placed_host",
    "power_values",
    "release_resources",
    "spec_factory",
]
