"""How many SQL statements a placement makes, and that none sorts the zone: counts, never timings.

A placement's cost at 10,000 hosts is its round trips and what each reads
(bench/allocation.py measures the time). Each built-in allocator places in
a fixed number of statements, whatever dedications and thresholds exist in
other zones or in this one: the zone's allocator, its dedications and its
threshold clusters are one statement (:meth:`ZonePolicy.load`), the best
host is read once, whole, then claimed. On SQLite, no statement
of a placement sorts its rows or scans the hosts table (``EXPLAIN QUERY
PLAN``): the hosts come off the zone's indexes in order.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from unit.engine.allocation.rows import store_inventory

from engine.allocation.allocators import BUILT_IN
from engine.allocation.configuration import AllocatorSettings
from engine.allocation.dedication import DedicationService
from engine.allocation.requests import ComputeRequest
from engine.allocation.service import AllocationService
from engine.db import Database
from engine.inventory.models import Cluster, Host
from engine.scope import Scope
from engine.tenancy.models import AccountType
from engine.tenancy.service import TenancyService

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: Statements per placement: the policy (for ``random`` with the zone's host
#: count), the best host read whole (``random``: the one it draws), the claim.
BUDGET = dict.fromkeys(BUILT_IN, 3)


@contextmanager
def counted(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run on *database* inside the block, with their parameters."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        # pysqlite's own BEGIN is not a round trip PyMySQL makes (as the OCCI count).
        if statement != "BEGIN":
            statements.append((statement, parameters))

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)


def _zone(database: Database, name: str, hosts: int) -> tuple[str, list[str]]:
    cluster = Cluster(id=f"{name}-c", pod_id=f"{name}-p")
    rows = [
        Host(
            id=f"{name}-h{i:02d}",
            name=f"{name}-h{i:02d}",
            cluster=cluster,
            cluster_id=cluster.id,
            cpu_cores=16,
            memory_mib=16384,
            allocated_vcpus=i % 8,
            allocated_memory_mib=0,
            tags="",
            created=EPOCH + dt.timedelta(seconds=i),
        )
        for i in range(hosts)
    ]
    return store_inventory(database, rows, zone_name=name), [h.id for h in rows]


@pytest.fixture
def crowded(fresh_database) -> tuple[Database, ComputeRequest]:
    """A zone of 60 hosts with a threshold cluster, beside a zone full of dedications."""
    database = fresh_database()
    zone_id, _ = _zone(database, "a", 60)
    _, elsewhere = _zone(database, "b", 10)
    with database.transaction() as session:
        tenancy = TenancyService(session)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        owner = tenancy.create_account(system, "owner", root.id, AccountType.USER)
        other = tenancy.create_account(system, "other", root.id, AccountType.USER)
        # A threshold the zone is far below: read with the policy, refuses nothing.
        AllocatorSettings(session).set_cluster_thresholds(system, "a-c", cpu=0.99, memory=None)
        dedications = DedicationService(session)
        # Another zone's dedications, to a domain (whose path the policy would
        # need) and to accounts: they cannot match this zone's hosts.
        dedications.dedicate(system, "cluster", "b-c", domain_id=root.id)
        for host_id in elsewhere[:5]:
            dedications.dedicate(system, "host", host_id, account_id=other.id)
        request = ComputeRequest(zone_id, 1, 64, account_id=owner.id, domain_id=root.id)
    return database, request


@pytest.mark.parametrize("name", list(BUILT_IN))
def test_a_placement_makes_a_fixed_number_of_statements(crowded, name: str) -> None:
    database, request = crowded
    with database.transaction() as session:
        service = AllocationService(session, allocator=BUILT_IN[name], rng=random.Random(3))
        service.place_compute(request)  # warm: compiled statements, the zone row
        with counted(database) as statements:
            host = service.place_compute(request)
        assert host.id.startswith("a-")
    assert statements, "the listener saw the placement"
    assert len(statements) <= BUDGET[name], "\n".join(
        f"{i + 1}: {s.splitlines()[0][:160]}" for i, (s, _) in enumerate(statements)
    )


@pytest.mark.parametrize("name", list(BUILT_IN))
def test_no_statement_of_a_placement_sorts_the_zone(crowded, name: str) -> None:
    database, request = crowded
    with database.transaction() as session:
        with counted(database) as statements:
            AllocationService(
                session, allocator=BUILT_IN[name], rng=random.Random(5)
            ).place_compute(request)
        # The DB-API connection runs EXPLAIN with the statement's own parameters.
        connection = session.connection().connection.driver_connection
        explained = 0
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = [
                row[-1] for row in connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
            # No sort of the rows, no scan of the hosts table: every host read
            # comes off an index (the threshold clusters' sums group a few
            # clusters' rows, which is not a sort of the zone).
            assert not any("FOR ORDER BY" in step for step in plan), (statement, plan)
            assert not any(step.startswith("SCAN hosts") for step in plan), (statement, plan)
            explained += 1
    assert explained >= 2, "the policy and the hosts' read were explained"


def test_random_reads_the_zones_stored_host_count_and_counts_no_host(crowded) -> None:
    """The range ``random`` draws in is the zone's stored count, not a walk of its hosts."""
    database, request = crowded
    with database.transaction() as session, counted(database) as statements:
        AllocationService(
            session, allocator=BUILT_IN["random"], rng=random.Random(7)
        ).place_compute(request)
    assert any("host_count" in statement for statement, _ in statements)
    assert not any("count(" in statement.lower() for statement, _ in statements), statements


def test_random_draws_a_host_by_its_number_in_the_zone_a_seek(crowded) -> None:
    """The draw seeks the (zone, number) index: no OFFSET, no walk of the zone's hosts."""
    database, request = crowded
    with database.transaction() as session:
        with counted(database) as statements:
            AllocationService(
                session, allocator=BUILT_IN["random"], rng=random.Random(9)
            ).place_compute(request)
        connection = session.connection().connection.driver_connection
        plans = [
            [row[-1] for row in connection.execute("EXPLAIN QUERY PLAN " + s, p)]
            for s, p in statements
            if s.lstrip().upper().startswith("SELECT")
        ]
    assert not any("OFFSET" in s.upper() for s, _ in statements), statements
    assert any(
        "USING INDEX uq_hosts_zone_slot (zone_id=? AND zone_slot=?)" in step
        for plan in plans
        for step in plan
    ), plans
