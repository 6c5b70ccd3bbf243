"""Notification thresholds: alert an operator when capacity crosses a share.

CloudStack raises an alert when a zone's, pod's or cluster's allocated or
used CPU, memory or storage passes ``*.capacity.notificationthreshold``
(shared/reference/engine.md §1.3, §5.4). Here a root administrator sets
such a share on any level of the capacity report (zone, pod, cluster, host,
storage pool), for one resource (CPU, memory, storage) and one measure
(allocated or used); the share is of the level's limit after
over-provisioning, the figure placement promises against.

:func:`watch_capacity` compares every threshold with the current report and
raises an alert (source ``capacity``) for each share above its threshold,
and clears the alerts whose share fell back to it or below, or whose
threshold or target is gone. It keeps no memory of its own: the alerts
(:mod:`engine.events.alerts`) are idempotent per key, so any number of
workers may run it, at any interval. Nothing here changes placement; the
cluster *disable* thresholds (:mod:`engine.allocation.policy`) do that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.allocation.models import (
    CapacityThreshold,
    ThresholdLevel,
    ThresholdMeasure,
    ThresholdResource,
)
from engine.allocation.report import Level, capacity_levels
from engine.errors import InvalidInput, NotFound
from engine.events.alerts import AlertSubject, active_alerts, clear_alert, raise_alert
from engine.inventory.models import Cluster, Host, Pod, StoragePool, Zone
from engine.scope import Scope

#: The alerts' source (a label of ``concord_alerts_active``).
SOURCE = "capacity"
#: The report's resource each threshold resource reads.
REPORT_RESOURCE = {
    ThresholdResource.CPU: "vcpus",
    ThresholdResource.MEMORY: "memory_mib",
    ThresholdResource.STORAGE: "storage_bytes",
}
#: The model of each level a threshold may name.
TARGETS: dict[
    ThresholdLevel, type[Zone] | type[Pod] | type[Cluster] | type[Host] | type[StoragePool]
] = {
    ThresholdLevel.ZONE: Zone,
    ThresholdLevel.POD: Pod,
    ThresholdLevel.CLUSTER: Cluster,
    ThresholdLevel.HOST: Host,
    ThresholdLevel.POOL: StoragePool,
}


#: Why a caller who is not a root administrator is refused.
_ROOT_ONLY = "notification thresholds are set by root administrators"


def alert_key(threshold: CapacityThreshold) -> str:
    """The alert a threshold raises: one per target, resource and measure."""
    return (
        f"{SOURCE}:{threshold.level.value}:{threshold.target_id}:"
        f"{threshold.resource.value}:{threshold.measure.value}"
    )


_E = TypeVar("_E", ThresholdLevel, ThresholdResource, ThresholdMeasure)


def _choice(kind: type[_E], value: str, field: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(
            f"{field} is one of: {allowed}", field=field, reason="unknown", value=str(value)
        ) from None


class ThresholdService:
    """Set, remove and list notification thresholds (root administrators only).

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def set(
        self,
        scope: Scope,
        level: ThresholdLevel | str,
        target_id: str,
        resource: ThresholdResource | str,
        measure: ThresholdMeasure | str,
        share: float,
    ) -> CapacityThreshold:
        """Alert when ``measure`` of ``resource`` on the target passes ``share`` of its limit.

        Setting it again replaces the share.

        :raises PermissionDenied: the caller is not a root administrator.
        :raises InvalidInput: an unknown level, resource or measure, or a share
            outside (0, 1].
        :raises NotFound: no such target.
        """
        scope.require_root_admin(_ROOT_ONLY)
        level = _choice(ThresholdLevel, level, "level")
        resource = _choice(ThresholdResource, resource, "resource")
        measure = _choice(ThresholdMeasure, measure, "measure")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise InvalidInput("a threshold is a share above 0 and at most 1", field="share")
        if self.session.get(TARGETS[level], target_id) is None:
            raise NotFound(f"no {level.value} {target_id!r}", subject=level.value, id=target_id)
        threshold = self._find(level, target_id, resource, measure)
        if threshold is None:
            threshold = CapacityThreshold(
                level=level, target_id=target_id, resource=resource, measure=measure
            )
            self.session.add(threshold)
        threshold.share = float(share)
        self.session.flush()
        return threshold

    def remove(
        self,
        scope: Scope,
        level: ThresholdLevel | str,
        target_id: str,
        resource: ThresholdResource | str,
        measure: ThresholdMeasure | str,
    ) -> None:
        """Remove a threshold; its alert, if active, clears at the next watch.

        :raises NotFound: there is no such threshold.
        """
        scope.require_root_admin(_ROOT_ONLY)
        found = self._find(
            _choice(ThresholdLevel, level, "level"),
            target_id,
            _choice(ThresholdResource, resource, "resource"),
            _choice(ThresholdMeasure, measure, "measure"),
        )
        if found is None:
            raise NotFound("no such notification threshold", subject="threshold")
        self.session.delete(found)
        self.session.flush()

    def list(self, scope: Scope) -> list[CapacityThreshold]:
        """Every threshold, by level, target, resource and measure."""
        scope.require_root_admin(_ROOT_ONLY)
        return _thresholds(self.session)

    def _find(
        self,
        level: ThresholdLevel,
        target_id: str,
        resource: ThresholdResource,
        measure: ThresholdMeasure,
    ) -> CapacityThreshold | None:
        return self.session.scalars(
            sa.select(CapacityThreshold).where(
                CapacityThreshold.level == level,
                CapacityThreshold.target_id == target_id,
                CapacityThreshold.resource == resource,
                CapacityThreshold.measure == measure,
            )
        ).first()


def _thresholds(session: Session) -> list[CapacityThreshold]:
    return list(
        session.scalars(
            sa.select(CapacityThreshold).order_by(
                CapacityThreshold.level,
                CapacityThreshold.target_id,
                CapacityThreshold.resource,
                CapacityThreshold.measure,
            )
        )
    )


@dataclass(frozen=True)
class Crossing:
    """A threshold and where its share stands now.

    :param share: the measured share of the limit (``None``: the target has
        no such capacity, or is gone).
    """

    threshold: CapacityThreshold
    path: str
    share: float | None

    @property
    def over(self) -> bool:
        """Whether the share is above the threshold (what raises the alert)."""
        return self.share is not None and self.share > self.threshold.share

    def message(self) -> str:
        """The alert's words, for an operator."""
        t = self.threshold
        return (
            f"{t.measure.value} {t.resource.value} of {t.level.value} {self.path} is at "
            f"{self.share or 0:.0%} of its limit, above its notification threshold ({t.share:.0%})"
        )


def measure(session: Session, running: Mapping[str, tuple[int, int]]) -> list[Crossing]:
    """Every threshold with its current share, from one capacity report.

    :param running: vCPUs and MiB of the running guests per host, as for
        :func:`engine.allocation.report.capacity_report`.
    """
    thresholds = _thresholds(session)
    if not thresholds:  # the common case: no report at all
        return []
    levels: dict[tuple[str, str], Level] = {
        (item.level, item.id): item for item in capacity_levels(session, running)
    }
    crossings = []
    for threshold in thresholds:
        item = levels.get((threshold.level.value, threshold.target_id))
        share = None
        if item is not None:
            figures = item.figures[REPORT_RESOURCE[threshold.resource]]
            if figures["limit"] > 0:
                share = figures[threshold.measure.value] / figures["limit"]
        path = item.path if item is not None else threshold.target_id
        crossings.append(Crossing(threshold, path, share))
    return crossings


@dataclass(frozen=True)
class WatchResult:
    """What one watch did: alerts newly raised, cleared, and active after it."""

    raised: list[str]
    cleared: list[str]
    active: list[str]


def watch_capacity(session: Session, running: Mapping[str, tuple[int, int]]) -> WatchResult:
    """Raise an alert per threshold crossed, clear the others, in the caller's transaction.

    An alert of source ``capacity`` whose threshold no longer exists, or
    whose target is gone, clears too: nothing watches it any more.
    """
    over: dict[str, Crossing] = {}
    for crossing in measure(session, running):
        if crossing.over:
            over[alert_key(crossing.threshold)] = crossing
    raised = []
    for key, crossing in over.items():
        subject = AlertSubject(crossing.threshold.level.value, crossing.threshold.target_id)
        if raise_alert(
            session, key=key, source=SOURCE, subject=subject, message=crossing.message()
        ):
            raised.append(key)
    cleared = []
    for alert in active_alerts(session, source=SOURCE):
        if alert.key not in over and clear_alert(
            session, key=alert.key, message="back at or below its notification threshold"
        ):
            cleared.append(alert.key)
    return WatchResult(raised=raised, cleared=cleared, active=sorted(over))


__all__ = [
    "REPORT_RESOURCE",
    "SOURCE",
    "TARGETS",
    "Crossing",
    "ThresholdService",
    "WatchResult",
    "alert_key",
    "measure",
    "watch_capacity",
]
