"""Time from a host's death to all its HA guests running again, for 10 and 100 guests.

A zone of four libvirt ``test:///`` hosts in this process (so guests are test-driver
guests), a SQLite database, one job worker thread (polling once a second when idle, as
``concord worker`` does) and the HA agent (monitor and recovery threads) at the **default**
settings (``HaConfig()``: a check every second, suspect after
3 s, down after 6 s of silence and a failed second check). Every guest runs on ``host-1``;
its "machine" is a process group (a sleeping Python process) that the ``process`` fencer
kills. At t0 the host dies for real (its node file is removed and its connection closed);
the script then polls the database until every guest runs on another host.

Reported per guest count: detection (t0 to the host declared down), fencing and recovery
(declared down to the last guest running), the total, and two ratios measured in the same
run: total / ``down_after`` (how close to the floor the configured threshold allows), and
recovery / baseline, where the baseline is the time the same worker took to start the same
number of guests from ``stopped`` in this run (what restarting them costs at the least).

Usage::

    PYTHONPATH=. .venv/bin/python bench/ha.py [--guests 10 100]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

import engine.handlers
import engine.tables  # noqa: F401  (every table on the metadata)
from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.drivers.factory import DriverCache
from engine.drivers.libvirt import ConnectionPool, write_test_host
from engine.ha import operator
from engine.ha.agent import HaAgent
from engine.ha.config import HaConfig
from engine.ha.models import HaItem, HaItemKind, HaStep
from engine.inventory.models import AllocationState, Cluster, Host, Pod, Zone
from engine.jobs.worker import Worker
from engine.lifecycle import Action, State
from engine.schema import upgrade
from engine.scope import Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import AccountType, LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy
from engine.tenancy.quotas import QuotaService
from engine.tenancy.service import TenancyService

HOSTS = 4


def build(database: Database, directory: Path, pid_file: Path) -> tuple[Scope, dict[str, str]]:
    """Tenancy, one zone of HOSTS test hosts (host-1 fenced by the process fencer)."""
    hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024))
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        account = tenancy.create_account(system, "bench", root.id, AccountType.USER)
        user = tenancy.create_user(system, account.id, "bench", "bench-password")
        quotas = QuotaService(session)
        for resource in (ResourceType.INSTANCES, ResourceType.CPU, ResourceType.MEMORY):
            quotas.set_limit(system, LimitOwner.ACCOUNT, account.id, resource, -1)
        zone = Zone(name="z1")
        session.add(zone)
        session.flush()
        pod = Pod(zone_id=zone.id, name="p1")
        session.add(pod)
        session.flush()
        cluster = Cluster(
            pod_id=pod.id, name="c1", hypervisor_type="test", cpu_overprovisioning=4.0
        )
        session.add(cluster)
        session.flush()
        ids = {}
        for index in range(1, HOSTS + 1):
            name = f"host-{index}"
            uri = write_test_host(directory / f"{name}.xml", hostname=name, cpu_cores=64,
                                  cpu_mhz=2400, memory_mib=262144, pools=[])  # fmt: skip
            host = Host(cluster_id=cluster.id, name=name, uri=uri, hypervisor_type="test",
                        cpu_cores=64, cpu_mhz=2400, memory_mib=262144)  # fmt: skip
            session.add(host)
            session.flush()
            ids[name] = host.id
        operator.set_fence_config(session, "host-1", "process", {"pid_file": str(pid_file)})
        scope = CredentialService(session, hasher).scope_for_user_id(user.id)
    return scope, ids


def wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def states(database: Database) -> dict[str, tuple[str, str | None]]:
    with database.transaction() as session:
        return {
            c.id: (c.state, c.host_id)
            for c in session.scalars(sa.select(Compute).where(Compute.state != "deleted"))
        }


def run(guests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="concord-bench-ha-") as tmp:
        directory = Path(tmp)
        machine = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
        )
        pid_file = directory / "host-1.pid"
        pid_file.write_text(str(machine.pid))
        database = Database(f"sqlite:///{directory / 'bench.sqlite'}")
        upgrade(database)
        scope, ids = build(database, directory, pid_file)
        pool = ConnectionPool()
        drivers = DriverCache(pool)
        worker = Worker(database, drivers, poll_interval=0.01)
        worker_thread = worker.start_thread()
        config = HaConfig()
        agent = HaAgent(database, drivers, config, worker_id="bench")
        try:
            with database.transaction() as session:
                for name, host_id in ids.items():
                    if name != "host-1":
                        session.get(Host, host_id).allocation_state = AllocationState.DISABLED  # type: ignore[union-attr]
                service = ComputeService(session)
                for index in range(guests):
                    service.create(scope, name=f"g{index}", vcpus=1, memory_mib=64,
                                   ha_enabled=True, start=False)  # fmt: skip
            wait(lambda: {s for s, _ in states(database).values()} == {State.STOPPED.value},
                 600, "the guests to be created")  # fmt: skip
            # Baseline: the same worker starts the same guests from stopped.
            started = time.monotonic()
            with database.transaction() as session:
                service = ComputeService(session)
                for compute_id in states(database):
                    service.perform(scope, compute_id, Action.START)
            wait(lambda: {s for s, _ in states(database).values()} == {State.RUNNING.value},
                 600, "the guests to start")  # fmt: skip
            baseline = time.monotonic() - started
            with database.transaction() as session:
                for host_id in ids.values():
                    session.get(Host, host_id).allocation_state = AllocationState.ENABLED  # type: ignore[union-attr]
            # From here on the job worker polls as ``concord worker`` does by
            # default (once a second when idle), not as eagerly as for the baseline.
            worker.stop()
            worker_thread.join()
            worker = Worker(database, drivers, poll_interval=1.0)
            worker_thread = worker.start_thread()
            agent.start()
            time.sleep(2 * config.check_interval)  # the monitor has seen every host up
            uri = f"test://{directory / 'host-1.xml'}"
            t0 = time.monotonic()
            (directory / "host-1.xml").unlink()
            pool.close(uri)

            def declared() -> bool:
                with database.transaction() as session:
                    return bool(
                        session.scalar(sa.select(HaItem.id).where(HaItem.kind == HaItemKind.HOST))
                    )

            wait(declared, 120, "the host to be declared down")
            detected = time.monotonic() - t0

            def all_back() -> bool:
                # One cheap count, so that measuring does not slow what it measures.
                with database.transaction() as session:
                    left = session.scalar(
                        sa.select(sa.func.count())
                        .select_from(Compute)
                        .where(
                            Compute.state != State.DELETED.value,
                            sa.or_(
                                Compute.state != State.RUNNING.value,
                                Compute.host_id == ids["host-1"],
                            ),
                        )
                    )
                return left == 0

            wait(all_back, 600, "every guest to run elsewhere")
            total = time.monotonic() - t0
            with database.transaction() as session:
                item = session.scalar(sa.select(HaItem).where(HaItem.kind == HaItemKind.HOST))
                assert item is not None
                wait(lambda: _done(database), 30, "the host item to end")
        finally:
            agent.stop()
            worker.stop()
            worker_thread.join()
            drivers.close()
            pool.close_all()
            machine.kill()
            machine.wait()
            database.dispose()
    return {
        "detection": detected,
        "recovery": total - detected,
        "total": total,
        "baseline": baseline,
        "down_after": config.down_after,
    }


def _done(database: Database) -> bool:
    with database.transaction() as session:
        return (
            session.scalar(sa.select(HaItem.step).where(HaItem.kind == HaItemKind.HOST))
            is HaStep.DONE
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, nargs="+", default=[10, 100])
    args = parser.parse_args()
    config = HaConfig()
    print(
        f"thresholds: check_interval={config.check_interval:g}s probe_timeout="
        f"{config.probe_timeout:g}s suspect_after={config.suspect_after:g}s "
        f"down_after={config.down_after:g}s fence_timeout={config.fence_timeout:g}s "
        f"restarts_per_host={config.restarts_per_host} restart_threads={config.restart_threads}"
    )
    print("| guests | detection | fence + recovery | total | total / down_after "
          "| baseline start | recovery / baseline |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for guests in args.guests:
        r = run(guests)
        print(
            f"| {guests} | {r['detection']:.2f} s | {r['recovery']:.2f} s | {r['total']:.2f} s "
            f"| {r['total'] / r['down_after']:.2f} | {r['baseline']:.2f} s "
            f"| {r['recovery'] / r['baseline']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
