"""The HA flag of offerings and guests, and a guest's HA priority.

A guest is *HA-enabled* when its host's failure should restart it on another
host (:mod:`engine.ha.recovery`); any other guest of a failed host becomes
``error``. The flag lives on both rows:

* :attr:`ComputeOffering.ha_enabled` is the default for guests created
  from the offering;
* :attr:`Compute.ha_enabled` is the guest's own: copied from its offering
  when it is created, unless the creation says otherwise
  (:meth:`ComputeService.create`'s ``ha_enabled``), and changed afterwards
  only by :func:`set_compute_ha`. Changing an offering's flag later does not
  change the guests already created from it (as a size change does not).

:attr:`Compute.ha_priority` orders the guests restarted after one host
failure: higher first, then the oldest first.

The renderings (the OCCI mixin, the CIMI extension attribute, templates)
call these two functions and nothing else.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.catalog.models import ComputeOffering
from engine.catalog.service import CatalogService
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.compute.state import emit_compute
from engine.errors import InvalidInput
from engine.scope import Scope

#: The range of :attr:`Compute.ha_priority`.
PRIORITY_RANGE = (-1000, 1000)


def set_compute_ha(
    session: Session,
    scope: Scope,
    compute_id: str,
    *,
    enabled: bool | None = None,
    priority: int | None = None,
) -> Compute:
    """Turn a guest's HA on or off and/or set its HA priority, in the caller's transaction.

    Whoever may act on the compute may change them (its owner and the
    administrators above it). The change applies to the next host failure;
    records a ``compute.updated`` event naming the changed fields.

    :param enabled: the new flag; ``None`` leaves it.
    :param priority: the new priority (-1000 to 1000, higher restarted first);
        ``None`` leaves it.
    :raises InvalidInput: ``enabled`` is not a boolean, or ``priority`` not an
        integer in range.
    :raises NotFound: no such compute visible to ``scope``.
    """
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidInput("the HA flag is a boolean")
    if priority is not None and (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]
    ):
        raise InvalidInput(
            f"the HA priority is an integer from {PRIORITY_RANGE[0]} to {PRIORITY_RANGE[1]}",
            field="ha_priority",
            reason="range",
            minimum=PRIORITY_RANGE[0],
            maximum=PRIORITY_RANGE[1],
        )
    compute = ComputeService(session).get(scope, compute_id)
    changed = []
    if enabled is not None and compute.ha_enabled != enabled:
        compute.ha_enabled = enabled
        changed.append("ha_enabled")
    if priority is not None and compute.ha_priority != priority:
        compute.ha_priority = priority
        changed.append("ha_priority")
    if changed:
        session.flush()
        emit_compute(
            session,
            compute,
            "compute.updated",
            previous_state=compute.state,
            scope=scope,
            changed=changed,
        )
    return compute


def set_offering_ha(
    session: Session, scope: Scope, offering_id: str, enabled: bool
) -> ComputeOffering:
    """Make guests created from now on from an offering HA-enabled, or not.

    :raises InvalidInput: ``enabled`` is not a boolean.
    :raises NotFound: no such offering visible to ``scope``.
    :raises PermissionDenied: the caller sees the offering but may not manage it.
    """
    if not isinstance(enabled, bool):
        raise InvalidInput("the HA flag is a boolean")
    catalog = CatalogService(session)
    # update_entry with no change checks visibility and the right to manage.
    offering = catalog.update_entry(scope, ComputeOffering, offering_id)
    offering.ha_enabled = enabled
    session.flush()
    return offering


__all__ = ["PRIORITY_RANGE", "set_compute_ha", "set_offering_ha"]
