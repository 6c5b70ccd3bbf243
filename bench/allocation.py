"""Place-and-claim cost per allocator among 1,000 and 10,000 hosts, against a SQL floor.

The hosts are rows (zones, pods, clusters of 100 hosts, hosts with random
loads), not libvirt: placement reads the database only. For each host count
and each built-in allocator, the script times ``AllocationService.place_compute``
(candidates, filters, zone policy, ranking, the conditional-UPDATE claim),
each in its own committed transaction, and reports the median, and the
median of the same placements before their commit.

The baseline, measured in the same run on the same database, is the floor of
any correct placement: one indexed SELECT of the first host of the zone with
room, and the same conditional UPDATE claim, committed. The ratio
``allocator / floor`` is what the engine's pipeline costs on top of that.

With ``--openstack`` (and the ``bench`` extra installed), the same host
counts are then built as OpenStack placement resource providers, on the same
kind of database, and its candidates-plus-claim is timed in the same run
(:mod:`bench.openstack_placement`); the ratios are placement's median over
each allocator's.

Usage::

    PYTHONPATH=. .venv/bin/python bench/allocation.py [--hosts 1000 10000]
        [--placements 30] [--database URL] [--openstack]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa

import engine.tables  # noqa: F401  (every table on the metadata)
from engine.allocation.allocators import BUILT_IN
from engine.allocation.requests import ComputeRequest
from engine.allocation.service import AllocationService
from engine.db import Database, new_id
from engine.inventory.host_counts import insert_hosts
from engine.inventory.models import AllocationState, Cluster, Host, HostState, Pod, Zone
from engine.schema import upgrade

CORES, MEMORY_MIB, HOSTS_PER_CLUSTER = 32, 131072, 100
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def build(database: Database, hosts: int, seed: int = 7) -> str:
    """One zone of ``hosts`` host rows with random loads; return the zone's id."""
    rng = random.Random(seed)
    with database.transaction() as session:
        zone = Zone(id=new_id(), name=f"bench-{hosts}")
        pod = Pod(id=new_id(), zone_id=zone.id, name="pod")
        session.add_all([zone, pod])
        session.flush()
        rows: list[dict[str, object]] = []
        for index in range(0, hosts, HOSTS_PER_CLUSTER):
            cluster = Cluster(id=new_id(), pod_id=pod.id, name=f"c{index}", hypervisor_type="kvm")
            session.add(cluster)
            session.flush()
            for offset in range(min(HOSTS_PER_CLUSTER, hosts - index)):
                number = index + offset
                rows.append(
                    {
                        "id": new_id(),
                        "cluster_id": cluster.id,
                        "zone_id": zone.id,
                        "name": f"{zone.name}-h{number}",
                        "uri": f"qemu+ssh://h{number}/system",
                        "hypervisor_type": "kvm",
                        "cpu_cores": CORES,
                        "cpu_mhz": 2400,
                        "memory_mib": MEMORY_MIB,
                        # A bulk insert bypasses the ORM hook that stores
                        # host_limits (factors 1.0 here).
                        "cpu_limit": CORES,
                        "memory_limit": MEMORY_MIB,
                        "allocated_vcpus": rng.randint(0, CORES - 2),
                        "allocated_memory_mib": rng.randint(0, MEMORY_MIB // 2),
                        "state": HostState.UP,
                        "allocation_state": AllocationState.ENABLED,
                        "tags": "",
                        "ha_reserved": False,
                        "created": EPOCH + dt.timedelta(seconds=number),
                    }
                )
        # Through the inventory's bulk insert: it counts them in the zone's
        # stored host count (what ``random`` draws in), as add_host would.
        insert_hosts(session, rows)
        return zone.id


def floor_claim(database: Database, zone_id: str) -> None:
    """The least a correct placement does: find a host with room, claim it conditionally."""
    with database.transaction() as session:
        host_id = session.scalar(
            sa.select(Host.id)
            .where(
                Host.zone_id == zone_id,
                Host.state == HostState.UP,
                Host.allocated_vcpus + 1 <= Host.cpu_limit,
            )
            .order_by(Host.created, Host.id)
            .limit(1)
        )
        claimed = session.execute(
            sa.update(Host)
            .where(Host.id == host_id, Host.allocated_vcpus + 1 <= Host.cpu_cores)
            .values(allocated_vcpus=Host.allocated_vcpus + 1)
        )
        assert claimed.rowcount == 1  # type: ignore[attr-defined]


def engine_claim(
    database: Database, zone_id: str, allocator: str, inside: list[float]
) -> Callable[[], None]:
    """One placement in its own committed transaction; ``inside`` gets its time before commit."""

    def place() -> None:
        with database.transaction() as session:
            start = time.perf_counter()
            AllocationService(session, allocator=BUILT_IN[allocator]).place_compute(
                ComputeRequest(zone_id, 1, 64)
            )
            inside.append((time.perf_counter() - start) * 1000)

    return place


def median_ms(action: Callable[[], None], times: int) -> float:
    """The median of ``times`` timed calls, in milliseconds."""
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run(
    database_url: str | None,
    host_counts: Sequence[int],
    placements: int,
    openstack: bool = False,
) -> list[str]:
    """Measure every host count and allocator; return the printed lines."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    concord: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        url = database_url or f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        database = Database(url)
        upgrade(database)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        say(f"database {database.dialect}, load average {load:.1f}")
        for hosts in host_counts:
            zone_id = build(database, hosts)
            floor = median_ms(lambda zone=zone_id: floor_claim(database, zone), placements)
            say(f"{hosts} hosts: floor (indexed SELECT + claim) {floor:.2f} ms")
            for name in BUILT_IN:
                inside: list[float] = []
                cost = median_ms(engine_claim(database, zone_id, name, inside), placements)
                concord.setdefault(hosts, {})[name] = cost
                say(
                    f"  {name:16} {cost:8.2f} ms   {cost / floor:6.1f}x the floor   "
                    f"(before commit {statistics.median(inside):.2f} ms)"
                )
        database.dispose()
    if openstack:
        from bench import openstack_placement

        if not openstack_placement.available():
            say("openstack placement: not installed (pip install -e '.[bench]')")
            return lines
        kind = "sqlite" if database_url is None else database_url.split(":")[0]
        for hosts, cost in openstack_placement.medians_ms(host_counts, placements, database_url):
            say(
                f"{hosts} hosts: openstack placement candidates + claim {cost:.2f} ms "
                f"on {kind}; placement / Concord:"
            )
            for name, mine in concord[hosts].items():
                say(f"  {name:16} {cost / mine:8.1f}x")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--placements", type=int, default=30)
    parser.add_argument("--database", help="an empty database URL (default: a SQLite file)")
    parser.add_argument(
        "--openstack", action="store_true", help="also time OpenStack placement (the bench extra)"
    )
    args = parser.parse_args(argv)
    run(args.database, args.hosts, args.placements, args.openstack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
