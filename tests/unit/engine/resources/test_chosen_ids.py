"""Client-chosen ids belong to their account (engine.resources.ids), on SQLite and MariaDB.

Two tenants may choose the same id; whether another tenant chose it already
changes nothing either can observe. Within an account an id is taken once and
never reused. A chosen id is not the guest's UUID unless it is a UUID nobody
uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from unit.engine.cloud import Cloud, build_cloud

from engine.compute.service import ComputeService
from engine.db import Database
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.network.service import NetworkService
from engine.storage.service import StorageService
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def _network(cloud: Cloud, user: str, chosen: str | None, name: str = "lan") -> tuple[str, str]:
    with cloud.database.transaction() as session:
        network, _ = NetworkService(session).create_network(
            cloud.scopes[user], name=name, network_id=chosen
        )
        return network.id, network.public_id


def test_two_tenants_may_choose_the_same_id(cloud: Cloud) -> None:
    alice_row, alice_public = _network(cloud, "alice", "lan-1", "alice's")
    carol_row, carol_public = _network(cloud, "carol", "lan-1", "carol's")
    assert alice_public == carol_public == "lan-1"
    assert alice_row == "lan-1"  # free across the cloud: the row id is the chosen id
    assert str(uuid.UUID(carol_row)) == carol_row  # taken elsewhere: a server-side UUID
    with cloud.database.transaction() as session:
        networks = NetworkService(session)
        assert networks.get(cloud.scopes["alice"], "lan-1").name == "alice's"
        assert networks.get(cloud.scopes["carol"], "lan-1").name == "carol's"
        # carol's row id is hers alone.
        with pytest.raises(NotFound):
            networks.get(cloud.scopes["alice"], carol_row)
        # An administrator who sees both finds the row whose own id it is.
        assert networks.get(cloud.root, "lan-1").id == alice_row
        assert networks.get(cloud.root, carol_row).name == "carol's"


def test_another_tenant_s_server_id_can_be_chosen_without_learning_anything(cloud: Cloud) -> None:
    alice_row, _ = _network(cloud, "alice", None)
    carol_row, carol_public = _network(cloud, "carol", alice_row)
    assert carol_public == alice_row and carol_row != alice_row
    with cloud.database.transaction() as session:
        assert NetworkService(session).get(cloud.scopes["carol"], alice_row).id == carol_row
        assert NetworkService(session).get(cloud.scopes["alice"], alice_row).id == alice_row


def test_an_id_is_taken_once_per_account_and_never_reused(cloud: Cloud) -> None:
    row, _ = _network(cloud, "alice", "lan-1")
    with pytest.raises(AlreadyExists):
        _network(cloud, "alice", "lan-1")
    with pytest.raises(AlreadyExists):  # a row id of the account is taken too
        _network(cloud, "alice", _network(cloud, "alice", None, "other")[0])
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        NetworkService(session).delete(cloud.scopes["alice"], "lan-1")
    cloud.run_jobs()
    with pytest.raises(AlreadyExists):
        _network(cloud, "alice", "lan-1")
    # The same id in another account's volume table, or another table, is free.
    with cloud.database.transaction() as session:
        volume, _ = StorageService(session).create_volume(
            cloud.scopes["alice"], name="disk", size_gib=1, volume_id="lan-1"
        )
        assert volume.public_id == "lan-1"
    assert row == "lan-1"


@pytest.mark.parametrize("chosen", ["web-1", "im-7e6f1c2a-0b3d-11ef-9a4e-0242ac120002"])
def test_a_compute_s_guest_uuid_is_the_server_s_unless_a_free_uuid_is_chosen(
    cloud: Cloud, chosen: str
) -> None:
    given = str(uuid.uuid4()).upper()
    with cloud.database.transaction() as session:
        computes = ComputeService(session)
        scope = cloud.scopes["alice"]
        named, _ = computes.create(
            scope, name="a", offering_id=cloud.ids["small"], compute_id=chosen
        )
        uuid_named, _ = computes.create(
            scope, name="b", offering_id=cloud.ids["small"], compute_id=given
        )
        assert named.public_id == chosen and str(uuid.UUID(named.id)) == named.id
        assert uuid_named.id == uuid_named.public_id == given.lower()
        assert computes.get(scope, chosen).id == named.id


@pytest.mark.parametrize("chosen", ["", "-a", "a/b", "a" * 65, "caf\u00e9"])
def test_malformed_chosen_ids_are_refused(cloud: Cloud, chosen: str) -> None:
    with pytest.raises(InvalidInput):
        _network(cloud, "alice", chosen)
