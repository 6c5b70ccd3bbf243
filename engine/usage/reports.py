"""Reading usage records: per account, project or domain subtree, as the caller may see them.

Records are selected by their period's start: a query ``[start, end)``
returns the records of every period that starts in it (periods are whole
hours or days, so asking on their boundaries gives exactly those periods).
A tenant sees the usage of its own account (and of its projects), a domain
administrator that of its domains' subtree, the root administrator all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.scope import Scope
from engine.tenancy.models import Domain
from engine.usage.models import UsageInterval, UsagePeriod, UsageRecord
from engine.usage.types import TYPES, UsageType, amount


@dataclass(frozen=True)
class UsageTotal:
    """The usage of one owner, of one type and offering, over a query's range."""

    account_id: str
    project_id: str | None
    domain_id: str | None
    usage_type: str
    offering_id: str
    seconds: int
    quantity: int

    @property
    def amount(self) -> Decimal:
        """``quantity`` in the type's display unit (hours, core-hours, GiB-hours)."""
        return amount(self.usage_type, self.quantity)

    @property
    def unit(self) -> str:
        """The display unit."""
        return TYPES[UsageType(self.usage_type)].unit


def check_range(start: dt.datetime, end: dt.datetime) -> None:
    """Refuse a range that ends before it starts, or times without a zone.

    :raises InvalidInput: the range is empty or a time is naive.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("usage times need a time zone (e.g. 2026-12-01T00:00:00Z)")
    if end <= start:
        raise InvalidInput("the end of a usage range must be after its start", field="to")


def check_usage_type(usage_type: str) -> UsageType:
    """The usage type named ``usage_type``.

    :raises InvalidInput: no such type.
    """
    try:
        return UsageType(usage_type)
    except ValueError:
        known = ", ".join(t.value for t in UsageType)
        raise InvalidInput(f"usage types are {known}", field="type", reason="unknown") from None


class UsageReports:
    """Usage records and totals, filtered by the caller's visibility.

    :param session: the unit of work (read only).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def aggregated_until(self) -> dt.datetime | None:
        """The end of the last aggregated period: records are complete before it."""
        return self.session.scalar(sa.select(sa.func.max(UsagePeriod.end)))

    def owner_conditions(
        self,
        scope: Scope,
        model: type[UsageRecord] | type[UsageInterval],
        *,
        account_id: str | None = None,
        project_id: str | None = None,
        domain_id: str | None = None,
    ) -> list[sa.ColumnElement[bool]]:
        """The conditions selecting ``model``'s rows of an owner that the caller may see.

        :param domain_id: the rows of this domain and every domain below it.
        :raises NotFound: the caller administers no such domain.
        """
        conditions = [scope.owner_filter(model.account_id, model.project_id, model.domain_id)]
        if account_id is not None:
            conditions.append(model.account_id == account_id)
        if project_id is not None:
            conditions.append(model.project_id == project_id)
        if domain_id is not None:
            domain = self.session.get(Domain, domain_id)
            if domain is None or not scope.administers_domain(domain.path):
                raise NotFound(f"no domain {domain_id!r}", subject="domain", id=domain_id)
            # The domain's whole subtree: its path prefixes every descendant's.
            subtree = sa.select(Domain.id).where(Domain.path.startswith(domain.path))
            conditions.append(model.domain_id.in_(subtree))
        return conditions

    def _conditions(
        self,
        scope: Scope,
        start: dt.datetime,
        end: dt.datetime,
        account_id: str | None,
        project_id: str | None,
        domain_id: str | None,
        usage_type: str | None,
    ) -> list[sa.ColumnElement[bool]]:
        check_range(start, end)
        conditions = [
            UsageRecord.period_start >= start,
            UsageRecord.period_start < end,
            *self.owner_conditions(
                scope,
                UsageRecord,
                account_id=account_id,
                project_id=project_id,
                domain_id=domain_id,
            ),
        ]
        if usage_type is not None:
            conditions.append(UsageRecord.usage_type == check_usage_type(usage_type).value)
        return conditions

    def records(
        self,
        scope: Scope,
        start: dt.datetime,
        end: dt.datetime,
        *,
        account_id: str | None = None,
        project_id: str | None = None,
        domain_id: str | None = None,
        usage_type: str | None = None,
    ) -> Sequence[UsageRecord]:
        """The records of the periods starting in ``[start, end)`` the caller may see.

        :param domain_id: the records of this domain and every domain below it.
        :raises NotFound: the caller administers no such domain.
        :raises InvalidInput: a bad range or usage type.
        """
        conditions = self._conditions(
            scope, start, end, account_id, project_id, domain_id, usage_type
        )
        query = (
            sa.select(UsageRecord)
            .where(*conditions)
            .order_by(
                UsageRecord.period_start,
                UsageRecord.account_id,
                UsageRecord.usage_type,
                UsageRecord.resource_id,
                UsageRecord.offering_id,
            )
        )
        return self.session.scalars(query).all()

    def totals(
        self,
        scope: Scope,
        start: dt.datetime,
        end: dt.datetime,
        *,
        account_id: str | None = None,
        project_id: str | None = None,
        domain_id: str | None = None,
        usage_type: str | None = None,
    ) -> list[UsageTotal]:
        """The records of :meth:`records` summed per owner, usage type and offering."""
        conditions = self._conditions(
            scope, start, end, account_id, project_id, domain_id, usage_type
        )
        keys = (
            UsageRecord.account_id,
            UsageRecord.project_id,
            UsageRecord.domain_id,
            UsageRecord.usage_type,
            UsageRecord.offering_id,
        )
        query = (
            sa.select(*keys, sa.func.sum(UsageRecord.seconds), sa.func.sum(UsageRecord.quantity))
            .where(*conditions)
            .group_by(*keys)
            .order_by(*keys)
        )
        return [
            UsageTotal(row[0], row[1], row[2], row[3], row[4], int(row[5] or 0), int(row[6] or 0))
            for row in self.session.execute(query)
        ]


__all__ = ["UsageReports", "UsageTotal", "check_range", "check_usage_type"]
