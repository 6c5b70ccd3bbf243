"""Engine overhead per guest: raw libvirt calls vs the same work through the engine.

Both runs happen in this one process, on the same kind of simulated host
(a libvirt ``test:///`` node file), so the ratio compares like with like:

* **raw**: ``defineXML`` + ``create`` + ``destroy`` + ``undefine`` on a
  libvirt connection, with the same domain XML the driver writes;
* **engine**: :meth:`ComputeService.create` (quota charge, placement, event,
  job) committed, :meth:`Worker.run_until_idle` (define + start through the
  driver, state, power state, events), then :meth:`ComputeService.delete`
  and the worker again (destroy + undefine, capacity and quota released) —
  on SQLite by default, or the database given with ``--database``.

One *cycle* is one guest created, started and deleted. The script prints
cycles per second for each and the ratio; no number is asserted anywhere.

Usage::

    PYTHONPATH=. .venv/bin/python bench/engine_overhead.py [--raw-cycles N]
        [--engine-cycles N] [--database URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import libvirt
from sqlalchemy import event

from engine.catalog.models import ComputeOffering
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool, write_test_host
from engine.drivers.libvirt.xmlbuild import domain_xml
from engine.drivers.specs import GuestSpec
from engine.handlers import register_all
from engine.inventory.models import Cluster, Host, Pod, Zone
from engine.jobs.worker import HandlerRegistry, Worker
from engine.schema import upgrade
from engine.scope import Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.service import TenancyService

CORES, MEMORY_MIB = 64, 262144


def host_file(directory: Path, name: str) -> str:
    return write_test_host(
        directory / f"{name}.xml",
        hostname=name,
        cpu_cores=CORES,
        cpu_mhz=2400,
        memory_mib=MEMORY_MIB,
        pools=[("images", 100, f"/var/lib/concord/{name}")],
    )


def timed(cycles: int, cycle: Callable[[], None], repeats: int) -> float:
    """Seconds per cycle of the fastest of ``repeats`` runs (the least disturbed one)."""
    results = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(cycles):
            cycle()
        results.append((time.perf_counter() - start) / cycles)
    return min(results)


def raw_cycle(conn: libvirt.virConnect) -> Callable[[], None]:
    def cycle() -> None:
        spec = GuestSpec(str(uuid.uuid4()), 1, 64)
        dom = conn.defineXML(domain_xml(spec, "test"))
        dom.create()
        dom.destroy()
        dom.undefine()

    return cycle


def seed(database: Database, uri: str) -> tuple[Scope, str]:
    """Root, one user account, one zone with the host, one offering."""
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1))
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        system = Scope.system(tenancy.ensure_root())
        domain = tenancy.create_domain(system, "bench")
        account = tenancy.create_account(system, "bench", domain.id, AccountType.USER)
        user = tenancy.create_user(system, account.id, "bencher", "bench-password")
        zone = Zone(name="bench")
        session.add(zone)
        session.flush()
        pod = Pod(zone_id=zone.id, name="p")
        session.add(pod)
        session.flush()
        cluster = Cluster(pod_id=pod.id, name="c", hypervisor_type="test")
        session.add(cluster)
        session.flush()
        session.add(
            Host(
                cluster_id=cluster.id,
                name="bench-host",
                uri=uri,
                hypervisor_type="test",
                cpu_cores=CORES,
                cpu_mhz=2400,
                memory_mib=MEMORY_MIB,
            )
        )
        offering = ComputeOffering(name="tiny", vcpus=1, memory_mib=64)
        session.add(offering)
        session.flush()
        scope = CredentialService(session, hasher).scope_for_user_id(user.id)
        return scope, offering.id


def engine_cycle(
    database: Database, worker: Worker, scope: Scope, offering: str
) -> Callable[[], None]:
    def cycle() -> None:
        with database.transaction() as session:
            compute, _job = ComputeService(session).create(scope, name="b", offering_id=offering)
            compute_id = compute.id
        assert worker.run_until_idle() == 1
        with database.transaction() as session:
            ComputeService(session).delete(scope, compute_id)
        assert worker.run_until_idle() == 1

    return cycle


def count_statements(database: Database, cycle: Callable[[], None]) -> int:
    """How many SQL statements one cycle sends (transactions included)."""
    count = 0

    def counted(*_args: object) -> None:
        nonlocal count
        count += 1

    event.listen(database.engine, "before_cursor_execute", counted)
    try:
        cycle()
    finally:
        event.remove(database.engine, "before_cursor_execute", counted)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-cycles", type=int, default=2000)
    parser.add_argument("--engine-cycles", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: SQLite)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        raw_conn = libvirt.open(host_file(directory, "raw-host"))
        raw_cycle(raw_conn)()  # warm-up
        raw = timed(args.raw_cycles, raw_cycle(raw_conn), args.repeats)
        raw_conn.close()

        database = Database(args.database or f"sqlite:///{directory / 'bench.sqlite'}")
        upgrade(database)
        scope, offering = seed(database, host_file(directory, "engine-host"))
        pool = ConnectionPool()
        drivers = DriverCache(pool)
        registry = HandlerRegistry()
        register_all(registry)
        worker = Worker(database, drivers, registry, worker_id="bench")
        cycle = engine_cycle(database, worker, scope, offering)
        cycle()  # warm-up
        statements = count_statements(database, cycle)
        engine = timed(args.engine_cycles, cycle, args.repeats)
        drivers.close()
        pool.close_all()
        backend = database.dialect
        database.dispose()

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    version = libvirt.getVersion()
    print(
        f"libvirt {version // 1000000}.{version // 1000 % 1000}.{version % 1000}"
        f" python {sys.version.split()[0]}  database {backend}"
        f"  cpus {os.cpu_count()}  load average {load}"
    )
    print(
        f"raw libvirt   define+start+destroy+undefine: {1 / raw:10.1f} cycles/s"
        f"  ({raw * 1e3:8.3f} ms/cycle, {args.raw_cycles} cycles, best of {args.repeats})"
    )
    print(
        f"engine        create+start+delete (service+worker): {1 / engine:10.1f} cycles/s"
        f"  ({engine * 1e3:8.3f} ms/cycle, {args.engine_cycles} cycles, best of {args.repeats})"
    )
    print(f"SQL statements per engine cycle: {statements}")
    print(
        f"ratio engine/raw time per cycle: {engine / raw:8.1f}x"
        f"  (engine overhead {(engine - raw) * 1e3:.3f} ms per guest lifecycle)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
