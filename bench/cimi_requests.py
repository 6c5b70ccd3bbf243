"""CIMI requests per second, against a bare Pyramid baseline measured in the same run.

Every request goes through the whole WSGI application in this process (no
network, no server): the edge tween, authentication (HTTP Basic, with the
verified-password cache warm), the transaction, the CIMI view, the engine
reads and the codec. The baseline is a bare Pyramid application whose one
view returns a small JSON document: what any Pyramid request costs here.
A second reference, Concord's ``/healthz``, is the same stack without
authentication or CIMI (edge tween, a database round trip).

Scenarios (JSON unless ``--xml``):

* **cep**: ``GET /cimi/cloudEntryPoint``;
* **machine**: ``GET /cimi/machines/<id>`` of one of the tenant's Machines;
* **collection**: ``GET /cimi/machines`` with 1,000 Machines (``--machines``);
* **filtered**: the same with ``$filter=cpu=2 and name='vm-00042'``.

Machines are inserted as rows (nothing runs on a hypervisor: reads only).
The fastest of ``--repeats`` runs is kept; the script prints requests per
second and the ratio to the baseline. No number is asserted anywhere.

Usage::

    PYTHONPATH=. .venv/bin/python bench/cimi_requests.py [--machines N] [--requests N]
        [--repeats N] [--xml] [--database URL]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from pyramid.config import Configurator
from pyramid.response import Response
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

USER, PASSWORD = "bench", "bench-password-1"
SETTINGS = {
    "concord.embedded_worker": "false",
    "concord.log_level": "WARNING",
    "concord.password_time_cost": "1",
    "concord.password_memory_kib": "1024",
    "concord.credential_cache_seconds": "3600",
}


def baseline_app() -> TestApp:
    """A bare Pyramid application: one route, one view, a small JSON body."""

    def hello(request: object) -> Response:
        body = json.dumps({"resourceURI": "http://example.com/Hello", "id": "hello"})
        return Response(body, content_type="application/json", charset="utf-8")

    config = Configurator()
    config.add_route("hello", "/hello")
    config.add_view(hello, route_name="hello")
    return TestApp(config.make_wsgi_app())


def seed(database: Database, machines: int) -> str:
    """A tenant with *machines* Machines (rows only); return one Machine's id."""
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1))
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        domain = tenancy.create_domain(system, "bench", root.id)
        account = tenancy.create_account(system, "bench", domain.id, AccountType.USER)
        tenancy.create_user(system, account.id, USER, PASSWORD)
        zone = Zone(name="bench")
        session.add(zone)
        session.flush()
        rows = [
            Compute(
                name=f"vm-{i:05d}",
                state="running" if i % 3 else "stopped",
                account_id=account.id,
                domain_id=domain.id,
                zone_id=zone.id,
                vcpus=1 + i % 4,
                memory_mib=512,
                properties={"tier": "web"} if i % 2 else {},
            )
            for i in range(machines)
        ]
        session.add_all(rows)
        session.flush()
        return rows[len(rows) // 2].id


def rate(call: Callable[[], object], requests: int, repeats: int) -> float:
    """Requests per second of *call*: the best of *repeats* runs of *requests*."""
    call()  # warm caches (password cache, compiled tables)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(requests):
            call()
        best = min(best, time.perf_counter() - started)
    return requests / best


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--xml", action="store_true", help="ask for application/xml")
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: SQLite)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        url = args.database or f"sqlite:///{Path(scratch) / 'bench.sqlite'}"
        database = Database(url)
        upgrade(database)
        machine_id = seed(database, args.machines)
        app = TestApp(make_app(Settings.from_mapping(SETTINGS, environ={}), database))
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        media = "application/xml" if args.xml else "application/json"
        headers = {"Authorization": f"Basic {token}", "Accept": media}
        baseline = baseline_app()
        expression = quote("cpu=2 and name='vm-00042'")
        scenarios: dict[str, Callable[[], object]] = {
            "bare Pyramid (baseline)": lambda: baseline.get("/hello"),
            "Concord /healthz (no auth, no CIMI)": lambda: app.get("/healthz"),
            "CEP": lambda: app.get("/cimi/cloudEntryPoint", headers=headers),
            "GET Machine": lambda: app.get(f"/cimi/machines/{machine_id}", headers=headers),
            f"GET {args.machines} Machines": lambda: app.get("/cimi/machines", headers=headers),
            f"GET {args.machines} Machines, $filter": lambda: app.get(
                f"/cimi/machines?$filter={expression}", headers=headers
            ),
        }
        collection_requests = max(5, args.requests // 20)
        results = []
        for name, call in scenarios.items():
            requests = collection_requests if "Machines" in name else args.requests
            results.append((name, rate(call, requests, args.repeats)))
        database.dispose()

    base = results[0][1]
    print(f"CIMI requests ({media}, {args.machines} Machines, best of {args.repeats}):")
    print(f"{'scenario':<38} {'req/s':>10} {'ms/req':>9} {'baseline/x':>11}")
    for name, per_second in results:
        ratio = base / per_second
        print(f"{name:<38} {per_second:>10.1f} {1000 / per_second:>9.2f} {ratio:>10.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
