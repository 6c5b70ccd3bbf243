"""Schema upgrades: idempotent, and safe when several processes start together."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from helpers import MARIADB_SERVER

import engine.tables  # noqa: F401  (every model on Base.metadata)
from engine.db import Base, Database
from engine.inventory.zone_slots import broken_slots
from engine.schema import alembic_config, current_revision, head_revision, is_current, upgrade


def test_upgrading_a_current_database_changes_nothing(database: Database) -> None:
    assert is_current(database)
    upgrade(database)
    assert current_revision(database) == head_revision()


@pytest.fixture
def empty_mariadb_url() -> Iterator[str]:
    """The URL of a new, empty MariaDB database of this test's own, dropped afterwards."""
    name = f"concord_schema_{os.getpid()}_{threading.get_ident()}"
    try:
        server = sa.create_engine(MARIADB_SERVER)
        with server.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except sa.exc.SQLAlchemyError as exc:
        pytest.skip(f"MariaDB not reachable at {MARIADB_SERVER}: {exc}")
    try:
        yield f"{MARIADB_SERVER}/{name}?charset=utf8mb4"
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no tables at all, on each back-end, of this test's own."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    else:
        url = request.getfixturevalue("empty_mariadb_url")
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.mark.mariadb
def test_concurrent_upgrades_of_an_empty_mariadb_database_both_succeed(
    empty_mariadb_url: str,
) -> None:
    # Two processes started together on an empty database (two ``concord serve``)
    # must not both create the tables: the named lock in upgrade() serialises them.
    databases = [Database(empty_mariadb_url) for _ in range(2)]
    errors: list[BaseException] = []

    def run(database: Database) -> None:
        try:
            upgrade(database)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(db,)) for db in databases]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert is_current(databases[0])
    finally:
        for db in databases:
            db.dispose()


def test_every_migration_downgrades_to_an_empty_database_and_upgrades_again(
    empty_database: Database,
) -> None:
    # An operator rolling back a release runs the downgrades: each must undo its
    # upgrade exactly, indexes and constraints included (MariaDB refuses to drop
    # an index a foreign key still uses), so that the chain can be applied again.
    upgrade(empty_database)
    command.downgrade(alembic_config(empty_database), "base")
    assert current_revision(empty_database) is None
    assert set(sa.inspect(empty_database.engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_database)
    assert current_revision(empty_database) == head_revision()
    with empty_database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_the_migrations_build_exactly_the_tables_the_models_declare(database: Database) -> None:
    # What `alembic revision --autogenerate` would write against a migrated
    # database: nothing. A model whose table no migration creates (or a
    # migration the models no longer match) fails here, on both back-ends;
    # so does a models module that engine.tables forgets to import.
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        assert compare_metadata(context, Base.metadata) == []


def _zones_with_hosts(database: Database, counts: dict[str, int]) -> None:
    """Zones (each with a pod and a cluster) and that many hosts in each, as raw rows.

    The hosts of a zone are created in reverse order of their ids, a
    second apart, so that (created, id) order is not id order.
    """
    tables = sa.MetaData()
    tables.reflect(database.engine, only=["zones", "pods", "clusters", "hosts"])
    zones, pods, clusters, hosts = (
        tables.tables[n] for n in ("zones", "pods", "clusters", "hosts")
    )
    now = sa.func.now()
    epoch = dt.datetime(2026, 1, 1)
    with database.engine.begin() as connection:
        for zone, count in counts.items():
            connection.execute(
                zones.insert().values(id=zone, name=zone, allocation_state="enabled", created=now)
            )
            connection.execute(
                pods.insert().values(
                    id=f"{zone}-p", zone_id=zone, name="p", allocation_state="enabled", created=now
                )
            )
            connection.execute(
                clusters.insert().values(
                    id=f"{zone}-c",
                    pod_id=f"{zone}-p",
                    name="c",
                    hypervisor_type="test",
                    cpu_overprovisioning=1.0,
                    memory_overprovisioning=1.0,
                    storage_overprovisioning=2.0,
                    allocation_state="enabled",
                    created=now,
                )
            )
            for number in range(count):
                connection.execute(
                    hosts.insert().values(
                        id=f"{zone}-h{number}",
                        cluster_id=f"{zone}-c",
                        zone_id=zone,
                        name=f"{zone}-h{number}",
                        uri=f"test:///{zone}-h{number}",
                        hypervisor_type="test",
                        arch="x86_64",
                        cpu_cores=4,
                        cpu_mhz=2000,
                        memory_mib=4096,
                        allocated_vcpus=0,
                        allocated_memory_mib=0,
                        cpu_limit=4,
                        memory_limit=4096,
                        state="up",
                        allocation_state="enabled",
                        tags="",
                        ha_reserved=False,
                        created=epoch - dt.timedelta(seconds=number),
                    )
                )


def test_the_zone_host_count_migration_counts_the_hosts_there_are(
    empty_database: Database,
) -> None:
    # 0025 adds zones.host_count (random placement's range): a zone upgraded
    # with hosts must start with their number, not 0, or its last hosts
    # would never be drawn.
    upgrade(empty_database, "0023")
    _zones_with_hosts(empty_database, {"z1": 3, "z2": 0, "z3": 1})
    upgrade(empty_database)
    with empty_database.engine.connect() as connection:
        counts = dict(connection.execute(sa.text("SELECT id, host_count FROM zones")).all())
    assert counts == {"z1": 3, "z2": 0, "z3": 1}


def test_the_zone_slot_migration_numbers_each_zones_hosts_from_0(
    empty_database: Database,
) -> None:
    # 0039 adds hosts.zone_slot (the number random placement draws): each
    # zone's hosts must hold exactly 0..count-1, in (created, id) order.
    upgrade(empty_database, "0033")
    _zones_with_hosts(empty_database, {"z1": 3, "z2": 0, "z3": 1})
    upgrade(empty_database)
    with empty_database.engine.connect() as connection:
        slots = dict(connection.execute(sa.text("SELECT id, zone_slot FROM hosts")).all())
    # Created in reverse order of their names: h2 first.
    assert slots == {"z1-h2": 0, "z1-h1": 1, "z1-h0": 2, "z3-h0": 0}
    with empty_database.transaction() as session:
        assert broken_slots(session) == set()
