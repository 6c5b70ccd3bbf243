"""``$select`` on a Collection read in SQL gives the bytes the whole entries gave (issue 15).

A ``$select`` that keeps some attributes of the entries makes the page read
only the columns those attributes need, as rows, and render only them
(:meth:`cimi.mapping.base.Binding.row_columns`,
:func:`cimi.views.query.selected_entry_attributes`). For arbitrary rows,
filters, sort keys, pages and selections (entry attributes, paths below
them, the Collection's own attributes, whole entries),
:func:`cimi.views.query.collection` must encode, in JSON and in XML, to the
same bytes as the in-memory path: every object loaded whole, rendered whole,
then trimmed, on SQLite and on MariaDB. ``$expand`` beside a selection is
covered over HTTP (tests/functional/cimi/test_cimi_http_query.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.cimi.test_cimi_sql_filter import (  # the same rows, filters and tenant
    BINDINGS,
    IDS,
    ROWS,
    UTC,
    context,
    insert,
    owned,
    owner,
    queries,
    scope_of,
)

from cimi.codec import JSON, XML, encode
from cimi.errors import QueryError
from cimi.mapping import Context
from cimi.mapping.machines import Machines
from cimi.mapping.networks import Networks
from cimi.mapping.volumes import Volumes
from cimi.query import CollectionQuery, Expansion, Selection, check_query
from cimi.resources import collection_of
from cimi.views.query import collection, selected_entry_attributes
from engine.compute.models import Compute
from engine.db import Database

__all__ = ["owner"]  # the fixture, imported for this module's tests


class _WholeMachines(Machines):
    def columns(self, ctx: Context) -> None:
        return None  # no SQL description: everything in memory, the oracle


class _WholeVolumes(Volumes):
    def columns(self, ctx: Context) -> None:
        return None


class _WholeNetworks(Networks):
    def columns(self, ctx: Context) -> None:
        return None


ORACLES = {"Machine": _WholeMachines(), "Volume": _WholeVolumes(), "Network": _WholeNetworks()}
ITEMS = {"Machine": "machines", "Volume": "volumes", "Network": "networks"}


def paths(type_name: str) -> list[tuple[str, ...]]:
    """Every attribute of the entries, some paths below them, and the Collection's own."""
    entry = collection_of(type_name).items_field
    assert entry is not None and entry.table is not None
    names = [field.name for field in entry.table.fields]
    items = ITEMS[type_name]
    below = [("properties", "tier"), ("volumes", "href"), ("networkPorts", "href")]
    candidates = [
        *((name,) for name in names),
        *below,
        *((items, name) for name in names),
        ("count",),
        ("id",),
        ("operations",),
        (items,),
    ]
    return [path for path in candidates if _valid(type_name, path)]


def _valid(type_name: str, path: tuple[str, ...]) -> bool:
    try:
        check_query(
            CollectionQuery(select=Selection(frozenset([path]), all=False)),
            collection_of(type_name),
        )
    except QueryError:
        return False
    return True


def selections(type_name: str) -> st.SearchStrategy[Selection]:
    chosen = st.lists(st.sampled_from(paths(type_name)), min_size=1, max_size=4, unique=True)
    return st.one_of(st.just(Selection()), chosen.map(lambda p: Selection(frozenset(p), all=False)))


def _encodable(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose ``properties`` a client could have set: a map of strings (5.7.1)."""
    found = row["properties"].items()
    return {**row, "properties": {k: str(v) for k, v in found if v is not None}}


def encoded(type_name: str, value: dict[str, Any]) -> tuple[bytes, bytes]:
    table = collection_of(type_name)
    return encode(table, value, JSON, trusted=True), encode(table, value, XML, trusted=True)


@pytest.mark.parametrize("type_name", ["Machine", "Volume", "Network"])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_selection_read_in_sql_encodes_as_the_whole_entries_trimmed(
    database: Database, owner: dict[str, Any], type_name: str, data: st.DataObject
) -> None:
    rows = data.draw(st.lists(ROWS[type_name].map(_encodable), max_size=len(IDS)), label="rows")
    base = data.draw(queries(type_name), label="query")
    select = data.draw(selections(type_name), label="select")
    query = CollectionQuery(base.filter, select, Expansion(), base.orderby, base.first, base.last)
    try:
        check_query(query, collection_of(type_name))
    except QueryError:
        return  # a 400 before any SQL, on both paths
    session = database.session()
    try:
        insert(session, owner, type_name, rows)
        scope = scope_of(owner)
        found = collection(context(session, scope), BINDINGS[type_name], (), query)
        expected = collection(context(session, scope), ORACLES[type_name], (), query)
        assert found == expected
        assert encoded(type_name, found) == encoded(type_name, expected)
    finally:
        session.rollback()
        session.close()


@pytest.mark.parametrize(
    ("select", "objects"),
    [
        ("name", False),
        ("machines/name,machines/cpu", False),
        ("operations,placementGroup,zone", False),
        ("id", False),
        ("count", False),
        ("machines", True),
        (None, True),
    ],
)
def test_a_selection_reads_rows_not_objects(
    database: Database, owner: dict[str, Any], select: str | None, objects: bool
) -> None:
    """Only a listing that keeps whole entries builds ORM objects (the mapper's load event)."""
    session = database.session()
    try:
        for index in range(4):
            created = dt.datetime(2020, 1, 1, 0, index, tzinfo=UTC)
            state = ("running", "stopped")[index % 2]  # a stopped one offers capture
            values = {"name": f"vm-{index}", "state": state, "vcpus": 1, "memory_mib": 1}
            session.add(Compute(id=IDS[index], created=created, **values, **owned(owner)))
        session.commit()
        session.expunge_all()
        paths = () if select is None else (tuple(p.split("/")) for p in select.split(","))
        selection = Selection() if select is None else Selection(frozenset(paths), all=False)
        query = CollectionQuery(select=selection)
        table = collection_of("Machine")
        assert (selected_entry_attributes(table, selection) is None) is objects
        built: list[object] = []

        def count(target: object, context: object) -> None:
            built.append(target)

        sa.event.listen(Compute, "load", count)
        try:
            value = collection(context(session, scope_of(owner)), BINDINGS["Machine"], (), query)
        finally:
            sa.event.remove(Compute, "load", count)
        assert value["count"] == 4
        assert len(built) == (4 if objects else 0)
    finally:
        session.rollback()
        session.query(Compute).delete()
        session.commit()
        session.close()
