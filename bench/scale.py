"""Per-tenant operations as the database grows: one tenant's costs at 1,000 and 100,000 guests.

Issue 15's last criterion: a tenant's requests must not slow down because
other tenants hold many guests ("per-tenant operations at 100,000 guests cost
at most 1.5x what they cost at 1,000"). One database grows through the
``--sizes`` (guests in the whole database); at each size the same tenant,
holding a fixed ``--tenant-guests``, is measured with:

* **GET one compute** (OCCI text/plain) and **one Machine** (CIMI JSON);
* its **whole collection**: ``GET /compute/`` in OCCI text/plain (locations)
  and OCCI JSON, ``GET /cimi/machines`` in CIMI JSON;
* **filtered listings** returning one entry: CIMI ``$filter=name='c1'`` and
  OCCI ``?occi.core.title=c1``;
* **create and delete** a compute on a libvirt ``test:///`` host: OCCI POST,
  the worker runs the creation job (placement, the guest defined and
  started), DELETE, the worker runs the deletion.

How the database is built: the measured tenant comes from
:func:`bench.requests_setup.seed` (engine services; a ``test:///`` host; its
first compute has a storage link and a network interface, the others are
rows marked running). Everyone else's guests are inserted in bulk through
the engine's own tables (``insert(Compute)``, executemany in chunks, column
defaults as the ORM applies them), ``--tenant-guests`` per account, each
account made by :class:`~engine.tenancy.service.TenancyService` (with its
quota counters) and owning one tag put on all its guests. Those guests are
in the measured tenant's zone but on no host (``host_id`` NULL): nothing
runs on a hypervisor for them, and placement reads hosts, not guests.

Every request goes through the whole WSGI application in this process. The
scenarios take turns in each of ``--repeats`` rounds and the fastest round of
each is kept; the script prints each scenario's time at each size and its
ratio to the smallest size. No number is asserted anywhere.

Usage::

    PYTHONPATH=. .venv/bin/python bench/scale.py [--sizes 1000,10000,100000]
        [--tenant-guests 100] [--requests 20] [--repeats 3] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from bench.filtered_listing import seconds_per_request
from bench.requests import settings
from bench.requests_setup import AUTH, CREATE, call, seed
from concord.app import make_app
from engine.compute.models import Compute
from engine.db import Database, new_id
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool
from engine.handlers import register_all
from engine.inventory.models import Zone
from engine.jobs.worker import HandlerRegistry, Worker
from engine.resources.tag_models import Tag, TagAssignment
from engine.schema import upgrade
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.service import TenancyService

WSGIApp = Callable[..., Iterable[bytes]]
#: Rows per executemany when growing the database.
CHUNK = 5_000


def count_guests(database: Database) -> int:
    """Guests in the whole database."""
    with database.transaction() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Compute)) or 0)


def grow(database: Database, total: int, per_tenant: int) -> None:
    """Add other tenants' guests, ``per_tenant`` each, until the database holds ``total``."""
    missing = total - count_guests(database)
    if missing <= 0:
        return
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1))
    guests: list[dict[str, object]] = []
    tags: list[dict[str, object]] = []
    assignments: list[dict[str, object]] = []
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        system = Scope.system(tenancy.ensure_root())
        zone_id = session.scalar(sa.select(Zone.id).where(Zone.name == "bench"))
        domain = tenancy.create_domain(system, f"others-{new_id()[:8]}")
        for tenant in range((missing + per_tenant - 1) // per_tenant):
            account = tenancy.create_account(system, f"t{tenant}", domain.id, AccountType.USER)
            owner = {"account_id": account.id, "domain_id": domain.id}
            tag_id = new_id()
            tags.append(
                {
                    "id": tag_id,
                    "namespace": "http://scale.example/tags#",
                    "name": "web",
                    "path": "/tags/web/",
                    **owner,
                }
            )
            for index in range(min(per_tenant, missing - len(guests))):
                guest_id = new_id()
                guests.append(
                    {
                        "id": guest_id,
                        "name": f"c{index}",
                        "state": "running",
                        "vcpus": 1,
                        "memory_mib": 64,
                        "zone_id": zone_id,
                        **owner,
                    }
                )
                assignments.append(
                    {"tag_id": tag_id, "resource_id": guest_id, "resource_kind": "compute"}
                )
        for table, rows in ((Tag, tags), (Compute, guests), (TagAssignment, assignments)):
            for start in range(0, len(rows), CHUNK):
                session.execute(sa.insert(table), rows[start : start + CHUNK])


def scenarios(
    app: WSGIApp, worker: Worker, entity: str, guests: int
) -> dict[str, Callable[[], object]]:
    """The measured requests, each checking that it did what it should."""

    def get(path: str, accept: str, check: Callable[[bytes], bool] = bool) -> Callable[[], object]:
        request = ("GET", path, {"Authorization": AUTH, "Accept": accept}, b"")

        def send() -> object:
            status, _headers, body = call(app, request)
            if not status.startswith("200") or not check(body):
                raise AssertionError(f"GET {path} ({accept}): {status} {body[:300]!r}")
            return body

        return send

    def locations(count: int) -> Callable[[bytes], bool]:
        return lambda body: body.count(b"X-OCCI-Location:") == count

    def entries(key: str, count: int) -> Callable[[bytes], bool]:
        return lambda body: len(json.loads(body).get(key, ())) == count

    def create_and_delete() -> object:
        text = {"Authorization": AUTH, "Accept": "text/plain", "Content-Type": "text/plain"}
        status, headers, body = call(app, ("POST", "/compute/", text, CREATE))
        if not status.startswith("201"):
            raise AssertionError(f"create: {status} {body[:300]!r}")
        worker.run_until_idle()
        path = "/" + headers["Location"].split("/", 3)[3]
        status, _headers, body = call(app, ("DELETE", path, text, b""))
        if not status.startswith(("200", "204")):
            raise AssertionError(f"delete {path}: {status} {body[:300]!r}")
        return worker.run_until_idle()

    name = quote("name='c1'")
    return {
        "GET one compute, OCCI text/plain": get(f"/compute/{entity}", "text/plain"),
        "GET one Machine, CIMI JSON": get(f"/cimi/machines/{entity}", "application/json"),
        "GET /compute/, OCCI text/plain": get("/compute/", "text/plain", locations(guests)),
        "GET /compute/, OCCI JSON": get(
            "/compute/", "application/occi+json", entries("resources", guests)
        ),
        "GET /cimi/machines, CIMI JSON": get(
            "/cimi/machines", "application/json", entries("machines", guests)
        ),
        "CIMI $filter=name='c1' (1 entry)": get(
            f"/cimi/machines?$filter={name}", "application/json", entries("machines", 1)
        ),
        "OCCI ?occi.core.title=c1 (1 entry)": get(
            "/compute/?occi.core.title=c1", "text/plain", locations(1)
        ),
        "create and delete a compute (OCCI, worker)": create_and_delete,
    }


def run(
    url: str | None,
    sizes: tuple[int, ...],
    tenant_guests: int,
    requests: int,
    repeats: int,
    emit: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Grow the database through ``sizes``, measuring at each; return the report's lines."""
    if tenant_guests < 3 or sorted(sizes) != list(sizes) or sizes[0] < tenant_guests:
        raise ValueError("sizes ascend from at least --tenant-guests, which is at least 3")
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        emit(line)

    timings: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        database = Database(url or f"sqlite:///{directory / 'scale.sqlite'}")
        upgrade(database)
        entity, _others = seed(database, directory, tenant_guests)
        app = make_app(settings(), database)
        registry = HandlerRegistry()
        register_all(registry)
        pool = ConnectionPool()
        drivers = DriverCache(pool)
        worker = Worker(database, drivers, registry, worker_id="scale")
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        say(
            f"python {sys.version.split()[0]}  database {database.dialect}  cpus {os.cpu_count()}"
            f"  tenant guests {tenant_guests}  load average {load}"
        )
        try:
            for size in sizes:
                grow(database, size, tenant_guests)
                measured = scenarios(app, worker, entity, tenant_guests)
                timings.append(seconds_per_request(measured, requests, repeats))
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                say(f"measured at {count_guests(database)} guests, load average {load}")
        finally:
            drivers.close()
            pool.close_all()
            database.dispose()
    say(
        f"{'operation':44}"
        + "".join(f"{f'ms at {n}':>14}" for n in sizes)
        + f"{f'{sizes[-1]}/{sizes[0]}':>14}"
    )
    for name in timings[0]:
        row = "".join(f"{1000 * t[name]:14.2f}" for t in timings)
        say(f"{name:44}{row}{timings[-1][name] / timings[0][name]:13.2f}x")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="guests in the database")
    parser.add_argument("--tenant-guests", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: SQLite)")
    args = parser.parse_args(argv)
    sizes = tuple(int(size) for size in args.sizes.split(","))
    run(
        args.database,
        sizes,
        args.tenant_guests,
        args.requests,
        args.repeats,
        lambda line: print(line, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
