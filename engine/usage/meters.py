"""Usage as meters: one per resource, usage type and offering, with its records as samples.

The renderings expose usage through their standards' monitoring models
(CIMI Meter and Sample, DSP0263 5.17.3; Concord's OCCI usage kind): a meter
is what one resource used of one usage type (and offering) over every
aggregated period, and its samples are the per-period records. A meter's id
names its resource, type and offering (``<resource id>.<type>[.<offering>]``),
so it is stable and needs no table of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.scope import Scope
from engine.usage.models import UsageRecord
from engine.usage.reports import UsageReports
from engine.usage.types import TYPES, UsageType, amount


@dataclass(frozen=True)
class Meter:
    """What one resource used of one usage type and offering, over every aggregated period."""

    resource_type: str
    resource_id: str
    resource_name: str
    usage_type: str
    offering_id: str
    account_id: str
    project_id: str | None
    domain_id: str | None
    first: dt.datetime
    last: dt.datetime
    #: The start of its last period (``last`` is that period's end).
    last_start: dt.datetime
    periods: int
    seconds: int
    quantity: int

    @property
    def id(self) -> str:
        """``<resource id>.<type>``, then ``.<offering>`` when it has one."""
        parts = [self.resource_id, self.usage_type]
        if self.offering_id:
            parts.append(self.offering_id)
        return ".".join(parts)

    @property
    def amount(self) -> Decimal:
        """The total in the type's display unit."""
        return amount(self.usage_type, self.quantity)

    @property
    def unit(self) -> str:
        """The display unit."""
        return TYPES[UsageType(self.usage_type)].unit


def parse_meter_id(meter_id: str) -> tuple[str, str, str]:
    """``(resource id, usage type, offering)`` of a meter id.

    :raises NotFound: not a meter id.
    """
    parts = meter_id.split(".", 2)
    if len(parts) < 2 or parts[1] not in {t.value for t in UsageType} or not parts[0]:
        raise NotFound(f"no meter {meter_id!r}", subject="meter", id=meter_id)
    return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


class MeterService:
    """The meters and samples the caller may see.

    :param session: the unit of work (read only).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _query(self, scope: Scope, *conditions: sa.ColumnElement[bool]) -> list[Meter]:
        keys = (
            UsageRecord.resource_type,
            UsageRecord.resource_id,
            UsageRecord.usage_type,
            UsageRecord.offering_id,
            UsageRecord.account_id,
            UsageRecord.project_id,
            UsageRecord.domain_id,
        )
        query = (
            sa.select(
                *keys,
                sa.func.max(UsageRecord.resource_name),
                sa.func.min(UsageRecord.period_start),
                sa.func.max(UsageRecord.period_end),
                sa.func.max(UsageRecord.period_start),
                sa.func.count(),
                sa.func.sum(UsageRecord.seconds),
                sa.func.sum(UsageRecord.quantity),
            )
            .where(*UsageReports(self.session).owner_conditions(scope, UsageRecord), *conditions)
            .group_by(*keys)
            .order_by(UsageRecord.resource_id, UsageRecord.usage_type, UsageRecord.offering_id)
        )
        return [
            Meter(
                row[0],
                row[1],
                row[7] or "",
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[8],
                row[9],
                row[10],
                int(row[11]),
                int(row[12] or 0),
                int(row[13] or 0),
            )
            for row in self.session.execute(query)
        ]

    def list(self, scope: Scope) -> list[Meter]:
        """Every meter the caller may see."""
        return self._query(scope)

    def get(self, scope: Scope, meter_id: str) -> Meter:
        """The meter called ``meter_id``.

        :raises NotFound: no such meter, or not the caller's.
        """
        resource_id, usage_type, offering = parse_meter_id(meter_id)
        found = self._query(
            scope,
            UsageRecord.resource_id == resource_id,
            UsageRecord.usage_type == usage_type,
            UsageRecord.offering_id == offering,
        )
        if not found:
            raise NotFound(f"no meter {meter_id!r}", subject="meter", id=meter_id)
        return found[0]

    def samples(self, scope: Scope, meter_id: str) -> Sequence[UsageRecord]:
        """The records of a meter, oldest first.

        :raises NotFound: no such meter, or not the caller's.
        """
        meter = self.get(scope, meter_id)
        return self.session.scalars(
            sa.select(UsageRecord)
            .where(
                UsageRecord.resource_id == meter.resource_id,
                UsageRecord.usage_type == meter.usage_type,
                UsageRecord.offering_id == meter.offering_id,
            )
            .order_by(UsageRecord.period_start)
        ).all()

    def sample(self, scope: Scope, meter_id: str, record_id: str) -> UsageRecord:
        """One record of a meter.

        :raises NotFound: no such record in the meter the caller may see.
        """
        meter = self.get(scope, meter_id)
        record = self.session.get(UsageRecord, record_id)
        if record is None or (
            record.resource_id,
            record.usage_type,
            record.offering_id,
        ) != (meter.resource_id, meter.usage_type, meter.offering_id):
            raise NotFound(f"no sample {record_id!r}", subject="sample", id=record_id)
        return record


__all__ = ["Meter", "MeterService", "parse_meter_id"]
