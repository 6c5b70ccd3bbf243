"""Each account's default network per zone, and computes that join it (engine.network.defaults).

A compute given no network joins its owner's default network of its zone, as
CloudStack and OpenStack attach one; tenants never join each other's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from unit.engine.cloud import Cloud, build_cloud

from engine.compute.interfaces import InterfaceService
from engine.compute.service import ComputeService
from engine.db import Database
from engine.errors import NotFound
from engine.network.defaults import DefaultNetworks
from engine.network.models import NetworkInterface
from engine.network.service import NetworkService
from engine.templates.service import TemplateService
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def _network(cloud: Cloud, user: str, name: str, cidr: str) -> str:
    with cloud.database.transaction() as session:
        network, _job = NetworkService(session).create_network(
            cloud.scopes[user], name=name, cidr=cidr
        )
        return network.id


def _create(cloud: Cloud, user: str = "alice") -> str:
    with cloud.database.transaction() as session:
        compute, _job = ComputeService(session).create(
            cloud.scopes[user], name="vm", offering_id=cloud.ids["small"]
        )
        InterfaceService(session).join_default_network(cloud.scopes[user], compute)
        return compute.id


def _interfaces(cloud: Cloud, compute_id: str) -> list[NetworkInterface]:
    with cloud.database.transaction() as session:
        rows = session.scalars(
            sa.select(NetworkInterface).where(NetworkInterface.compute_id == compute_id)
        )
        return list(rows)


def test_a_compute_joins_its_owner_s_default_network(cloud: Cloud) -> None:
    private = _network(cloud, "alice", "private", "10.7.0.0/24")
    cloud.run_jobs()
    assert _interfaces(cloud, _create(cloud)) == []  # no default yet: as before
    with cloud.database.transaction() as session:
        DefaultNetworks(session).set(cloud.scopes["alice"], private)
    compute = _create(cloud)
    cloud.run_jobs()
    (nic,) = _interfaces(cloud, compute)
    assert nic.network_id == private and nic.ip_address and nic.ip_address.startswith("10.7.0.")
    assert cloud.compute(compute).state == "running"


def test_the_default_is_per_account(cloud: Cloud) -> None:
    private = _network(cloud, "alice", "private", "10.7.0.0/24")
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        DefaultNetworks(session).set(cloud.scopes["alice"], private)
        # Another tenant cannot make alice's network its default (nor learn it exists).
        with pytest.raises(NotFound):
            DefaultNetworks(session).set(cloud.scopes["carol"], private)
    assert _interfaces(cloud, _create(cloud, "carol")) == []


def test_a_default_replaced_cleared_or_deleted(cloud: Cloud) -> None:
    first = _network(cloud, "alice", "first", "10.7.0.0/24")
    second = _network(cloud, "alice", "second", "10.8.0.0/24")
    cloud.run_jobs()
    scope = cloud.scopes["alice"]
    with cloud.database.transaction() as session:
        DefaultNetworks(session).set(scope, first)
        DefaultNetworks(session).set(scope, second)
    (nic,) = _interfaces(cloud, _create(cloud))
    assert nic.network_id == second
    with cloud.database.transaction() as session:
        assert DefaultNetworks(session).clear(scope, second)
        assert not DefaultNetworks(session).clear(scope, second)
        DefaultNetworks(session).set(scope, first)
        NetworkService(session).delete(scope, first)
    cloud.run_jobs()
    assert _interfaces(cloud, _create(cloud)) == []  # a deleted default is none


def test_a_compute_launched_from_parameters_joins_it_when_given_no_network(cloud: Cloud) -> None:
    private = _network(cloud, "alice", "private", "10.7.0.0/24")
    other = _network(cloud, "alice", "other", "10.9.0.0/24")
    cloud.run_jobs()
    scope = cloud.scopes["alice"]
    with cloud.database.transaction() as session:
        DefaultNetworks(session).set(scope, private)
        plain, _ = TemplateService(session).launch_compute(
            scope, name="plain", parameters={"offering_id": cloud.ids["small"]}
        )
        given, _ = TemplateService(session).launch_compute(
            scope,
            name="given",
            parameters={"offering_id": cloud.ids["small"], "networks": [{"network_id": other}]},
        )
        plain_id, given_id = plain.id, given.id
    assert [n.network_id for n in _interfaces(cloud, plain_id)] == [private]
    assert [n.network_id for n in _interfaces(cloud, given_id)] == [other]
