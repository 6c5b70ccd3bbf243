"""A failed host coming back: refuse it while HA works on it, then clear its stale guests.

A host HA declared down stays ``down`` until an operator brings it back
(``concord host enable HOST``), and the CLI asks :func:`prepare_return`
first, while the host is still out of placement:

* while the host has an open HA item (being fenced, waiting for an operator,
  held by the storm guard, its guests being restarted) it is refused with a
  :class:`~engine.errors.Conflict` that says what to do; bringing it back
  then could let its old guests and their restarted copies run together;
* the definitions its guests left on it are removed when they are *stale*:
  the guest is shut off there and its compute is placed on another host (HA
  restarted it there) or on none (a stopped HA guest HA released). The
  database is the source of truth for a guest's definition, and the next
  start defines it again from there, so nothing is lost. A guest that runs
  (or is paused, or suspended with its memory saved) on the returning host
  is never touched, nor one whose compute is placed on it (the live copy),
  nor one a job works on; nor are guests of computes the database no longer
  knows (reconciliation reports those, for an operator to decide).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.compute.models import Compute
from engine.drivers.base import HypervisorDriver
from engine.drivers.specs import PowerState
from engine.errors import Conflict
from engine.events.service import DomainEvent, emit
from engine.ha import queue
from engine.ha.models import HaItem
from engine.inventory.models import Host
from engine.jobs.service import targets_with_pending_jobs
from engine.lifecycle import State
from engine.scope import Owner

_SYSTEM = Owner(None, None, None)


@dataclass
class Return:
    """What :func:`prepare_return` did on a returning host."""

    #: Guest ids whose stale definitions were removed.
    removed: list[str] = field(default_factory=list)
    #: Guest ids of other hosts' computes left on it, with why.
    left: list[tuple[str, str]] = field(default_factory=list)


def open_item(session: Session, host_id: str) -> HaItem | None:
    """The host's open HA item, if any."""
    return session.scalar(sa.select(HaItem).where(HaItem.active_key == queue.host_key(host_id)))


def check_no_open_item(session: Session, host: Host) -> None:
    """Refuse to bring back a host HA is working on.

    :raises Conflict: the host has an open HA item.
    """
    item = open_item(session, host.id)
    if item is None:
        return
    raise Conflict(
        f"host {host.name} is being handled by HA (its item is {item.step.value}): wait until "
        "its recovery is done ('concord ha status'), or, if it waits for an operator, make "
        f"sure it is off and run 'concord host fence {host.name} --confirm' first",
        subject="host",
        name=host.name,
        reason="state",
    )


def prepare_return(session: Session, driver: HypervisorDriver, host: Host) -> Return:
    """Check a host may come back and remove the stale definitions of guests HA moved off it.

    In the caller's transaction, before the host is placeable again.

    :raises Conflict: the host has an open HA item.
    :raises DriverUnavailable: the host does not answer.
    """
    check_no_open_item(session, host)
    found = driver.list_guests()
    result = Return()
    if not found:
        return result
    computes = session.scalars(
        sa.select(Compute).where(
            Compute.guest_id.in_(list(found)), Compute.state != State.DELETED.value
        )
    ).all()
    busy = targets_with_pending_jobs(session, [c.id for c in computes])
    for compute in computes:
        power = found[compute.guest_id]
        if compute.host_id == host.id:
            continue  # its live copy
        if compute.id in busy:
            result.left.append((compute.guest_id, "a job is working on its compute"))
        elif power is not PowerState.SHUTOFF:
            result.left.append(
                (compute.guest_id, f"it is {power.value} here, while its compute is elsewhere")
            )
        else:
            driver.destroy_guest(compute.guest_id)
            result.removed.append(compute.guest_id)
            emit(
                session,
                DomainEvent(
                    "host.stale_guest_removed",
                    "host",
                    host.id,
                    _SYSTEM,
                    {"guest_id": compute.guest_id, "compute_id": compute.id},
                ),
            )
    return result


__all__ = ["Return", "check_no_open_item", "open_item", "prepare_return"]
