"""Rating: an operator's tariff turns usage records into charges.

A :class:`~engine.usage.models.Tariff` prices one usage type per display
unit (an hour, a core-hour, a GiB-hour; :data:`~engine.usage.types.TYPES`),
optionally only for one offering, in one currency, from ``valid_from``
(inclusive) until ``valid_to`` (exclusive, or open-ended). Each record is
priced by the tariff valid at its period's start, preferring one for its
offering over the type's general one. Amounts are :class:`~decimal.Decimal`:
quantities are integers of unit-seconds and prices decimal text, so a
charge is ``quantity * price / divisor`` with one division (28 significant
digits), and only a bill's totals are rounded, half-up to cents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.scope import Scope
from engine.usage.models import Tariff
from engine.usage.reports import UsageReports, check_range, check_usage_type
from engine.usage.types import TYPES, UsageType, amount

_CURRENCY = re.compile(r"[A-Z]{3}")
#: The most digits a price may have, before and after the point.
PRICE_DIGITS = 30
CENT = Decimal("0.01")


def check_price(price: str | Decimal) -> Decimal:
    """``price`` as a non-negative decimal number.

    :raises InvalidInput: not a finite, non-negative number of at most
        :data:`PRICE_DIGITS` digits.
    """
    text = str(price).strip()
    if len(text) > PRICE_DIGITS + 1:
        raise InvalidInput(
            f"a price has at most {PRICE_DIGITS} digits",
            field="price",
            reason="too_long",
            maximum=PRICE_DIGITS,
        )
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(
            f"not a decimal price: {text!r}", field="price", reason="price"
        ) from None
    if not value.is_finite() or value < 0:
        raise InvalidInput("a price is a non-negative decimal number", field="price")
    return value


@dataclass(frozen=True)
class BillLine:
    """What one usage type and offering cost over a bill's range, under one tariff."""

    usage_type: str
    offering_id: str
    unit: str
    quantity: Decimal
    price: Decimal | None
    currency: str | None
    charge: Decimal | None


@dataclass
class Bill:
    """An account's charges over ``[start, end)``."""

    account_id: str
    start: dt.datetime
    end: dt.datetime
    lines: list[BillLine] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, Decimal]:
        """The total per currency, rounded half-up to cents."""
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            if line.currency is not None and line.charge is not None:
                sums[line.currency] += line.charge
        return {c: v.quantize(CENT, rounding=ROUND_HALF_UP) for c, v in sorted(sums.items())}

    @property
    def unpriced(self) -> list[BillLine]:
        """Usage no tariff prices (reported, not charged)."""
        return [line for line in self.lines if line.price is None]


class TariffService:
    """The operator's tariffs and the bills made with them.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def set(
        self,
        scope: Scope,
        usage_type: str,
        price: str | Decimal,
        *,
        currency: str,
        offering_id: str | None = None,
        valid_from: dt.datetime,
        valid_to: dt.datetime | None = None,
    ) -> Tariff:
        """Price ``usage_type`` (per its display unit) from ``valid_from``.

        Setting a tariff for the same type, offering and start again replaces
        its price, currency and end.

        :raises PermissionDenied: the caller is not the root administrator.
        :raises InvalidInput: a bad type, price, currency or validity.
        """
        scope.require_root_admin("only the root administrator sets tariffs")
        kind = check_usage_type(usage_type)
        value = check_price(price)
        if not _CURRENCY.fullmatch(currency):
            raise InvalidInput("a currency is an ISO 4217 code such as EUR", field="currency")
        if valid_to is not None:
            check_range(valid_from, valid_to)
        elif valid_from.tzinfo is None:
            raise InvalidInput("usage times need a time zone (e.g. 2026-12-01T00:00:00Z)")
        offering = offering_id or ""
        tariff = self.session.scalars(
            sa.select(Tariff).where(
                Tariff.usage_type == kind.value,
                Tariff.offering_id == offering,
                Tariff.valid_from == valid_from,
            )
        ).first()
        if tariff is None:
            tariff = Tariff(usage_type=kind.value, offering_id=offering, valid_from=valid_from)
            self.session.add(tariff)
        tariff.currency = currency
        tariff.price = str(value)
        tariff.valid_to = valid_to
        self.session.flush()
        return tariff

    def list(self) -> Sequence[Tariff]:
        """Every tariff, by type, offering and start."""
        return self.session.scalars(
            sa.select(Tariff).order_by(Tariff.usage_type, Tariff.offering_id, Tariff.valid_from)
        ).all()

    def delete(self, scope: Scope, tariff_id: str) -> None:
        """Delete a tariff.

        :raises PermissionDenied: the caller is not the root administrator.
        :raises NotFound: no such tariff.
        """
        scope.require_root_admin("only the root administrator deletes tariffs")
        tariff = self.session.get(Tariff, tariff_id)
        if tariff is None:
            raise NotFound(f"no tariff {tariff_id!r}", subject="tariff", id=tariff_id)
        self.session.delete(tariff)
        self.session.flush()

    def _tariff_for(
        self, tariffs: Sequence[Tariff], usage_type: str, offering: str, when: dt.datetime
    ) -> Tariff | None:
        def valid(t: Tariff) -> bool:
            return t.valid_from <= when and (t.valid_to is None or when < t.valid_to)

        for wanted in (offering, ""):
            candidates = [
                t
                for t in tariffs
                if t.usage_type == usage_type and t.offering_id == wanted and valid(t)
            ]
            if candidates:
                return max(candidates, key=lambda t: t.valid_from)
        return None

    def bill(self, scope: Scope, account_id: str, start: dt.datetime, end: dt.datetime) -> Bill:
        """Price the account's records of the periods starting in ``[start, end)``.

        :raises InvalidInput: a bad range.
        """
        tariffs = self.list()
        sums: dict[tuple[str, str, str | None], int] = defaultdict(int)
        found: dict[str | None, Tariff] = {}
        for record in UsageReports(self.session).records(scope, start, end, account_id=account_id):
            tariff = self._tariff_for(
                tariffs, record.usage_type, record.offering_id, record.period_start
            )
            key = tariff.id if tariff else None
            if tariff is not None:
                found[key] = tariff
            sums[(record.usage_type, record.offering_id, key)] += record.quantity
        bill = Bill(account_id, start, end)
        for (usage_type, offering, key), quantity in sorted(
            sums.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")
        ):
            units = amount(usage_type, quantity)
            tariff = found.get(key)
            price = Decimal(tariff.price) if tariff else None
            bill.lines.append(
                BillLine(
                    usage_type,
                    offering,
                    TYPES[UsageType(usage_type)].unit,
                    units,
                    price,
                    tariff.currency if tariff else None,
                    # One division, last: the only rounding is the 28th digit's.
                    Decimal(quantity) * price / TYPES[UsageType(usage_type)].divisor
                    if price is not None
                    else None,
                )
            )
        return bill


__all__ = ["Bill", "BillLine", "TariffService", "check_price"]
