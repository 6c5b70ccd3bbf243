"""Usage records are the exact integral of each resource's state, whatever happens.

Hypothesis writes arbitrary timelines: guests created, started, stopped,
resized and destroyed, volumes created, resized and deleted, addresses
assigned and released, images registered and deleted; changes whose
transaction crashes (rolled back with their event); aggregation runs at
arbitrary moments, some of them crashing in the middle of a period. The
events are recorded with :func:`engine.events.service.emit` exactly as the
services record them, at the timeline's moments (with arbitrary
microseconds, which usage truncates to the second).

At the end everything is aggregated, and the test checks, on SQLite and on
MariaDB:

* every record equals the integral of the modelled state over its period,
  computed here second-exactly and independently of the engine's code;
* there is no other record (no duplicate: ids are unique and derived from
  the period, type, resource and offering) and none is missing;
* the periods chain without gap or overlap from the first event on;
* re-deriving every period from the stored intervals gives the same records.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.db import Database
from engine.events.models import Event
from engine.events.service import DomainEvent, emit
from engine.scope import Owner
from engine.usage.aggregate import aggregate_period, recompute
from engine.usage.models import UsageInterval, UsagePeriod, UsageRecord
from engine.usage.periods import floor, period_end
from engine.usage.runner import next_start, run_aggregation

T0 = dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC)
OWNERS = [Owner(f"account-{n}", f"project-{n}", "domain-1") for n in range(2)]
OFFERINGS = ["offering-a", "offering-b"]


class Crash(Exception):
    """A process dying in the middle of a transaction."""


# -- the model: what each resource holds, second by second -------------------------------------


@dataclass
class Resource:
    kind: str
    owner: Owner
    facts: dict[str, Any] = field(default_factory=dict)
    alive: bool = False


def model_holdings(res: Resource) -> dict[tuple[str, str], int]:
    """What the resource holds: (usage type, offering) -> rate. Written from the docs."""
    if not res.alive:
        return {}
    f = res.facts
    if res.kind == "compute":
        held = {("allocated_vm", f["offering_id"]): 1}
        if f["state"] == "running":
            held[("running_vm", f["offering_id"])] = 1
            held[("cpu", f["offering_id"])] = f["vcpus"]
            held[("memory", f["offering_id"])] = f["memory_mib"]
        return held
    if res.kind == "volume":
        return {("volume", f["offering_id"]): f["size_gib"]}
    if res.kind == "network_interface":
        return {("ip_address", "ipv4"): 1}
    # image
    return {("template", ""): -(-f["size_bytes"] // 2**20)}


# -- the timeline -------------------------------------------------------------------------------

RESOURCES = [
    ("compute", 0),
    ("compute", 1),
    ("volume", 0),
    ("network_interface", 1),
    ("image", 0),
]

steps = st.one_of(
    st.tuples(
        st.just("change"),
        st.integers(0, len(RESOURCES) - 1),
        st.sampled_from(["create", "start", "stop", "resize", "delete"]),
        st.integers(1, 4),
        st.sampled_from(OFFERINGS),
        st.booleans(),  # the change's transaction crashes
    ),
    st.tuples(st.just("aggregate"), st.integers(0, 3 * 3600), st.booleans()),
)
timelines = st.lists(
    st.tuples(st.one_of(st.integers(0, 90), st.integers(0, 5400)), st.integers(0, 999_999), steps),
    min_size=1,
    max_size=25,
)


def _empty(database: Database) -> None:
    with database.transaction() as session:
        for model in (UsageRecord, UsageInterval, UsagePeriod, Event):
            session.execute(sa.delete(model))


def _apply(res: Resource, what: str, size: int, offering: str) -> str | None:
    """Change the model; return the event type, or None when the change makes no sense."""
    f = res.facts
    if what == "create":
        if res.alive:
            return None
        res.alive = True
        if res.kind == "compute":
            f.update(state="stopped", vcpus=size, memory_mib=256 * size, offering_id=offering)
            f["host_id"] = "host-1"
        elif res.kind == "volume":
            f.update(state="available", size_gib=size, offering_id=offering)
        elif res.kind == "network_interface":
            f.update(state="attached", ip_address=f"10.0.0.{size}")
        else:
            f.update(state="available", size_bytes=size * 3_000_000)
        return f"{res.kind}.created"
    if not res.alive:
        return None
    if what == "delete":
        res.alive = False
        f["state"] = "deleted"
        return f"{res.kind}.deleted"
    if res.kind == "compute" and what in ("start", "stop"):
        f["state"] = "running" if what == "start" else "stopped"
        return f"compute.{what}ed" if what == "start" else "compute.stopped"
    if what == "resize" and res.kind == "compute":
        f.update(vcpus=size, memory_mib=256 * size, offering_id=offering)
        return "compute.resized"
    if what == "resize" and res.kind == "volume":
        f["size_gib"] = size
        return "volume.resized"
    return None


def _emit(database: Database, rid: str, res: Resource, etype: str, when: dt.datetime) -> None:
    with database.transaction() as session:
        payload = {**res.facts, "name": rid, "zone_id": "zone-1"}
        row = emit(session, DomainEvent(etype, res.kind, rid, res.owner, payload))
        row.occurred = when  # the moment the timeline says the change happened
        session.flush()


def _crashing_aggregation(database: Database, granularity: str) -> None:
    """Aggregate the next period, then die before committing."""
    start = next_start(database, granularity)
    if start is None:
        return
    try:
        with database.transaction() as session:
            end = period_end(start, granularity)
            aggregate_period(session, start, end, granularity=granularity)
            raise Crash
    except Crash:
        pass


def _reference(
    changes: dict[str, list[tuple[dt.datetime, dict[tuple[str, str], int]]]],
    owners: dict[str, Owner],
    periods: list[tuple[dt.datetime, dt.datetime]],
) -> dict[tuple[dt.datetime, str, str, str], tuple[int, int, str]]:
    """(period start, type, resource, offering) -> (seconds, quantity, account), by brute sums."""
    expected: dict[tuple[dt.datetime, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for rid, history in changes.items():
        for index, (since, held) in enumerate(history):
            until = history[index + 1][0] if index + 1 < len(history) else None
            for start, end in periods:
                first = max(since, start)
                last = end if until is None else min(until, end)
                seconds = int((last - first).total_seconds())
                if seconds <= 0:
                    continue
                for (usage_type, offering), rate in held.items():
                    entry = expected[(start, usage_type, rid, offering)]
                    entry[0] += seconds
                    entry[1] += seconds * rate
    return {
        key: (s, q, str(owners[key[2]].account_id))
        for key, (s, q) in expected.items()
        if s > 0 and q > 0
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(timeline=timelines, granularity=st.sampled_from(["hour", "day"]))
def test_records_are_the_exact_integral_of_the_state(
    database: Database, timeline: list[tuple[int, int, Any]], granularity: str
) -> None:
    _empty(database)
    resources = {
        f"{kind}-{n}": Resource(kind, OWNERS[n % 2]) for n, (kind, _) in enumerate(RESOURCES)
    }
    ids = list(resources)
    changes: dict[str, list[tuple[dt.datetime, dict[tuple[str, str], int]]]] = defaultdict(list)
    now = T0
    for delay, micro, step in timeline:
        now = now + dt.timedelta(seconds=delay)
        when = now.replace(microsecond=micro)
        if step[0] == "aggregate":
            _, settle, crash = step
            if crash:
                _crashing_aggregation(database, granularity)
            else:
                run_aggregation(database, granularity=granularity, settle_seconds=settle, now=when)
            continue
        _, index, what, size, offering, crash = step
        rid = ids[index]
        res = resources[rid]
        before = (res.alive, dict(res.facts))
        etype = _apply(res, what, size, offering)
        if etype is None:
            continue
        if crash:
            try:
                with database.transaction() as session:
                    emit(session, DomainEvent(etype, res.kind, rid, res.owner, dict(res.facts)))
                    raise Crash
            except Crash:
                res.alive, res.facts = before[0], before[1]
            continue
        _emit(database, rid, res, etype, when)
        changes[rid].append((when.replace(microsecond=0), model_holdings(res)))
    # Everything up to the end of the last event's period, aggregated.
    finish = period_end(now, granularity)
    run_aggregation(database, granularity=granularity, settle_seconds=0, now=finish)
    with database.transaction() as session:
        periods = [
            (p.start, p.end)
            for p in session.scalars(sa.select(UsagePeriod).order_by(UsagePeriod.start))
        ]
        stored = {
            (r.period_start, r.usage_type, r.resource_id, r.offering_id): (
                r.seconds,
                r.quantity,
                r.account_id,
            )
            for r in session.scalars(sa.select(UsageRecord))
        }
        count = session.scalar(sa.select(sa.func.count()).select_from(UsageRecord))
        recomputed = [recompute(session, start, end) for start, end in periods]
    if not changes:
        return
    first = min(history[0][0] for history in changes.values())
    # No gap, no overlap: period after period from the first event's to the end.
    assert periods[0][0] == floor(first, granularity)
    assert periods[-1][1] == finish
    assert all(a[1] == b[0] for a, b in itertools.pairwise(periods))
    assert count == len(stored)
    assert stored == _reference(changes, {rid: r.owner for rid, r in resources.items()}, periods)
    again = {
        (r["period_start"], r["usage_type"], r["resource_id"], r["offering_id"]): (
            r["seconds"],
            r["quantity"],
            r["account_id"],
        )
        for records in recomputed
        for r in records
    }
    assert again == stored
