"""Meter, Sample and MeterConfiguration (DSP0263 5.17.3) over usage accounting.

* a Meter is :class:`engine.usage.meters.Meter`: one resource's usage of one
  type and offering; ``targetResource`` is the Machine, Volume, Network or
  MachineImage when the resource is one (an address's interface is named
  by the ``name``); ``aspect`` is ``urn:x-concord:usage:<type>``; ``units``
  the type's display unit; ``timeScope`` ``Interval``; ``sampleInterval``
  and ``intervalDuration`` the length of its last period;
  ``minValue``/``maxValue`` the extreme samples; ``stopTime`` the end of
  its last period;
* a Sample is one usage record: ``timestamp`` is the end of its period,
  ``value`` the exact decimal usage in the meter's units;
* a MeterConfiguration is one usage type, as configured now
  (``usage_period``).

All are read-only (docs/cimi.rst).
"""

from __future__ import annotations

import builtins
from decimal import Decimal
from typing import Any

from cimi.mapping.base import Binding, Context, public_id
from cimi.mapping.jobs import MODELS
from engine.errors import NotFound
from engine.usage.meters import Meter
from engine.usage.models import UsageRecord
from engine.usage.types import TYPES, TypeInfo, UsageType, amount

ASPECT_PREFIX = "urn:x-concord:usage:"
#: engine resource type -> the CIMI Collection of the target.
TARGETS = {
    "compute": "machines",
    "volume": "volumes",
    "network": "networks",
    "image": "machineImages",
}
#: Period length in seconds -> xs:duration.
DURATIONS = {3600: "PT1H", 86400: "P1D"}


def decimal_text(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (``1.25``, ``0.000278``, ``3``)."""
    text = format(value.normalize(), "f")
    return text


def _seconds(start: Any, end: Any) -> int:
    return int((end - start).total_seconds())


def _sample_values(ctx: Context, meter: Meter) -> list[Decimal]:
    memo = ctx.memo.setdefault("meter-samples", {})
    if meter.id not in memo:
        records = ctx.engine.meters.samples(ctx.scope, meter.id)
        memo[meter.id] = [amount(r.usage_type, r.quantity) for r in records]
    values: list[Decimal] = memo[meter.id]
    return values


def _target(meter: Meter, ctx: Context, href: str) -> Any:
    key = TARGETS.get(meter.resource_type)
    if not key:
        return None
    return {
        "href": ctx.links.of(
            key, public_id(ctx, MODELS[meter.resource_type], meter.resource_id) or ""
        )
    }


def _interval(meter: Meter) -> int:
    # The length of its last period: a meter has no sample for the periods
    # its resource held nothing, so the span divided by the count would lie.
    return _seconds(meter.last_start, meter.last)


class Meters(Binding):
    """Meter (5.17.3) over a resource's usage of one type and offering."""

    type_name = "Meter"
    path = ("meters",)
    common = False
    fields = (
        ("name", lambda m, ctx, href: f"{m.resource_name or m.resource_id} {m.usage_type}"),
        ("description", lambda m, ctx, href: TYPES[UsageType(m.usage_type)].description),
        ("created", lambda m, ctx, href: m.first),
        ("updated", lambda m, ctx, href: m.last),
        ("targetResource", _target),
        ("aspect", lambda m, ctx, href: ASPECT_PREFIX + m.usage_type),
        ("units", lambda m, ctx, href: m.unit),
        ("sampleInterval", lambda m, ctx, href: _interval(m)),
        ("timeScope", lambda m, ctx, href: "Interval"),
        ("intervalDuration", lambda m, ctx, href: DURATIONS.get(_interval(m))),
        ("isContinuous", lambda m, ctx, href: True),
        ("samples", lambda m, ctx, href: {"href": f"{href}/samples"}),
        ("minValue", lambda m, ctx, href: decimal_text(min(_sample_values(ctx, m)))),
        ("maxValue", lambda m, ctx, href: decimal_text(max(_sample_values(ctx, m)))),
        ("stopTime", lambda m, ctx, href: m.last),
        ("usageType", lambda m, ctx, href: m.usage_type),
        ("offering", lambda m, ctx, href: m.offering_id),
        ("startTime", lambda m, ctx, href: m.first),
        ("total", lambda m, ctx, href: decimal_text(m.amount)),
        ("seconds", lambda m, ctx, href: m.seconds),
        ("quantity", lambda m, ctx, href: m.quantity),
    )

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Meter:
        return ctx.engine.meters.get(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Meter]:
        return ctx.engine.meters.list(ctx.scope)


class MeterSamples(Binding):
    """Sample (5.17.3.1) over one usage record, below its Meter."""

    type_name = "Sample"
    path = ("meters", "samples")
    common = False
    fields = (
        ("name", lambda r, ctx, href: f"{r.period_start:%Y-%m-%dT%H:%M:%SZ}"),
        ("created", lambda r, ctx, href: r.period_end),
        ("timestamp", lambda r, ctx, href: r.period_end),
        ("value", lambda r, ctx, href: decimal_text(amount(r.usage_type, r.quantity))),
        ("startTime", lambda r, ctx, href: r.period_start),
        ("seconds", lambda r, ctx, href: r.seconds),
        ("quantity", lambda r, ctx, href: r.quantity),
    )

    def ids(self, ctx: Context, obj: Any) -> tuple[str, ...]:
        record: UsageRecord = obj
        offering = f".{record.offering_id}" if record.offering_id else ""
        return (f"{record.resource_id}.{record.usage_type}{offering}", record.id)

    def check_parent(self, ctx: Context, parent: tuple[str, ...]) -> None:
        ctx.engine.meters.get(ctx.scope, parent[0])

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> UsageRecord:
        return ctx.engine.meters.sample(ctx.scope, ids[0], ids[1])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[UsageRecord]:
        return list(ctx.engine.meters.samples(ctx.scope, parent[0]))


class MeterConfigurations(Binding):
    """MeterConfiguration (5.17.3) over one usage type."""

    type_name = "MeterConfiguration"
    path = ("meterConfigs",)
    common = False
    fields = (
        ("name", lambda t, ctx, href: t[0].value),
        ("description", lambda t, ctx, href: t[1].description),
        ("aspect", lambda t, ctx, href: ASPECT_PREFIX + t[0].value),
        ("units", lambda t, ctx, href: t[1].unit),
        ("sampleInterval", lambda t, ctx, href: _configured(ctx)),
        ("timeScope", lambda t, ctx, href: "Interval"),
        ("intervalDuration", lambda t, ctx, href: DURATIONS[_configured(ctx)]),
        ("isContinuous", lambda t, ctx, href: True),
    )

    def ids(self, ctx: Context, obj: Any) -> tuple[str, ...]:
        return (obj[0].value,)

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> tuple[UsageType, TypeInfo]:
        try:
            kind = UsageType(ids[0])
        except ValueError:
            raise NotFound(f"no meter configuration {ids[0]!r}") from None
        return kind, TYPES[kind]

    def fetch_all(
        self, ctx: Context, parent: tuple[str, ...]
    ) -> builtins.list[tuple[UsageType, TypeInfo]]:
        return list(TYPES.items())


def _configured(ctx: Context) -> int:
    return 86400 if ctx.engine.usage_period == "day" else 3600


__all__ = ["ASPECT_PREFIX", "MeterConfigurations", "MeterSamples", "Meters", "decimal_text"]
