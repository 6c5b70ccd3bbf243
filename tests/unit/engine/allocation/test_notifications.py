"""Notification thresholds: an alert while a share is above its threshold, cleared after.

Inventories are rows (:mod:`unit.engine.allocation.rows`); the alerts are
the real ones of :mod:`engine.events.alerts`, with their events.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.engine.allocation.rows import store_inventory
from unit.engine.allocation.test_policy import host

from engine.allocation.notifications import ThresholdService, alert_key, measure, watch_capacity
from engine.db import Database
from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.events.alerts import active_alerts
from engine.events.models import Event
from engine.inventory.models import Cluster, Host, StoragePool
from engine.scope import Role, Scope
from engine.tenancy.service import TenancyService


def system(database: Database) -> Scope:
    with database.transaction() as session:
        return Scope.system(TenancyService(session).ensure_root())


def load(database: Database, host_id: str, vcpus: int) -> None:
    with database.transaction() as session:
        session.execute(sa.update(Host).where(Host.id == host_id).values(allocated_vcpus=vcpus))


def watch(database: Database, running: dict[str, tuple[int, int]] | None = None) -> list[str]:
    with database.transaction() as session:
        return watch_capacity(session, running or {}).active


def test_an_allocated_share_above_its_threshold_raises_and_clears(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    zone = store_inventory(database, [host("h1", "c1", load=4), host("h2", "c1")])
    root = system(database)
    with database.transaction() as session:
        threshold = ThresholdService(session).set(root, "cluster", "c1", "cpu", "allocated", 0.5)
        key = alert_key(threshold)
        zone_key = alert_key(
            ThresholdService(session).set(root, "zone", zone, "cpu", "allocated", 0.2)
        )
    # 4 of 16 vCPUs: 25%, above the zone's 20%, not above the cluster's 50%.
    assert watch(database) == [zone_key]
    load(database, "h2", 5)  # 9 of 16: 56%
    with caplog.at_level(logging.WARNING, logger="engine.events.alerts"):
        assert watch(database) == sorted([key, zone_key])
    assert any(key in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    with database.transaction() as session:
        [alert] = [a for a in active_alerts(session, source="capacity") if a.key == key]
        assert (alert.subject_type, alert.subject_id) == ("cluster", "c1")
        assert "56%" in alert.message and "50%" in alert.message
    assert watch(database) == sorted([key, zone_key])  # still one alert per key
    load(database, "h2", 4)  # 8 of 16: exactly the threshold, not above it
    assert watch(database) == [zone_key]
    with database.transaction() as session:
        assert [a.key for a in active_alerts(session)] == [zone_key]
        events = [
            (e.type, e.payload["key"])
            for e in session.scalars(sa.select(Event).order_by(Event.seq))
            if e.type.startswith("alert.")
        ]
    assert events == [
        ("alert.raised", zone_key),
        ("alert.raised", key),
        ("alert.cleared", key),
    ]


def test_used_capacity_is_what_running_guests_use(database: Database) -> None:
    store_inventory(database, [host("h1", "c1", load=8)])
    root = system(database)
    with database.transaction() as session:
        key = alert_key(ThresholdService(session).set(root, "host", "h1", "cpu", "used", 0.5))
    assert watch(database) == []  # all allocated, nothing running
    assert watch(database, {"h1": (5, 0)}) == [key]
    assert watch(database, {"h1": (4, 0)}) == []


def test_memory_and_pool_storage_thresholds(database: Database) -> None:
    store_inventory(database, [host("h1", "c1")])
    root = system(database)
    with database.transaction() as session:
        session.execute(sa.update(Host).values(allocated_memory_mib=7000))
        # Shares are of the limit after over-provisioning; 1.0 keeps it the size.
        session.execute(sa.update(Cluster).values(storage_overprovisioning=1.0))
        pool = StoragePool(name="p1", pool_name="p1", cluster_id="c1", capacity_bytes=100)
        session.add(pool)
        session.flush()
        pool.allocated_bytes = 91
        service = ThresholdService(session)
        memory = alert_key(service.set(root, "host", "h1", "memory", "allocated", 0.8))
        storage = alert_key(service.set(root, "pool", pool.id, "storage", "allocated", 0.9))
        pool_id = pool.id
    assert watch(database) == sorted([memory, storage])
    with database.transaction() as session:
        session.execute(sa.update(StoragePool).values(allocated_bytes=10))
    assert watch(database) == [memory]
    with database.transaction() as session:
        [crossing] = [c for c in measure(session, {}) if c.threshold.target_id == pool_id]
        assert crossing.share == pytest.approx(0.1)


def test_removing_a_threshold_or_its_target_clears_its_alert(database: Database) -> None:
    store_inventory(database, [host("h1", "c1", load=8), host("h2", "c1", load=8)])
    root = system(database)
    with database.transaction() as session:
        service = ThresholdService(session)
        one = alert_key(service.set(root, "host", "h1", "cpu", "allocated", 0.5))
        two = alert_key(service.set(root, "host", "h2", "cpu", "allocated", 0.5))
    assert watch(database) == sorted([one, two])
    with database.transaction() as session:
        ThresholdService(session).remove(root, "host", "h1", "cpu", "allocated")
        session.execute(sa.delete(Host).where(Host.id == "h2"))
    assert watch(database) == []
    with database.transaction() as session:
        assert active_alerts(session) == []


def test_setting_again_replaces_the_share(database: Database) -> None:
    store_inventory(database, [host("h1", "c1", load=6)])
    root = system(database)
    with database.transaction() as session:
        ThresholdService(session).set(root, "host", "h1", "cpu", "allocated", 0.5)
        ThresholdService(session).set(root, "host", "h1", "cpu", "allocated", 0.9)
        [threshold] = ThresholdService(session).list(root)
        assert threshold.share == 0.9
    assert watch(database) == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("rack", "h1", "cpu", "allocated", 0.5), InvalidInput),
        (("host", "h1", "disk", "allocated", 0.5), InvalidInput),
        (("host", "h1", "cpu", "reserved", 0.5), InvalidInput),
        (("host", "h1", "cpu", "allocated", 0), InvalidInput),
        (("host", "h1", "cpu", "allocated", 1.5), InvalidInput),
        (("host", "h1", "cpu", "allocated", True), InvalidInput),
        (("host", "nope", "cpu", "allocated", 0.5), NotFound),
    ],
)
def test_bad_thresholds_are_refused_and_change_nothing(
    database: Database, args: tuple[str, str, str, str, float], error: type[Exception]
) -> None:
    store_inventory(database, [host("h1", "c1")])
    root = system(database)
    with database.transaction() as session:
        with pytest.raises(error):
            ThresholdService(session).set(root, *args)
        assert ThresholdService(session).list(root) == []


def test_only_root_administrators_set_thresholds(database: Database) -> None:
    store_inventory(database, [host("h1", "c1")])
    with database.transaction() as session:
        root = TenancyService(session).ensure_root()
        domain_admin = Scope(None, "u", "acct", root.id, root.path, Role.DOMAIN_ADMIN)
        service = ThresholdService(session)
        with pytest.raises(PermissionDenied):
            service.set(domain_admin, "host", "h1", "cpu", "allocated", 0.5)
        with pytest.raises(PermissionDenied):
            service.list(domain_admin)
        with pytest.raises(NotFound):
            service.remove(Scope.system(root), "host", "h1", "cpu", "allocated")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    loads=st.lists(st.integers(0, 8), min_size=1, max_size=4),
    share=st.floats(0.05, 1.0),
    steps=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 8)), max_size=6),
)
def test_an_alert_is_active_exactly_while_the_share_is_above(
    fresh_database: object, loads: list[int], share: float, steps: list[tuple[int, int]]
) -> None:
    database = fresh_database()  # type: ignore[operator]
    hosts = [host(f"h{i}", "c1", load=load) for i, load in enumerate(loads)]
    store_inventory(database, hosts)
    root = system(database)
    with database.transaction() as session:
        key = alert_key(
            ThresholdService(session).set(root, "cluster", "c1", "cpu", "allocated", share)
        )
    current = list(loads)
    for index, vcpus in [(0, loads[0]), *steps]:
        index %= len(current)
        current[index] = vcpus
        load(database, f"h{index}", vcpus)
        above = sum(current) / (8 * len(current)) > share
        assert watch(database) == ([key] if above else [])
        with database.transaction() as session:
            assert [a.key for a in active_alerts(session)] == ([key] if above else [])
