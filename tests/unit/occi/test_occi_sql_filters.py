"""OCCI attribute filters in SQL agree with the in-memory matcher, on SQLite and MariaDB.

For arbitrary computes, volumes and networks (names differing only in case
or a trailing space, characters beyond the BMP, NULLs, empty strings, ids a
client chose, sizes that are not whole GiB, architectures OCCI has no name
for) and arbitrary attribute filters (strings, integers, floats within and
beyond 1e-9 of a value, booleans, infinities, NaN, lists), the rows the
engine's listing returns under :func:`occi.mapping.sql_filters.split`'s
condition must be exactly, and in the same order, those whose rendering
:func:`occi.mapping.filters.matches` keeps: the matcher is the oracle.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from engine.compute.models import Compute
from engine.compute.service import ComputeService
from engine.db import Database
from engine.inventory.models import Zone
from engine.lifecycle import Kind as EngineKind
from engine.lifecycle import State
from engine.lifecycle import states as lifecycle_states
from engine.network.models import Network
from engine.network.service import NetworkService
from engine.scope import Scope
from engine.storage.models import Volume
from engine.storage.service import StorageService
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService
from occi.categories import infrastructure_registry
from occi.mapping import filters, sql_filters
from occi.mapping import tables as t
from occi.mapping.load import Loaded
from occi.mapping.render import render

WORDS = ["a", "A", "a ", "ab", "é", "É", "\U0001d11e", "1", "web", "Web", "web ", "x64", "x86"]
STRINGS = st.sampled_from(["", *WORDS]) | st.text(
    st.characters(exclude_categories=("Cs", "Cc")), max_size=3
)


def states_of(kind: EngineKind) -> st.SearchStrategy[str]:
    """The states an entity of *kind* can be in (the rendering's actions need one)."""
    return st.sampled_from(
        sorted(s.value for s in lifecycle_states(kind) if s is not State.DELETED)
    )


INT32 = st.integers(-(2**31), 2**31 - 1)
SMALL = st.integers(0, 4) | st.sampled_from([1024, 1536, 2048, 4096]) | INT32
GIB = 1024**3
SIZES = st.sampled_from([0, 1, GIB, GIB + 1, GIB // 2 * 3, 2 * GIB, 2**60 + 1]) | st.integers(
    0, 2**62
)
IDS = [f"r{i}" for i in range(10)]
UUIDS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(10)]
COMMON = {
    "name": STRINGS,
    "description": st.none() | STRINGS,
    "chosen": st.sampled_from(["none", "empty", "word", "uuid"]),
}
ROWS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "compute": st.fixed_dictionaries(
        {
            **COMMON,
            "state": states_of(EngineKind.COMPUTE),
            "vcpus": SMALL,
            "memory_mib": SMALL,
            "cpu_share": SMALL,
            "arch": st.sampled_from(["x86_64", "amd64", "i686", "riscv64", ""]),
            "hostname": st.none() | STRINGS,
            "ssh_public_key": st.none() | STRINGS,
            "user_data": st.none() | STRINGS,
        }
    ),
    "storage": st.fixed_dictionaries(
        {**COMMON, "state": states_of(EngineKind.VOLUME), "size_bytes": SIZES}
    ),
    "network": st.fixed_dictionaries(
        {
            **COMMON,
            "state": states_of(EngineKind.NETWORK),
            "vlan": st.none() | SMALL,
            "label": st.none() | STRINGS,
            "cidr": st.sampled_from(["10.0.0.0/24", "", "a"]),
            "gateway": st.none() | STRINGS,
            "allocation": st.sampled_from(["dynamic", "static", ""]),
        }
    ),
}
TABLES = {"compute": t.COMPUTE, "storage": t.STORAGE, "network": t.NETWORK}
MODELS: dict[str, Any] = {"compute": Compute, "storage": Volume, "network": Network}


def values(term: str) -> st.SearchStrategy[Any]:
    """Any value a filter may carry: text, numbers near and far from the rows', booleans."""
    urns = [f"urn:uuid:{u}" for u in UUIDS[:3]] + [f"urn:concord:{term}:{i}" for i in IDS[:3]]
    urns += [f"urn:concord:{term}:{UUIDS[0]}", f"urn:uuid:{IDS[0]}", "urn:concord:compute:word1"]
    texts = STRINGS | st.sampled_from(
        [*urns, f"urn:concord:{term}:word1", "active", "inactive", "error", "offline", "online"]
    )
    near = st.sampled_from([1.0000000001, 0.9999999999, 1.5, 0.5, 2.0000001, 1e-10, -0.0])
    numbers = SMALL | near | st.floats(allow_nan=True, allow_infinity=True)
    others = st.sampled_from([2**70, -(2**70), [], ["a"], {"a": 1}])
    return texts | numbers | st.booleans() | others


#: An attribute's value as a row gives it (close to what renders; the filter
#: then often matches some rows and not others).
FROM_ROW: dict[str, Any] = {
    "occi.core.title": lambda row: row["name"],
    "occi.core.summary": lambda row: row["description"],
    "occi.compute.cores": lambda row: row["vcpus"],
    "occi.compute.memory": lambda row: row["memory_mib"] / 1024,
    "occi.compute.share": lambda row: float(row["cpu_share"]),
    "occi.compute.hostname": lambda row: row["hostname"],
    "occi.credentials.ssh.publickey": lambda row: row["ssh_public_key"],
    "occi.compute.userdata": lambda row: row["user_data"],
    "occi.storage.size": lambda row: row["size_bytes"] / GIB,
    "occi.network.vlan": lambda row: row["vlan"],
    "occi.network.label": lambda row: row["label"],
    "occi.network.address": lambda row: row["cidr"],
    "occi.network.gateway": lambda row: row["gateway"],
    "occi.network.allocation": lambda row: row["allocation"],
}


def wanted(term: str, rows: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """One to three attributes, each with any value or (often) one a row has."""
    names = sorted(sql_filters.compiled_attributes(TABLES[term]))

    def pair(name: str) -> st.SearchStrategy[tuple[str, Any]]:
        value = values(term)
        if rows and name in FROM_ROW:
            from_rows = st.sampled_from(rows).map(FROM_ROW[name])
            value = from_rows.filter(lambda found: found is not None) | value
        return st.tuples(st.just(name), value)

    pairs = st.lists(st.sampled_from(names).flatmap(pair), min_size=1, max_size=3)
    return pairs.map(dict)


@pytest.fixture
def owner(database: Database, hasher: PasswordHasher) -> dict[str, Any]:
    """A tenant (its scope and ids) and a zone, committed."""
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        system = Scope.system(tenancy.ensure_root())
        domain = tenancy.create_domain(system, "occisql")
        account = tenancy.create_account(system, "occisql", domain.id, AccountType.USER)
        user = tenancy.create_user(system, account.id, "occisql", "occisql-password")
        zone = Zone(name="occisql")
        session.add(zone)
        session.flush()
        scope = CredentialService(session, hasher).scope_for(user)
        return {"account": account.id, "domain": domain.id, "zone": zone.id, "scope": scope}


def insert(session: Session, owner: dict[str, Any], term: str, rows: list[dict[str, Any]]) -> None:
    for index, row in enumerate(rows):
        values = {k: v for k, v in row.items() if k != "chosen"}
        chosen = {"none": None, "empty": "", "word": f"word{index}", "uuid": UUIDS[index]}
        # An empty chosen id is unique in its account like any other: once.
        choice = "none" if row["chosen"] == "empty" and index else row["chosen"]
        values["chosen_id"] = chosen[choice]
        session.add(
            MODELS[term](
                id=IDS[index],
                account_id=owner["account"],
                domain_id=owner["domain"],
                zone_id=owner["zone"],
                **values,
            )
        )
    session.flush()


def service(session: Session, term: str) -> Any:
    return {"compute": ComputeService, "storage": StorageService, "network": NetworkService}[term](
        session
    )


def agree(
    database: Database,
    owner: dict[str, Any],
    term: str,
    rows: list[dict[str, Any]],
    attributes: dict[str, Any],
) -> None:
    table = TABLES[term]
    where, rest = sql_filters.split((table,), attributes)
    assert rest == {} and set(where) == {table}
    session = database.session()
    try:
        insert(session, owner, term, rows)
        scope: Scope = owner["scope"]
        listing = service(session, term)
        registry = infrastructure_registry()
        wanted_filter = filters.Filter((), attributes)
        expected = [
            row.id
            for row in listing.list(scope)
            if filters.matches(registry, render(Loaded(table, t.Facts(row))), wanted_filter)
        ]
        found = [row.id for row in listing.list(scope, where=where[table])]
        assert found == expected, attributes
    finally:
        session.rollback()
        session.close()


@pytest.mark.parametrize("term", ["compute", "storage", "network"])
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_sql_agrees_with_the_in_memory_matcher(
    database: Database, owner: dict[str, Any], term: str, data: st.DataObject
) -> None:
    rows = data.draw(st.lists(ROWS[term], max_size=len(IDS)), label="rows")
    attributes = data.draw(wanted(term, rows), label="filter")
    agree(database, owner, term, rows, attributes)


def test_attributes_sql_cannot_decide_stay_with_the_matcher() -> None:
    """A state message, an attribute of another Kind, or of a link: left to filters.matches."""
    attributes = {"occi.compute.state": "active", "occi.compute.state.message": "x"}
    where, rest = sql_filters.split((t.COMPUTE,), attributes)
    assert set(where) == {t.COMPUTE} and rest == {"occi.compute.state.message": "x"}
    assert sql_filters.split((t.STORAGE,), {"occi.compute.cores": 1}) == (
        {},
        {"occi.compute.cores": 1},
    )
    # A collection holding links too (/link/, /entity/): everything in memory.
    both = (t.COMPUTE, t.NETWORKINTERFACE)
    assert sql_filters.split(both, {"occi.core.title": "a"}) == ({}, {"occi.core.title": "a"})
    # Common attributes of several resource Kinds run in SQL for each (/resource/).
    where, rest = sql_filters.split(t.RESOURCE_TABLES, {"occi.core.title": "a"})
    assert set(where) == set(t.RESOURCE_TABLES) and rest == {}
