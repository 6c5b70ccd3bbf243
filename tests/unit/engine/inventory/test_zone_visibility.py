"""Which zones a caller sees: enabled ones, and none dedicated to another owner.

A zone dedicated to an account or a domain serves only them
(engine.allocation.policy); to anyone else it is a zone that does not exist,
in every lookup: the list, by id, by name, and the default zone. Root
administrators see every zone. Real tenancy rows on SQLite and MariaDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pytest
from sqlalchemy.orm import Session

from engine.allocation.dedication import DedicationService
from engine.catalog import lookups
from engine.db import Database
from engine.drivers.base import HypervisorDriver
from engine.errors import CapacityUnavailable, NotFound
from engine.inventory.service import InventoryService
from engine.scope import Role, Scope
from engine.tenancy.models import AccountType, Domain
from engine.tenancy.service import TenancyService


def _no_host(uri: str) -> HypervisorDriver:
    raise AssertionError(f"no host is opened here ({uri})")


def _inventory(session: Session) -> InventoryService:
    return InventoryService(session, _no_host)


@dataclass
class World:
    system: Scope
    users: dict[str, Scope]
    zones: dict[str, str]


def _user(name: str, account_id: str, domain: Domain) -> Scope:
    return Scope(
        user_id=f"u-{name}",
        username=name,
        account_id=account_id,
        domain_id=domain.id,
        domain_path=domain.path,
        role=Role.USER,
    )


@pytest.fixture
def world(database: Database) -> World:
    """Zones ``team`` (dedicated to domain team), ``alice`` (to alice's account), ``open``.

    alice and bob are in team, carol in team's sub-domain, dave in ROOT. The
    dedicated zones are created first, so they would be everyone's default.
    """
    with database.transaction() as session:
        tenancy = TenancyService(session)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        team = tenancy.create_domain(system, "team", root.id)
        sub = tenancy.create_domain(system, "sub", team.id)
        users = {}
        for name, domain in (("alice", team), ("bob", team), ("carol", sub), ("dave", root)):
            account = tenancy.create_account(system, name, domain.id, AccountType.USER)
            users[name] = _user(name, account.id, domain)
        inventory = _inventory(session)
        zones = {name: inventory.create_zone(system, name).id for name in ("team", "alice")}
        zones["open"] = inventory.create_zone(system, "open").id
        dedications = DedicationService(session)
        dedications.dedicate(system, "zone", zones["team"], domain_id=team.id)
        dedications.dedicate(system, "zone", zones["alice"], account_id=users["alice"].account_id)
        return World(system, users, zones)


SEEN = {
    "alice": ["team", "alice", "open"],
    "bob": ["team", "open"],
    "carol": ["team", "open"],  # a domain's dedication serves the domains below it
    "dave": ["open"],
}


@pytest.mark.parametrize("user", sorted(SEEN))
def test_each_caller_sees_the_zones_that_serve_it_and_no_other(
    database: Database, world: World, user: str
) -> None:
    scope = world.users[user]
    with database.transaction() as session:
        inventory = _inventory(session)
        assert [z.name for z in inventory.list_zones(scope)] == SEEN[user]
        assert inventory.default_zone(scope).name == SEEN[user][0]
        assert lookups.find_zone(session, scope, None).name == SEEN[user][0]
        for name, zone_id in world.zones.items():
            if name in SEEN[user]:
                assert inventory.get_zone(scope, zone_id).name == name
                assert inventory.find_zone(scope, name).id == zone_id
                assert lookups.find_zone(session, scope, zone_id).name == name
                continue
            # Exactly as a zone that does not exist.
            for lookup, key in (
                (inventory.get_zone, zone_id),
                (inventory.find_zone, name),
                (partial(lookups.find_zone, session), zone_id),
            ):
                with pytest.raises(NotFound) as hidden:
                    lookup(scope, key)
                with pytest.raises(NotFound) as missing:
                    inventory.find_zone(scope, "no-such-zone")
                assert type(hidden.value) is type(missing.value)


def test_root_sees_every_zone(database: Database, world: World) -> None:
    with database.transaction() as session:
        inventory = _inventory(session)
        assert [z.name for z in inventory.list_zones(world.system)] == ["team", "alice", "open"]


def test_with_every_zone_dedicated_to_others_there_is_no_default(
    database: Database, world: World
) -> None:
    with database.transaction() as session:
        DedicationService(session).dedicate(
            world.system, "zone", world.zones["open"], account_id=world.users["bob"].account_id
        )
    with database.transaction() as session:
        with pytest.raises(CapacityUnavailable):
            lookups.find_zone(session, world.users["dave"], None)
        assert _inventory(session).list_zones(world.users["dave"]) == []
