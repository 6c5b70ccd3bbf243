"""Each zone's stored host count equals a recount, and its hosts are numbered 0..count-1.

``Zone.host_count`` is the range ``random`` placement draws in, and
``Host.zone_slot`` the number it draws (engine/inventory/host_counts.py,
engine/inventory/zone_slots.py): a count too low, or a number missing or
past the count, would leave hosts out of every draw or make some draws find
none. A Hypothesis state machine walks arbitrary sequences of host adds
(through the inventory service and a libvirt test host, as ORM rows, and in
bulk), removes (through the service and as ORM deletes), moves to another
zone's cluster, several changes in one flush, changes rolled back, and
adds, removes and moves run together in threads, on SQLite and MariaDB;
after every step each zone's stored count equals a recount and its hosts
hold exactly the numbers 0..count-1. Concurrent adds and removes keep both
exact too, and the recount finds and corrects a count or numbers that were
tampered with.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import Session

from engine.db import Database, new_id
from engine.drivers.libvirt import ConnectionPool, LibvirtDriver, write_test_host
from engine.inventory.host_counts import host_count_drift, insert_hosts, recount_zone_hosts
from engine.inventory.models import AllocationState, Cluster, Host, HostState, Pod, Zone
from engine.inventory.service import InventoryService
from engine.scope import Scope

ZONES = 3
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: Names unique across every example of a test run (rows of earlier examples stay).
_serial = count()


def _zones(database: Database, tag: str, how_many: int) -> list[tuple[str, str]]:
    """``how_many`` zones, each with a pod and a cluster: ``[(zone_id, cluster_id)]``."""
    made = []
    with database.transaction() as session:
        for number in range(how_many):
            zone = Zone(id=new_id(), name=f"{tag}-z{number}")
            pod = Pod(id=new_id(), zone_id=zone.id, name="pod")
            cluster = Cluster(id=new_id(), pod_id=pod.id, name="c", hypervisor_type="test")
            # One flush with the zone itself: its count starts on the new object.
            session.add_all([zone, pod, cluster])
            made.append((zone.id, cluster.id))
    return made


def _row(cluster_id: str) -> Host:
    number = next(_serial)
    return Host(
        cluster_id=cluster_id,
        name=f"row-{number}",
        uri=f"test:///row-{number}",
        hypervisor_type="test",
        cpu_cores=8,
        cpu_mhz=2000,
        memory_mib=8192,
        created=EPOCH + dt.timedelta(seconds=number),
    )


def _stored_and_counted(session: Session, zone_ids: list[str]) -> dict[str, tuple[int, int]]:
    stored = dict(
        session.execute(sa.select(Zone.id, Zone.host_count).where(Zone.id.in_(zone_ids))).all()
    )
    counted = dict(
        session.execute(
            sa.select(Host.zone_id, sa.func.count())
            .where(Host.zone_id.in_(zone_ids))
            .group_by(Host.zone_id)
        ).all()
    )
    return {z: (stored[z], counted.get(z, 0)) for z in zone_ids}


def _slots(session: Session, zone_ids: list[str]) -> dict[str, list[int | None]]:
    """Each zone's hosts' numbers, sorted (``None`` sorted first, as -1)."""
    found: dict[str, list[int | None]] = {z: [] for z in zone_ids}
    for zone_id, slot in session.execute(
        sa.select(Host.zone_id, Host.zone_slot).where(Host.zone_id.in_(zone_ids))
    ):
        found[zone_id].append(slot)
    return {z: sorted(slots, key=lambda n: -1 if n is None else n) for z, slots in found.items()}


def _in_threads(*works: Callable[[], None]) -> None:
    """Run each function in a thread of its own, started together; raise what any raised."""
    start = threading.Barrier(len(works))
    errors: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:  # reported by the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


class HostCountWalk(RuleBasedStateMachine):
    """Adds, removes and moves of hosts; after each, every stored count equals a recount."""

    database: Database
    root: Scope
    directory: Path
    pool: ConnectionPool

    def __init__(self) -> None:
        super().__init__()
        self.zones = _zones(self.database, f"walk{next(_serial)}", ZONES)
        self.cluster_of = dict(self.zones)
        self.zone_of = {cluster: zone for zone, cluster in self.zones}
        #: The hosts this example made, by id, with the zone each is in now.
        self.hosts: dict[str, str] = {}

    def _inventory(self, session: Session) -> InventoryService:
        return InventoryService(session, lambda uri: LibvirtDriver(uri, self.pool))

    @rule(zone=st.integers(0, ZONES - 1))
    def add_through_the_service(self, zone: int) -> None:
        zone_id, cluster_id = self.zones[zone]
        name = f"svc-{next(_serial)}"
        uri = write_test_host(
            self.directory / f"{name}.xml",
            hostname=name,
            cpu_cores=4,
            cpu_mhz=2000,
            memory_mib=4096,
            pools=[("local", 10, f"/srv/{name}")],
        )
        with self.database.transaction() as session:
            host = self._inventory(session).add_host(self.root, cluster_id, uri)
            self.hosts[host.id] = zone_id

    @rule(zone=st.integers(0, ZONES - 1), how_many=st.integers(1, 3))
    def add_rows(self, zone: int, how_many: int) -> None:
        zone_id, cluster_id = self.zones[zone]
        with self.database.transaction() as session:
            rows = [_row(cluster_id) for _ in range(how_many)]
            session.add_all(rows)
            session.flush()
            self.hosts.update(dict.fromkeys((h.id for h in rows), zone_id))

    @rule(zones=st.lists(st.integers(0, ZONES - 1), min_size=1, max_size=4))
    def add_in_bulk(self, zones: list[int]) -> None:
        rows = []
        for zone in zones:
            zone_id, cluster_id = self.zones[zone]
            number = next(_serial)
            rows.append(
                {
                    "id": new_id(),
                    "cluster_id": cluster_id,
                    "zone_id": zone_id,
                    "name": f"bulk-{number}",
                    "uri": f"qemu+ssh://bulk-{number}/system",
                    "hypervisor_type": "test",
                    "cpu_cores": 8,
                    "cpu_mhz": 2000,
                    "memory_mib": 8192,
                    "cpu_limit": 8,
                    "memory_limit": 8192,
                    "state": HostState.UP,
                    "allocation_state": AllocationState.ENABLED,
                    "tags": "",
                    "ha_reserved": False,
                    "created": EPOCH + dt.timedelta(seconds=number),
                }
            )
        with self.database.transaction() as session:
            insert_hosts(session, rows)
        self.hosts.update({row["id"]: row["zone_id"] for row in rows})

    @precondition(lambda self: self.hosts)
    @rule(data=st.data(), through_service=st.booleans())
    def remove(self, data: st.DataObject, through_service: bool) -> None:
        host_id = data.draw(st.sampled_from(sorted(self.hosts)))
        with self.database.transaction() as session:
            if through_service:
                self._inventory(session).remove_host(self.root, host_id)
            else:
                session.delete(session.get_one(Host, host_id))
        del self.hosts[host_id]

    @precondition(lambda self: self.hosts)
    @rule(data=st.data(), zone=st.integers(0, ZONES - 1), expired=st.booleans())
    def move(self, data: st.DataObject, zone: int, expired: bool) -> None:
        host_id = data.draw(st.sampled_from(sorted(self.hosts)))
        zone_id, cluster_id = self.zones[zone]
        with self.database.transaction() as session:
            host = session.get_one(Host, host_id)
            if expired:  # as a host read before a commit: its zone is loaded by the change
                session.expire(host)
            host.cluster_id = cluster_id
        self.hosts[host_id] = zone_id

    @precondition(lambda self: self.hosts)
    @rule(data=st.data(), zone=st.integers(0, ZONES - 1), commit=st.booleans())
    def several_in_one_flush(self, data: st.DataObject, zone: int, commit: bool) -> None:
        """An add, a move and a remove flushed together; committed, or rolled back."""
        moved, removed = data.draw(
            st.lists(st.sampled_from(sorted(self.hosts)), min_size=2, max_size=2, unique=True)
            if len(self.hosts) > 1
            else st.just([next(iter(self.hosts)), None])
        )
        zone_id, cluster_id = self.zones[zone]
        session = self.database.session()
        try:
            added = _row(cluster_id)
            session.add(added)
            session.get_one(Host, moved).cluster_id = cluster_id
            if removed is not None:
                session.delete(session.get_one(Host, removed))
            session.flush()
            if not commit:
                session.rollback()
                return
            session.commit()
        finally:
            session.close()
        self.hosts[added.id] = zone_id
        self.hosts[moved] = zone_id
        if removed is not None:
            del self.hosts[removed]

    @precondition(lambda self: len(self.hosts) >= 2)
    @rule(data=st.data(), zones=st.lists(st.integers(0, ZONES - 1), min_size=2, max_size=2))
    def add_remove_and_move_in_threads(self, data: st.DataObject, zones: list[int]) -> None:
        """An add, a remove and a move, each its own transaction, in three threads at once."""
        removed, moved = data.draw(
            st.lists(st.sampled_from(sorted(self.hosts)), min_size=2, max_size=2, unique=True)
        )
        (add_zone, add_cluster), (move_zone, move_cluster) = (self.zones[z] for z in zones)
        added = _row(add_cluster)

        def add() -> None:
            with self.database.transaction() as session:
                session.add(added)

        def remove() -> None:
            with self.database.transaction() as session:
                session.delete(session.get_one(Host, removed))

        def move() -> None:
            with self.database.transaction() as session:
                session.get_one(Host, moved).cluster_id = move_cluster

        _in_threads(add, remove, move)
        self.hosts[added.id] = add_zone
        del self.hosts[removed]
        self.hosts[moved] = move_zone

    @invariant()
    def every_zone_numbers_its_hosts_0_to_count(self) -> None:
        zone_ids = [zone for zone, _cluster in self.zones]
        with self.database.transaction() as session:
            counts = dict(
                session.execute(
                    sa.select(Zone.id, Zone.host_count).where(Zone.id.in_(zone_ids))
                ).all()
            )
            slots = _slots(session, zone_ids)
        assert slots == {z: list(range(counts[z])) for z in zone_ids}

    @invariant()
    def stored_counts_equal_a_recount(self) -> None:
        zone_ids = [zone for zone, _cluster in self.zones]
        expected = {z: sum(1 for zone in self.hosts.values() if zone == z) for z in zone_ids}
        with self.database.transaction() as session:
            found = _stored_and_counted(session, zone_ids)
            assert host_count_drift(session) == {}
        assert found == {z: (n, n) for z, n in expected.items()}


def test_stored_counts_equal_a_recount_through_any_adds_removes_and_moves(
    database: Database, tenancy, tmp_path: Path
) -> None:
    pool = ConnectionPool()
    try:
        HostCountWalk.database = database
        HostCountWalk.root = tenancy.root
        HostCountWalk.directory = tmp_path
        HostCountWalk.pool = pool
        run_state_machine_as_test(
            HostCountWalk,
            settings=settings(
                max_examples=15,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            ),
        )
    finally:
        pool.close_all()


def test_concurrent_adds_and_removes_keep_the_count_exact(database: Database) -> None:
    """Writers in several threads, each its own transaction: the count is never lost."""
    [(zone_id, cluster_id)] = _zones(database, f"race{next(_serial)}", 1)
    with database.transaction() as session:
        doomed = [_row(cluster_id) for _ in range(6)]
        session.add_all(doomed)
        session.flush()
        doomed_ids = [h.id for h in doomed]
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(work: Callable[[Session], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait()
                for _ in range(3):
                    with database.transaction() as session:
                        work(session)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        return run

    def add(session: Session) -> None:
        session.add(_row(cluster_id))

    def remove_from(ids: list[str]) -> Callable[[Session], None]:
        return lambda session: session.delete(session.get_one(Host, ids.pop()))

    threads = [
        threading.Thread(target=writer(add)),
        threading.Thread(target=writer(add)),
        threading.Thread(target=writer(remove_from(doomed_ids[:3]))),
        threading.Thread(target=writer(remove_from(doomed_ids[3:]))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.transaction() as session:
        assert _stored_and_counted(session, [zone_id]) == {zone_id: (6, 6)}
        assert _slots(session, [zone_id]) == {zone_id: list(range(6))}


def test_the_recount_finds_and_renumbers_a_zone_whose_numbers_are_broken(
    database: Database,
) -> None:
    zones = _zones(database, f"slots{next(_serial)}", 2)
    (broken, broken_cluster), (right, right_cluster) = zones
    with database.transaction() as session:
        hosts = [_row(broken_cluster) for _ in range(3)]
        session.add_all([*hosts, _row(right_cluster)])
    with database.transaction() as session:
        # A writer that bypassed the inventory: a gap at 1, a number past the count.
        session.execute(sa.update(Host).where(Host.id == hosts[1].id).values(zone_slot=5))
    with database.transaction() as session:
        assert host_count_drift(session) == {broken: (3, 3)}
        loaded = session.get_one(Host, hosts[1].id)
        assert recount_zone_hosts(session) == {broken: (3, 3)}
        assert loaded.zone_slot == 1, "a host already in the session reads its new number"
    with database.transaction() as session:
        assert host_count_drift(session) == {}
        # Numbered again in (created, id) order, the other zone untouched.
        assert [session.get_one(Host, h.id).zone_slot for h in hosts] == [0, 1, 2]
        assert _slots(session, [broken, right]) == {broken: [0, 1, 2], right: [0]}


def test_a_host_that_leaves_gives_its_number_to_the_zones_last_host(database: Database) -> None:
    """The last-numbered host moves into the gap; the others keep theirs."""
    [(_zone, cluster_id), (_other, other_cluster)] = _zones(database, f"gap{next(_serial)}", 2)
    with database.transaction() as session:
        hosts = [_row(cluster_id) for _ in range(4)]
        session.add_all(hosts)
    with database.transaction() as session:
        numbers = {h.id: session.get_one(Host, h.id).zone_slot for h in hosts}
    assert sorted(numbers.values()) == [0, 1, 2, 3]
    by_number = {n: h for h, n in numbers.items()}
    with database.transaction() as session:
        session.delete(session.get_one(Host, by_number[1]))
    with database.transaction() as session:
        session.get_one(Host, by_number[0]).cluster_id = other_cluster
    with database.transaction() as session:
        # 3 took 1's number, then 2 took 0's: two hosts, numbered 0 and 1.
        assert session.get_one(Host, by_number[3]).zone_slot == 1
        assert session.get_one(Host, by_number[2]).zone_slot == 0
        assert session.get_one(Host, by_number[0]).zone_slot == 0, "first in its new zone"


def test_the_recount_finds_and_corrects_a_drifted_count(database: Database) -> None:
    zones = _zones(database, f"drift{next(_serial)}", 2)
    (wrong, wrong_cluster), (right, right_cluster) = zones
    with database.transaction() as session:
        session.add_all([_row(wrong_cluster), _row(wrong_cluster), _row(right_cluster)])
    with database.transaction() as session:
        # A writer that bypassed the inventory (a raw UPDATE), and a zone read before.
        stale = session.get_one(Zone, wrong)
        assert stale.host_count == 2
        session.execute(sa.update(Zone).where(Zone.id == wrong).values(host_count=7))
    with database.transaction() as session:
        assert host_count_drift(session) == {wrong: (7, 2)}
        assert host_count_drift(session, [right]) == {}
        stale = session.get_one(Zone, wrong)
        assert recount_zone_hosts(session) == {wrong: (7, 2)}
        assert stale.host_count == 2, "a zone already in the session reads the recount"
    with database.transaction() as session:
        assert host_count_drift(session) == {}
        assert recount_zone_hosts(session) == {}
        assert _stored_and_counted(session, [wrong, right]) == {wrong: (2, 2), right: (1, 1)}


def test_a_zone_in_the_session_reads_its_count_after_a_host_is_added(
    database: Database,
) -> None:
    [(zone_id, cluster_id)] = _zones(database, f"fresh{next(_serial)}", 1)
    with database.transaction() as session:
        zone = session.get_one(Zone, zone_id)
        assert zone.host_count == 0
        session.add(_row(cluster_id))
        session.flush()
        assert zone.host_count == 1


@pytest.mark.parametrize("hosts", [0, 3])
def test_a_zone_made_in_the_same_flush_as_its_hosts_counts_them(
    database: Database, hosts: int
) -> None:
    with database.transaction() as session:
        zone = Zone(id=new_id(), name=f"together{next(_serial)}")
        pod = Pod(id=new_id(), zone_id=zone.id, name="pod")
        cluster = Cluster(
            id=new_id(),
            pod_id=pod.id,
            name="c",
            hypervisor_type="test",
            # Read by limits' hook before the cluster's insert applies its defaults.
            cpu_overprovisioning=1.0,
            memory_overprovisioning=1.0,
        )
        session.add_all([zone, pod, cluster, *(_row(cluster.id) for _ in range(hosts))])
    with database.transaction() as session:
        assert _stored_and_counted(session, [zone.id]) == {zone.id: (hosts, hosts)}
