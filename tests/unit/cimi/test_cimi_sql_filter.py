"""``$filter``, ``$orderby``, ``$first`` and ``$last`` in SQL agree with the in-memory oracle.

For arbitrary rows (names differing only in case or a trailing space,
characters beyond the BMP, unmapped states and architectures, properties
that are not strings, empty strings the rendering prunes) and arbitrary
filters, sort keys and pages, :func:`cimi.views.query.in_database` must give
the same count and the same entries, in the same order, as
:func:`cimi.views.query.in_memory` (every row rendered, the query evaluated
by :mod:`cimi.query.evaluate`), on SQLite and on MariaDB.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from cimi.errors import QueryError
from cimi.mapping import Context, Links
from cimi.mapping.machines import ARCHITECTURES, Machines
from cimi.mapping.networks import Networks
from cimi.mapping.volumes import Volumes
from cimi.query import (
    And,
    Attribute,
    CollectionQuery,
    Comparison,
    Literal,
    LiteralType,
    Node,
    Op,
    Or,
    Property,
    SortKey,
    check_query,
)
from cimi.resources import collection_of
from cimi.views.query import in_database, in_memory
from engine.compute.groups import PlacementGroupService
from engine.compute.models import Compute, GroupPolicy, PlacementGroup, PlacementGroupMember
from engine.compute.service import ComputeService
from engine.db import Database
from engine.inventory.models import Zone
from engine.lifecycle import State
from engine.network.models import Network
from engine.network.service import NetworkService
from engine.scope import Scope
from engine.storage.models import Volume
from engine.storage.service import StorageService
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import AccountType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.service import TenancyService

BASE = "http://cloud.test/cimi/"
UTC = dt.UTC
WORDS = ["a", "A", "a ", "ab", "b", "B", "é", "É", "z", "\U0001d11e", "1", "web", "Web", "web "]
STRINGS = st.sampled_from(["", *WORDS]) | st.text(
    st.characters(exclude_categories=("Cs", "Cc")), max_size=4
)
KEYS = ["tier", "Tier", 'q"uote', "back\\slash", "sp ace"]
STATES = [s.value for s in State if s is not State.DELETED]
ARCHES = [*ARCHITECTURES, "riscv64"]
INSTANTS = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2020, 1, 3)).map(
    lambda t: t.replace(tzinfo=UTC)
)
ZONES = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
IDS = [f"r{i}" for i in range(12)]


@pytest.fixture
def owner(database: Database, hasher: PasswordHasher) -> dict[str, Any]:
    """A tenant (its scope and ids) and a zone, committed."""
    with database.transaction() as session:
        tenancy = TenancyService(session, hasher)
        root = tenancy.ensure_root()
        system = Scope.system(root)
        domain = tenancy.create_domain(system, "sql", root.id)
        account = tenancy.create_account(system, "sql", domain.id, AccountType.USER)
        user = tenancy.create_user(system, account.id, "sql", "sql-password")
        zone = Zone(name="sql")
        session.add(zone)
        session.flush()
        scope = CredentialService(session, hasher).scope_for(user)
        return {"account": account.id, "domain": domain.id, "zone": zone.id, "scope": scope}


def scope_of(owner: dict[str, Any]) -> Scope:
    """The tenant's scope (an ordinary user of its account)."""
    scope: Scope = owner["scope"]
    return scope


def owned(owner: dict[str, Any]) -> dict[str, str]:
    return {"account_id": owner["account"], "domain_id": owner["domain"], "zone_id": owner["zone"]}


property_values = st.sampled_from(WORDS) | st.integers(0, 3) | st.none()
property_maps = st.dictionaries(st.sampled_from(KEYS), property_values, max_size=3)
common = {
    "name": STRINGS,
    "description": st.none() | STRINGS,
    "created": INSTANTS,
    "updated": INSTANTS,
    "properties": property_maps,
    "state_message": st.none() | STRINGS,
}
computes = st.fixed_dictionaries(
    {
        **common,
        "state": st.sampled_from(STATES),
        "vcpus": st.integers(0, 8),
        "memory_mib": st.integers(0, 4),
        "arch": st.sampled_from(ARCHES),
        "ha_enabled": st.booleans(),
        "group": st.sampled_from([None, "g1", "G1", "g2"]),
    }
)
volumes = st.fixed_dictionaries(
    {
        **common,
        "state": st.sampled_from(STATES),
        "size_bytes": st.integers(0, 4096),
        "bootable": st.booleans(),
    }
)
networks = st.fixed_dictionaries({**common, "state": st.sampled_from(STATES)})


def literal(kind: LiteralType) -> st.SearchStrategy[Literal]:
    if kind is LiteralType.STRING:
        values: st.SearchStrategy[Any] = STRINGS | st.sampled_from(
            [
                *(BASE + path for path in ("machines/r1", "machines/r10", "volumes/r2", "")),
                *("STARTED", "STOPPED", "CREATING", "ERROR", "x86_64", "ARM", "PRIVATE", "g1"),
                *(BASE + "machines/r3/disks", BASE + "networks/r1/networkPorts", "affinity"),
            ]
        )
        return values.map(lambda v: Literal(LiteralType.STRING, v))
    if kind is LiteralType.INTEGER:
        ints = st.integers(-2, 4200) | st.integers() | st.sampled_from([0, 1024, 2048, 2**70])
        return ints.map(lambda v: Literal(LiteralType.INTEGER, v))
    if kind is LiteralType.DECIMAL:
        decimals = st.decimals(allow_nan=False, allow_infinity=False, places=3) | st.sampled_from(
            [Decimal("1024.0"), Decimal("2.5"), Decimal("-0.5"), Decimal("1E+30")]
        )
        return decimals.map(lambda v: Literal(LiteralType.DECIMAL, v))
    if kind is LiteralType.BOOLEAN:
        return st.booleans().map(lambda v: Literal(LiteralType.BOOLEAN, v))
    instants = st.builds(lambda t, z: t.astimezone(z), INSTANTS, ZONES) | st.sampled_from(
        [
            dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
            dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        ]
    )
    return instants.map(lambda v: Literal(LiteralType.DATETIME, v))


S, N, B, T = LiteralType.STRING, LiteralType.INTEGER, LiteralType.BOOLEAN, LiteralType.DATETIME
COMMON_PATHS = {
    ("id",): S,
    ("name",): S,
    ("description",): S,
    ("created",): T,
    ("updated",): T,
    **{("properties", key): S for key in KEYS},
}
PATHS: dict[str, dict[tuple[str, ...], LiteralType]] = {
    "Machine": {
        **COMMON_PATHS,
        ("state",): S,
        ("cpu",): N,
        ("memory",): N,
        ("cpuArch",): S,
        ("highlyAvailable",): B,
        ("stateMessage",): S,
        ("placementGroup",): S,
        ("placementPolicy",): S,
        ("zone",): S,
        ("disks", "href"): S,
        ("volumes", "href"): S,
    },
    "Volume": {
        **COMMON_PATHS,
        ("state",): S,
        ("capacity",): N,
        ("bootable",): B,
        ("zone",): S,
    },
    "Network": {
        **COMMON_PATHS,
        ("state",): S,
        ("networkType",): S,
        ("networkPorts", "href"): S,
        ("zone",): S,
    },
}


@st.composite
def comparisons(draw: st.DrawFn, type_name: str) -> Node:
    paths = PATHS[type_name]
    path = draw(st.sampled_from(sorted(paths)))
    kind = paths[path]
    if kind is N:
        kind = draw(st.sampled_from([N, LiteralType.DECIMAL]))
    value = draw(literal(kind))
    target: Attribute | Property = Attribute(path)
    if path[0] == "properties" and draw(st.booleans()):
        target = Property(path[1])
    op = draw(st.sampled_from(list(Op)))
    if isinstance(target, Attribute) and draw(st.booleans()):
        return Comparison(value, op.flipped(), target)
    return Comparison(target, op, value)


def filters(type_name: str) -> st.SearchStrategy[Node]:
    return st.recursive(
        comparisons(type_name),
        lambda inner: st.lists(inner, min_size=2, max_size=3).flatmap(
            lambda terms: st.sampled_from([And(tuple(terms)), Or(tuple(terms))])
        ),
        max_leaves=5,
    )


def queries(type_name: str) -> st.SearchStrategy[CollectionQuery]:
    orderable = [p for p in PATHS[type_name] if p[0] != "properties"]
    keys = st.lists(st.builds(SortKey, st.sampled_from(orderable), st.booleans()), max_size=3).map(
        tuple
    )
    return st.builds(
        lambda f, o, first, last: CollectionQuery(filter=f, orderby=o, first=first, last=last),
        st.none() | filters(type_name),
        keys,
        st.none() | st.integers(1, 14),
        st.none() | st.integers(0, 14),
    )


def insert(
    session: Session, owner: dict[str, Any], type_name: str, rows: list[dict[str, Any]]
) -> None:
    groups: dict[str, PlacementGroup] = {}
    for index, row in enumerate(rows):
        values = {k: v for k, v in row.items() if k != "group"}
        if type_name == "Machine":
            session.add(Compute(id=IDS[index], **values, **owned(owner)))
            name = row["group"]
            if name is not None and name not in groups:
                policy = GroupPolicy.AFFINITY if name == "g1" else GroupPolicy.ANTI_AFFINITY
                groups[name] = PlacementGroup(
                    name=name,
                    policy=policy,
                    account_id=owner["account"],
                    domain_id=owner["domain"],
                    owner_key=owner["account"],  # no project: the account's group
                )
                session.add(groups[name])
            session.flush()
            if name is not None:
                session.add(PlacementGroupMember(compute_id=IDS[index], group_id=groups[name].id))
        elif type_name == "Volume":
            session.add(Volume(id=IDS[index], **values, **owned(owner)))
        else:
            session.add(Network(id=IDS[index], cidr="10.0.0.0/24", **values, **owned(owner)))
    session.flush()


def context(session: Session, scope: Scope) -> Context:
    engine = SimpleNamespace(
        session=session,
        compute=ComputeService(session),
        placement_groups=PlacementGroupService(session),
        storage=StorageService(session),
        network=NetworkService(session),
    )
    return Context(engine=engine, scope=scope, links=Links(BASE))


BINDINGS = {"Machine": Machines(), "Volume": Volumes(), "Network": Networks()}
ROWS = {"Machine": computes, "Volume": volumes, "Network": networks}


def agree(
    database: Database,
    owner: dict[str, Any],
    type_name: str,
    rows: list[dict[str, Any]],
    query: CollectionQuery,
) -> None:
    binding = BINDINGS[type_name]
    try:
        check_query(query, collection_of(type_name))
    except QueryError:
        return  # a 400 before any SQL, on both paths
    session = database.session()
    try:
        insert(session, owner, type_name, rows)
        scope = scope_of(owner)
        ctx = context(session, scope)
        found = in_database(ctx, binding, (), query)
        assert found is not None, "the SQL description covers every attribute queried"
        count, objects = found
        binding.prepare(ctx, objects)
        from_sql = [binding.render(ctx, o) for o in objects]
        expected = in_memory(context(session, scope), binding, (), query)
        assert (count, from_sql) == expected
    finally:
        session.rollback()
        session.close()


@pytest.mark.parametrize("type_name", ["Machine", "Volume", "Network"])
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_sql_agrees_with_the_in_memory_oracle(
    database: Database, owner: dict[str, Any], type_name: str, data: st.DataObject
) -> None:
    rows = data.draw(st.lists(ROWS[type_name], max_size=len(IDS)), label="rows")
    query = data.draw(queries(type_name), label="query")
    agree(database, owner, type_name, rows, query)


def test_a_query_on_what_sql_cannot_see_falls_back_to_memory(
    database: Database, owner: dict[str, Any]
) -> None:
    """An attribute without a SQL description is answered in memory, never wrongly."""
    session = database.session()
    try:
        ctx = context(session, scope_of(owner))
        query = CollectionQuery(filter=Comparison(Attribute(("nope",)), Op.EQ, Literal(S, "x")))
        assert in_database(ctx, BINDINGS["Machine"], (), query) is None
    finally:
        session.close()


def test_sql_reads_only_the_page(database: Database, owner: dict[str, Any]) -> None:
    """A filtered, paged listing loads only the rows it returns (an ORM identity-map check)."""
    rows = [
        {
            "name": f"vm-{i}",
            "state": "running",
            "vcpus": 1,
            "memory_mib": 1,
            "created": dt.datetime(2020, 1, 1, 0, i, tzinfo=UTC),
        }
        for i in range(10)
    ]
    session = database.session()
    try:
        for index, row in enumerate(rows):
            session.add(Compute(id=IDS[index], **row, **owned(owner)))
        session.commit()
        session.expunge_all()
        ctx = context(session, scope_of(owner))
        query = CollectionQuery(
            filter=Comparison(Attribute(("name",)), Op.GE, Literal(S, "vm-3")),
            orderby=(SortKey(("name",), True),),
            first=2,
            last=3,
        )
        found = in_database(ctx, BINDINGS["Machine"], (), query)
        assert found is not None
        count, objects = found
        assert count == 7
        assert [o.name for o in objects] == ["vm-8", "vm-7"]
        loaded = {o.id for o in session.identity_map.values() if isinstance(o, Compute)}
        assert loaded == {o.id for o in objects}
    finally:
        session.rollback()
        for model in (Compute,):
            session.query(model).delete()
        session.commit()
        session.close()
