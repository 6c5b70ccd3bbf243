"""Filtered and paged CIMI listings, against a single-Machine GET measured in the same run.

A CIMI ``$filter``, ``$orderby``, ``$first`` and ``$last`` on Machines run in
the database (``cimi.query.sql``): a listing that returns one entry of 1,000
should cost about what a GET of that one Machine costs, and a page near the
end of a sorted Collection about what the first page costs. Every request
goes through the whole WSGI application in this process (edge tween, HTTP
Basic with the verified-password cache warm, the transaction, the view, the
engine reads, the codec).

Scenarios (JSON):

* **GET Machine** (the baseline): ``GET /cimi/machines/<id>``;
* **$filter by name**: ``$filter=name='vm-00500'`` (one entry of N);
* **$filter, two terms**: ``$filter=cpu=1 and name='vm-00500'`` (one entry);
* **$filter on a property**: ``$filter=property['slot']='500'`` (one entry);
* **first page** and **last page**: ``$orderby=name&$first=1&$last=10`` and
  the same ten entries at the end of the Collection;
* **$select**: ``$select=name`` and ``$select=name,state,cpu`` over every
  Machine (only those columns are read, issue 15), beside the whole Collection;
* **OCCI pages**: ``GET /compute/?page=P&number=10`` in text/plain, the first
  and the last page, and the last page in OCCI JSON;
* **OCCI filtered DELETE**: ``DELETE /compute/?occi.core.title=nobody``, a
  filter that matches no compute (so that it can be repeated): what choosing
  the members costs.

The Machines are rows (nothing runs on a hypervisor: reads only). The
scenarios take turns in each of ``--repeats`` rounds and the fastest round
of each is kept; the script prints each scenario's time
and its ratio to the single GET. No number is asserted anywhere.

Usage::

    PYTHONPATH=. .venv/bin/python bench/filtered_listing.py [--machines N]
        [--requests N] [--repeats N] [--database URL] [--match REGEX]
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from webtest import TestApp

from concord.app import make_app
from concord.settings import Settings
from engine.compute.models import Compute
from engine.db import Database
from engine.inventory.models import Zone
from engine.schema import upgrade
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.service import TenancyService

USER, PASSWORD = "lister", "lister-password-1"
SETTINGS = {
    "concord.embedded_worker": "false",
    "concord.log_level": "WARNING",
    "concord.password_time_cost": "1",
    "concord.password_memory_kib": "1024",
    "concord.credential_cache_seconds": "3600",
}


def populate(database: Database, machines: int) -> str:
    """A tenant with *machines* Machine rows; return the id of the middle one."""
    policy = PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1)
    with database.transaction() as session:
        tenancy = TenancyService(session, PasswordHasher(policy))
        root = tenancy.ensure_root()
        system = Scope.system(root)
        domain = tenancy.create_domain(system, "listing", root.id)
        account = tenancy.create_account(system, "listing", domain.id, AccountType.USER)
        tenancy.create_user(system, account.id, USER, PASSWORD)
        zone = Zone(name="listing")
        session.add(zone)
        session.flush()
        owner = {"account_id": account.id, "domain_id": domain.id, "zone_id": zone.id}
        rows = [
            Compute(
                name=f"vm-{i:05d}",
                state="running" if i % 3 else "stopped",
                vcpus=1 + i % 4,
                memory_mib=512,
                properties={"slot": str(i)},
                **owner,
            )
            for i in range(machines)
        ]
        session.add_all(rows)
        session.flush()
        return rows[machines // 2].id


def seconds_per_request(
    scenarios: dict[str, Callable[[], object]], requests: int, repeats: int
) -> dict[str, float]:
    """Per scenario, the best of *repeats* runs of *requests* calls, per call.

    The scenarios take turns within each repeat, so that a busy moment of a
    shared machine slows all of them rather than one.
    """
    for call in scenarios.values():
        call()  # warm the caches (password, statements, tables)
    best = dict.fromkeys(scenarios, float("inf"))
    for _ in range(repeats):
        for name, call in scenarios.items():
            started = time.perf_counter()
            for _ in range(requests):
                call()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: seconds / requests for name, seconds in best.items()}


def run(
    url: str | None, machines: int, requests: int, repeats: int, match: str | None = None
) -> list[str]:
    """Measure every scenario; return the report's lines."""
    with tempfile.TemporaryDirectory() as scratch:
        database = Database(url or f"sqlite:///{Path(scratch) / 'listing.sqlite'}")
        upgrade(database)
        middle = populate(database, machines)
        app = TestApp(make_app(Settings.from_mapping(SETTINGS, environ={}), database))
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        wanted = f"vm-{machines // 2:05d}"
        last_first = max(1, machines - 9)

        def listing(query: str, entries: int) -> Callable[[], object]:
            def call() -> object:
                answer = app.get(f"/cimi/machines?{query}", headers=headers)
                got = len(answer.json.get("machines", []))
                if got != entries:
                    raise AssertionError(f"{query}: {got} entries, expected {entries}")
                return answer

            return call

        def occi(method: str, path: str, status: int, accept: str, lines: int | None):
            occi_headers = {**headers, "Accept": accept}

            def call() -> object:
                answer = app.request(path, method=method, headers=occi_headers, status=status)
                if lines is not None and answer.text.count("/compute/") != lines:
                    raise AssertionError(f"{path}: expected {lines} computes")
                return answer

            return call

        pages = (machines + 9) // 10
        last_size = machines - 10 * (pages - 1)
        scenarios: dict[str, Callable[[], object]] = {
            "GET Machine (baseline)": lambda: app.get(f"/cimi/machines/{middle}", headers=headers),
            "$filter by name (1 entry)": listing("$filter=" + quote(f"name='{wanted}'"), 1),
            "$filter, two terms (1 entry)": listing(
                "$filter=" + quote(f"cpu={1 + (machines // 2) % 4} and name='{wanted}'"), 1
            ),
            "$filter on a property (1 entry)": listing(
                "$filter=" + quote(f"property['slot']='{machines // 2}'"), 1
            ),
            "first page of 10, $orderby=name": listing("$orderby=name&$first=1&$last=10", 10),
            "last page of 10, $orderby=name": listing(
                f"$orderby=name&$first={last_first}&$last={last_first + 9}", min(10, machines)
            ),
            "whole Collection (every attribute)": listing("", machines),
            "$select=name (every entry)": listing("$select=name", machines),
            "$select=name,state,cpu (every entry)": listing("$select=name,state,cpu", machines),
            "OCCI first page of 10, text/plain": occi(
                "GET", "/compute/?page=1&number=10", 200, "text/plain", min(10, machines)
            ),
            "OCCI last page of 10, text/plain": occi(
                "GET", f"/compute/?page={pages}&number=10", 200, "text/plain", last_size
            ),
            "OCCI last page of 10, JSON": occi(
                "GET", f"/compute/?page={pages}&number=10", 200, "application/occi+json", None
            ),
            "OCCI DELETE ?occi.core.title=nobody": occi(
                "DELETE", "/compute/?occi.core.title=nobody", 204, "text/plain", None
            ),
        }
        if match is not None:
            chosen = re.compile(match)
            scenarios = {
                name: call
                for index, (name, call) in enumerate(scenarios.items())
                if index == 0 or chosen.search(name)  # the baseline always runs
            }
        timings = list(seconds_per_request(scenarios, requests, repeats).items())
        dialect = database.engine.dialect.name
        database.dispose()
    base = timings[0][1]
    load = os.getloadavg()[0]
    lines = [f"database {dialect}, {machines} Machines, load average {load:.1f}"]
    lines += [f"{name}: {1000 * t:.2f} ms, {t / base:.2f}x the single GET" for name, t in timings]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: SQLite)")
    parser.add_argument("--match", help="only the scenarios whose name has this regex")
    args = parser.parse_args(argv)
    for line in run(args.database, args.machines, args.requests, args.repeats, args.match):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
