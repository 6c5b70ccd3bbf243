"""Aggregation periods: UTC hours or days, each starting where the last one ended."""

from __future__ import annotations

import datetime as dt

#: The granularities ``usage_period`` may name.
GRANULARITIES = ("hour", "day")


def check_granularity(granularity: str) -> str:
    """``granularity`` if it is one of :data:`GRANULARITIES`.

    :raises ValueError: it is not.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"the usage period is 'hour' or 'day', not {granularity!r}")
    return granularity


def floor(moment: dt.datetime, granularity: str) -> dt.datetime:
    """The start (UTC) of the hour or day that holds ``moment``."""
    moment = moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if check_granularity(granularity) == "day":
        moment = moment.replace(hour=0)
    return moment


def period_end(start: dt.datetime, granularity: str) -> dt.datetime:
    """The end of the period that starts at ``start``: the next hour or day boundary.

    ``start`` need not be on a boundary (the setting changed from ``hour`` to
    ``day``): the period then ends at the next boundary, so periods always
    chain without overlap.
    """
    step = (
        dt.timedelta(hours=1) if check_granularity(granularity) == "hour" else dt.timedelta(days=1)
    )
    return floor(start, granularity) + step


def second(moment: dt.datetime) -> dt.datetime:
    """``moment`` truncated to its whole second: usage is exact to the second."""
    return moment.replace(microsecond=0)
