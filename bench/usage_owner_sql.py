"""Per-owner usage records computed by the database: two measured prototypes, not the engine's.

Issue 13 asks for records "per owner (account and project) per period and
per usage type" (and offering). This module computes exactly those figures
in SQL (SQLite 3.25 or later: window functions), so that ``bench/usage.py``
can measure what such a model would cost against the same plain ``GROUP BY``
in the same run, and checks that its figures are the engine's per-resource
records summed per owner, to the second.

**From the events** (``_RECORDS``, ``_OPEN``), for a run over ``[A, B)``:

1. Every metered event's payload is read once (``json_extract`` of only the
   fields its resource type uses); events that change nothing (a failed
   action on a volume, network or image) are left out, as the fold skips
   them.
2. ``LEAD`` over each resource's events, in the fold's order (``occurred``,
   then ``seq``), gives the second at which what the event set ends; the
   last one still holds at ``B``.
3. Each event becomes one row per usage type its resource type can hold,
   with its rate (:func:`engine.usage.types.holdings` as ``CASE``
   expressions; 0: not held) and offering; each span is joined with the
   periods it overlaps (an index range on their start), clipped to each, and
   summed per period, owner, type and offering: one ``INSERT ... SELECT``.
4. What each resource holds at ``B`` is written as the open state the next
   run would start from: one more ``INSERT ... SELECT``, once per run.

**From a ledger** (``_LEDGER``, ``_FROM_LEDGER``): one row per change of
what an owner holds (event second, owner, type, offering, change of rate,
change of the count of resources holding it), as the engine could write with
each event. A period's quantity is then the level it starts with times its
length plus each change times the seconds left after it: one ``GROUP BY``
over the changes, no window over the events. The ledger is built here from
the events in bulk, outside the timing.

Both start from nothing (no late events, no open state or level before
``A``), which is the benchmark's case; an engine version would read the
previous run's open state (or levels) and apply late events at ``A``
(docs/usage.rst, "Late events").
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import Database

#: (resource type, usage type): the usage types each resource type may hold.
_SLOTS = (
    ("compute", "allocated_vm"),
    ("compute", "running_vm"),
    ("compute", "cpu"),
    ("compute", "memory"),
    ("volume", "volume"),
    ("network", "network"),
    ("network_interface", "ip_address"),
    ("image", "template"),
    ("image", "snapshot"),
)

_DDL = (
    "CREATE TABLE owner_periods (start INTEGER PRIMARY KEY, end INTEGER NOT NULL)",
    "CREATE TABLE owner_slots (resource_type TEXT, usage_type TEXT)",
    """CREATE TABLE owner_records (
        period_start INTEGER NOT NULL, period_end INTEGER NOT NULL,
        account_id TEXT NOT NULL, project_id TEXT NOT NULL, domain_id TEXT,
        usage_type TEXT NOT NULL, offering_id TEXT NOT NULL,
        seconds INTEGER NOT NULL, quantity INTEGER NOT NULL,
        PRIMARY KEY (period_start, account_id, project_id, usage_type, offering_id))""",
    "CREATE INDEX ix_owner_records_domain ON owner_records (domain_id, period_start)",
    """CREATE TABLE owner_open (
        resource_id TEXT NOT NULL, usage_type TEXT NOT NULL, offering_id TEXT NOT NULL,
        rate INTEGER NOT NULL, since INTEGER NOT NULL, account_id TEXT, project_id TEXT,
        domain_id TEXT, PRIMARY KEY (resource_id, usage_type))""",
)

# What each event says its resource holds of each usage type from then on.
# ``ended``: deleted, or its creation failed; ``keep``: the event changes
# nothing (UNCHANGED in engine.usage.types).
_HELD = """
WITH facts AS MATERIALIZED (
    SELECT e.seq, e.resource_id, e.resource_type, e.type, e.occurred,
           e.account_id, coalesce(e.project_id, '') AS project_id, e.domain_id,
           CAST(strftime('%s', e.occurred) AS INTEGER) AS t,
           json_extract(e.payload, '$.state') AS state,
           -- Each payload is parsed once per field it is read for: only
           -- the fields its resource type uses.
           CASE WHEN e.resource_type = 'compute'
                THEN coalesce(json_extract(e.payload, '$.host_id'), '') END AS host_id,
           CASE WHEN e.resource_type = 'compute'
                THEN coalesce(json_extract(e.payload, '$.vcpus'), 0) END AS vcpus,
           CASE WHEN e.resource_type = 'compute'
                THEN coalesce(json_extract(e.payload, '$.memory_mib'), 0) END AS memory_mib,
           CASE WHEN e.resource_type = 'volume'
                THEN coalesce(json_extract(e.payload, '$.size_gib'), 0) END AS size_gib,
           CASE WHEN e.resource_type = 'network_interface'
                THEN coalesce(json_extract(e.payload, '$.ip_address'), '') END AS ip_address,
           CASE WHEN e.resource_type = 'image'
                THEN coalesce(json_extract(e.payload, '$.source_compute_id'), '') END AS source,
           CASE WHEN e.resource_type = 'image'
                THEN coalesce(json_extract(e.payload, '$.size_bytes'), 0) END AS size_bytes,
           CASE WHEN e.resource_type IN ('compute', 'volume', 'network')
                THEN coalesce(json_extract(e.payload, '$.offering_id'), '') END AS offering,
           (json_extract(e.payload, '$.state') = 'deleted'
            OR e.type LIKE '%.deleted' OR e.type LIKE '%.create.failed') AS ended
    FROM events AS e
    WHERE e.occurred >= :a AND e.occurred < :b
      AND e.resource_type IN ('compute', 'volume', 'network', 'network_interface', 'image')
), kept AS (
    -- Events that change nothing (a failed action) leave them out: the
    -- next event of the resource ends what the one before them began.
    SELECT * FROM facts AS f
    WHERE f.resource_type IN ('compute', 'network_interface') OR f.account_id IS NULL
       OR f.ended OR f.state IS NULL OR f.state != 'error'
), timed AS (
    -- One window over the events (not over events x usage types): every
    -- kept event sets every usage type its resource type can hold.
    SELECT f.*, LEAD(f.t) OVER (PARTITION BY f.resource_id ORDER BY f.t, f.occurred, f.seq)
                AS next
    FROM kept AS f
), spans AS (
    SELECT f.resource_id, f.account_id, f.project_id, f.domain_id, f.t AS s, f.next,
           s.usage_type,
           CASE
             WHEN f.account_id IS NULL OR f.ended THEN 0
             WHEN f.resource_type = 'compute' THEN
               CASE WHEN f.host_id = '' THEN 0
                    WHEN s.usage_type = 'allocated_vm' THEN 1
                    WHEN f.state NOT IN ('running', 'stopping', 'restarting', 'pausing',
                                         'paused', 'resuming', 'suspending')
                         OR f.state IS NULL THEN 0
                    WHEN s.usage_type = 'running_vm' THEN 1
                    WHEN s.usage_type = 'cpu' THEN f.vcpus
                    ELSE f.memory_mib END
             WHEN f.resource_type = 'volume' THEN f.size_gib
             WHEN f.resource_type = 'network' THEN 1
             WHEN f.resource_type = 'network_interface' THEN
               CASE WHEN f.ip_address = '' THEN 0 ELSE 1 END
             ELSE
               CASE WHEN (f.source = '') = (s.usage_type = 'snapshot') THEN 0
                    ELSE (f.size_bytes + 1048575) / 1048576 END
           END AS rate,
           CASE
             WHEN f.resource_type = 'network_interface' THEN
               CASE WHEN instr(f.ip_address, ':') > 0 THEN 'ipv6' ELSE 'ipv4' END
             WHEN f.resource_type = 'image' THEN ''
             ELSE f.offering
           END AS offering_id
    FROM timed AS f JOIN owner_slots AS s ON s.resource_type = f.resource_type
)
"""

_RECORDS = (
    "INSERT INTO owner_records "
    + _HELD
    + """
SELECT p.start, p.end, sp.account_id, sp.project_id, max(sp.domain_id), sp.usage_type,
       sp.offering_id,
       sum(min(coalesce(sp.next, :b_s), p.end) - max(sp.s, p.start)),
       sum((min(coalesce(sp.next, :b_s), p.end) - max(sp.s, p.start)) * sp.rate)
FROM spans AS sp CROSS JOIN owner_periods AS p
  ON p.start > sp.s - 86400 AND p.start < coalesce(sp.next, :b_s) AND p.end > sp.s
WHERE sp.rate > 0 AND coalesce(sp.next, :b_s) > sp.s
GROUP BY p.start, p.end, sp.account_id, sp.project_id, sp.usage_type, sp.offering_id
"""
)

_OPEN = (
    "INSERT INTO owner_open "
    + _HELD
    + """
SELECT resource_id, usage_type, offering_id, rate, s, account_id, project_id, domain_id
FROM spans WHERE next IS NULL AND rate > 0
"""
)


# The ledger model: what each event changes of what its owner holds, one row
# per (event, usage type, offering) whose rate or count changes. The engine
# would write these rows with the event, in the same transaction (it knows
# what the resource held before); here they are derived from the spans, in
# bulk, outside the timing.
_LEDGER_DDL = """CREATE TABLE owner_ledger (
    t INTEGER NOT NULL, account_id TEXT NOT NULL, project_id TEXT NOT NULL, domain_id TEXT,
    usage_type TEXT NOT NULL, offering_id TEXT NOT NULL,
    d_rate INTEGER NOT NULL, d_held INTEGER NOT NULL)"""

_LEDGER = (
    "INSERT INTO owner_ledger "  # noqa: S608  (constant text only, no input)
    + _HELD
    + """, held AS (SELECT * FROM spans WHERE rate > 0)
SELECT t, account_id, project_id, max(domain_id), usage_type, offering_id, sum(dr), sum(dh)
FROM (SELECT s AS t, resource_id, account_id, project_id, domain_id, usage_type, offering_id,
             rate AS dr, 1 AS dh FROM held
      UNION ALL
      SELECT next, resource_id, account_id, project_id, domain_id, usage_type, offering_id,
             -rate, -1 FROM held WHERE next IS NOT NULL)
GROUP BY resource_id, t, account_id, project_id, usage_type, offering_id
HAVING sum(dr) != 0 OR sum(dh) != 0
"""
)

# Per owner, type and offering: a period's quantity is the level it starts
# with times its length, plus each change times the seconds left in the
# period after it; the level is the running sum of the changes before. One
# GROUP BY over the changes, a window over its (few) groups, and the periods
# without a change repeated from the level.
_FROM_LEDGER = """
INSERT INTO owner_records
WITH g AS (
    SELECT l.t - (l.t - :a_s) % :step AS start,
           l.account_id, l.project_id, max(l.domain_id) AS domain_id, l.usage_type,
           l.offering_id, sum(l.d_rate) AS dr, sum(l.d_held) AS dh,
           sum(l.d_rate * (:step - (l.t - :a_s) % :step)) AS qin,
           sum(l.d_held * (:step - (l.t - :a_s) % :step)) AS sin
    FROM owner_ledger AS l
    WHERE l.t >= :a_s AND l.t < :b_s
    GROUP BY 1, l.account_id, l.project_id, l.usage_type, l.offering_id
), w AS (
    SELECT g.*, sum(dr) OVER k - dr AS lvl, sum(dh) OVER k - dh AS held,
           LEAD(start) OVER k AS nxt
    FROM g WINDOW k AS (PARTITION BY account_id, project_id, usage_type, offering_id
                        ORDER BY start)
)
SELECT p.start, p.end, w.account_id, w.project_id, w.domain_id, w.usage_type, w.offering_id,
       CASE WHEN p.start = w.start THEN w.held * :step + w.sin
            ELSE (w.held + w.dh) * :step END,
       CASE WHEN p.start = w.start THEN w.lvl * :step + w.qin
            ELSE (w.lvl + w.dr) * :step END
FROM w CROSS JOIN owner_periods AS p ON p.start >= w.start AND p.start < coalesce(w.nxt, :b_s)
WHERE (p.start = w.start AND w.lvl * :step + w.qin != 0)
   OR (p.start > w.start AND w.lvl + w.dr != 0)
"""


def _rows(result: sa.Result[Any]) -> int:
    """The rows an ``INSERT ... SELECT`` wrote."""
    return cast("sa.CursorResult[Any]", result).rowcount


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _setup(database: Database, start: dt.datetime, end: dt.datetime, step: int) -> dict[str, Any]:
    if database.dialect != "sqlite":
        raise ValueError("the per-owner prototypes run on SQLite only")
    a, b = _epoch(start), _epoch(end)
    with database.transaction() as session:
        for statement in (*_DDL, _LEDGER_DDL):
            session.execute(sa.text(statement))
        session.execute(
            sa.text("INSERT INTO owner_slots VALUES (:r, :u)"),
            [{"r": r, "u": u} for r, u in _SLOTS],
        )
    return {
        "a": start.astimezone(dt.UTC).replace(tzinfo=None),
        "b": end.astimezone(dt.UTC).replace(tzinfo=None),
        "a_s": a,
        "b_s": b,
        "step": step,
    }


def _claim(session: Session, bounds: dict[str, Any]) -> None:
    # In the engine, these would be the run's period rows: its claims.
    session.execute(sa.text("DELETE FROM owner_periods"))
    session.execute(sa.text("DELETE FROM owner_records"))
    session.execute(sa.text("DELETE FROM owner_open"))
    session.execute(
        sa.text("INSERT INTO owner_periods VALUES (:s, :e)"),
        [
            {"s": s, "e": s + bounds["step"]}
            for s in range(bounds["a_s"], bounds["b_s"], bounds["step"])
        ],
    )


Sums = dict[tuple[Any, ...], tuple[int, int]]


def per_owner_models(
    database: Database, start: dt.datetime, end: dt.datetime, step: int = 3600, repeats: int = 3
) -> tuple[dict[str, tuple[int, int, float]], dict[str, Sums]]:
    """Both prototypes over ``[start, end)``, in periods of ``step`` seconds from ``start``.

    Returns the timings, ``{"events": (records, open rows, seconds),
    "build ledger": (0, ledger rows, seconds), "ledger": (records, ledger
    rows, seconds)}``, and each model's records as :func:`per_owner_sums`
    reads them (outside the timings). Each model runs ``repeats`` times (its
    periods claimed and its records written each time, in one transaction)
    and the fastest is kept, as for the GROUP BY: the machine is shared.
    ``end - start`` must be a whole number of steps.
    """
    sums: dict[str, Sums] = {}
    bounds = _setup(database, start, end, step)
    found: dict[str, tuple[int, int, float]] = {}
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        with database.transaction() as session:
            _claim(session, bounds)
            records = _rows(session.execute(sa.text(_RECORDS), bounds))
            opened = _rows(session.execute(sa.text(_OPEN), bounds))
        best = min(best, time.perf_counter() - started)
    found["events"] = (records, opened, best)
    sums["events"] = per_owner_sums(database)
    started = time.perf_counter()
    with database.transaction() as session:
        ledger = _rows(session.execute(sa.text(_LEDGER), bounds))
        session.execute(sa.text("CREATE INDEX ix_owner_ledger_t ON owner_ledger (t)"))
    found["build ledger"] = (0, ledger, time.perf_counter() - started)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        with database.transaction() as session:
            _claim(session, bounds)
            records = _rows(session.execute(sa.text(_FROM_LEDGER), bounds))
        best = min(best, time.perf_counter() - started)
    found["ledger"] = (records, ledger, best)
    sums["ledger"] = per_owner_sums(database)
    return found, sums


def per_owner_sums(database: Database) -> Sums:
    """The prototype's records: (period start, account, project, type, offering) -> sums."""
    with database.transaction() as session:
        rows = session.execute(
            sa.text(
                "SELECT period_start, account_id, project_id, usage_type, offering_id,"
                " seconds, quantity FROM owner_records"
            )
        ).all()
    return {tuple(row[:5]): (int(row[5]), int(row[6])) for row in rows}


def engine_sums_per_owner(database: Database) -> Sums:
    """The engine's per-resource records summed the same way, to compare."""
    with database.transaction() as session:
        rows = session.execute(
            sa.text(
                "SELECT CAST(strftime('%s', period_start) AS INTEGER), account_id,"
                " coalesce(project_id, ''), usage_type, offering_id, sum(seconds),"
                " sum(quantity) FROM usage_records GROUP BY 1, 2, 3, 4, 5"
            )
        ).all()
    return {tuple(row[:5]): (int(row[5]), int(row[6])) for row in rows}
