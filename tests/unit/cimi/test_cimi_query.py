"""Query parameters: parsing, checking against tables, and in-memory evaluation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimi.errors import QueryError
from cimi.query import (
    And,
    CollectionQuery,
    Or,
    Selection,
    SortKey,
    check_query,
    matches,
    order,
    page,
    parse_filter,
    parse_query,
    project,
)
from cimi.resources import collection_of, table

UTC = dt.UTC
RESOURCES: list[dict[str, Any]] = [
    {
        "id": "m1",
        "name": "alpha",
        "cpu": 2,
        "bootable": True,
        "created": dt.datetime(2012, 1, 1, tzinfo=UTC),
        "properties": {"env": "prod"},
        "config": {"cpu": 2, "href": "c/small"},
        "tags": ["x"],
    },
    {
        "id": "m2",
        "name": "beta",
        "cpu": 8,
        "bootable": False,
        "created": dt.datetime(2012, 7, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "properties": {"env": "test"},
        "config": {"cpu": 8},
    },
    {"id": "m3", "name": "gamma", "created": dt.datetime(2013, 1, 1, tzinfo=UTC)},
    {"id": "m4", "name": "Beta", "cpu": 1, "properties": {"owner": "bob"}},
]


def cpu(r: dict[str, Any]) -> int | None:
    return r.get("cpu")


def cpu_is(test: Callable[[int], bool]) -> Callable[[dict[str, Any]], bool]:
    """A predicate on cpu that is false when cpu is absent (as the evaluator is)."""
    return lambda r: "cpu" in r and test(r["cpu"])


def env(r: dict[str, Any]) -> str | None:
    return r.get("properties", {}).get("env")


CASES: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("cpu=2", lambda r: cpu(r) == 2),
    ("cpu!=2", cpu_is(lambda c: c != 2)),
    ("cpu>1", cpu_is(lambda c: c > 1)),
    ("4<cpu", cpu_is(lambda c: c > 4)),
    ("cpu<=2.5", cpu_is(lambda c: c <= 2.5)),
    ("cpu>=2 and name='beta'", lambda r: (cpu(r) or 0) >= 2 and r["name"] == "beta"),
    (
        "name='alpha' or name='beta' and cpu>4",
        lambda r: r["name"] == "alpha" or (r["name"] == "beta" and (cpu(r) or 0) > 4),
    ),
    (
        "(name='alpha' or name='beta') and cpu>4",
        lambda r: r["name"] in ("alpha", "beta") and (cpu(r) or 0) > 4,
    ),
    ("name>'b'", lambda r: r["name"] > "b"),
    ("name='Beta'", lambda r: r["name"] == "Beta"),
    ("bootable=true", lambda r: r.get("bootable") is True),
    ("bootable!=true", lambda r: r.get("bootable") is False),
    ("bootable<true", lambda r: r.get("bootable") is False),
    (
        "created>2012-06-01",
        lambda r: "created" in r and r["created"] > dt.datetime(2012, 6, 1, tzinfo=UTC),
    ),
    ("created=2012-07-01T10:00:00Z", lambda r: r["id"] == "m2"),
    ("created<2012-01-01T00:30:00+01:00", lambda r: False),
    ("property['env']='prod'", lambda r: env(r) == "prod"),
    ("property['env']!='prod'", lambda r: env(r) is not None and env(r) != "prod"),
    ("properties/owner='bob'", lambda r: r["id"] == "m4"),
    ("config/cpu>1", lambda r: "config" in r and r["config"]["cpu"] > 1),
    ("config/href='c/small'", lambda r: r["id"] == "m1"),
    ("cpu='2'", lambda r: False),
    ("name=2", lambda r: False),
    ("bootable=1", lambda r: False),
    ("created='2012-01-01T00:00:00Z'", lambda r: False),
    ("tags='x'", lambda r: False),
    ("missing!=1", lambda r: False),
]


@pytest.mark.parametrize(("text", "predicate"), CASES, ids=[c[0] for c in CASES])
def test_the_evaluator_agrees_with_plain_python(
    text: str, predicate: Callable[[dict[str, Any]], bool]
) -> None:
    tree = parse_filter(text)
    assert [r["id"] for r in RESOURCES if matches(tree, r)] == [
        r["id"] for r in RESOURCES if predicate(r)
    ]


def test_no_filter_matches_everything() -> None:
    assert all(matches(None, r) for r in RESOURCES)


comparisons = st.sampled_from([c[0] for c in CASES])


@settings(max_examples=200, deadline=None)
@given(comparisons, comparisons, st.sampled_from(RESOURCES))
def test_and_or_are_boolean_connectives(left: str, right: str, resource: dict[str, Any]) -> None:
    a, b = parse_filter(left), parse_filter(right)
    assert matches(And((a, b)), resource) == (matches(a, resource) and matches(b, resource))
    assert matches(Or((a, b)), resource) == (matches(a, resource) or matches(b, resource))


# ------------------------------------------------------------------ parameters


def test_no_parameters() -> None:
    assert parse_query([]) == CollectionQuery()


def test_all_parameters() -> None:
    query = parse_query(
        [
            ("$filter", "cpu>1"),
            ("$filter", "name='a' or name='b'"),
            ("$select", "name, cpu"),
            ("$select", "machines/name"),
            ("$expand", "disks"),
            ("$expand", "volumes,disks"),
            ("$orderby", "name:desc, cpu"),
            ("$orderby", "created desc"),
            ("$first", "2"),
            ("$last", "5"),
            ("$format", "XML"),
            ("unrelated", "ignored"),
        ]
    )
    assert query.filter == And((parse_filter("cpu>1"), parse_filter("name='a' or name='b'")))
    assert query.select == Selection(
        frozenset({("name",), ("cpu",), ("machines", "name")}), all=False
    )
    assert query.expand.names == {"disks", "volumes"}
    assert "disks" in query.expand and "eventLog" not in query.expand
    assert query.orderby == (
        SortKey(("name",), True),
        SortKey(("cpu",)),
        SortKey(("created",), True),
    )
    assert (query.first, query.last, query.format) == (2, 5, "xml")


def test_star_selects_and_expands_everything() -> None:
    query = parse_query({"$select": "*", "$expand": "*"})
    assert query.select.all
    assert query.expand.all and "anything" in query.expand
    assert parse_query([("$select", "name"), ("$select", "*")]).select.all


def test_filters_and_together_flat() -> None:
    query = parse_query([("$filter", "a=1 and b=2"), ("$filter", "c=3")])
    assert query.filter == parse_filter("a=1 and b=2 and c=3")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("$top", "3")], r"unsupported query parameter \$top"),
        ([("$first", "0")], r"\$first must be an integer >= 1"),
        ([("$first", "x")], r"\$first must be an integer"),
        ([("$last", "-1")], r"\$last must be an integer >= 0"),
        ([("$first", "1"), ("$first", "2")], r"\$first given more than once"),
        ([("$format", "json"), ("$format", "xml")], r"\$format given more than once"),
        ([("$format", "edn")], r"\$format must be json or xml"),
        ([("$select", "name,")], r"\$select: '' is not an attribute name"),
        ([("$select", "na me")], r"\$select: 'na me' is not an attribute name"),
        ([("$expand", "a.b")], r"\$expand: 'a.b' is not an attribute name"),
        ([("$orderby", "name:up")], r"\$orderby: 'name:up' is not"),
        ([("$orderby", "")], r"\$orderby: '' is not"),
        ([("$filter", "a=")], r"invalid \$filter"),
    ],
)
def test_invalid_parameters(params: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(params)


# ------------------------------------------------------------------ checks against tables


def test_checks_accept_what_the_table_has() -> None:
    machines = collection_of("Machine")
    check_query(parse_query({"$filter": "cpu>1 and state='STARTED' and disks/href='x'"}), machines)
    check_query(parse_query({"$filter": "created>2012-01-01 and property['k']='v'"}), machines)
    check_query(parse_query({"$orderby": "name:desc,created", "$select": "name,count"}), machines)
    check_query(parse_query({"$select": "machines/name", "$expand": "disks,volumes"}), machines)
    template = table("MachineTemplate")
    check_query(parse_query({"$filter": "machineConfig/cpu>=2", "$expand": "*"}), template)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"$filter": "flavour='x'"}, r"\$filter: Machine has no attribute flavour"),
        ({"$filter": "cpu='2'"}, "cpu is an integer and cannot be compared with a string"),
        ({"$filter": "name=2"}, "name is a string and cannot be compared with an integer"),
        ({"$filter": "created>'2012'"}, "created is a dateTime"),
        ({"$filter": "disks='x'"}, "disks is a collection, not a comparable value"),
        ({"$filter": "operations/rel='edit'"}, "has no attribute operations/rel"),
        ({"$orderby": "disks"}, r"\$orderby: disks is not a sortable attribute"),
        ({"$orderby": "nope"}, r"\$orderby: nope is not a sortable attribute"),
        ({"$select": "nope"}, r"\$select: Machine has no attribute nope"),
        ({"$expand": "cpu"}, r"\$expand: cpu is not a reference"),
    ],
)
def test_checks_refuse_what_the_table_lacks(params: dict[str, str], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        check_query(parse_query(params), collection_of("Machine"))


# ------------------------------------------------------------------ order, page, project


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in items]


def test_order_by_one_key() -> None:
    assert ids(order(RESOURCES, [SortKey(("cpu",))])) == ["m4", "m1", "m2", "m3"]
    assert ids(order(RESOURCES, [SortKey(("cpu",), True)])) == ["m3", "m2", "m1", "m4"]
    assert ids(order(RESOURCES, [SortKey(("name",))])) == ["m4", "m1", "m2", "m3"]
    assert ids(order(RESOURCES, [SortKey(("bootable",))])) == ["m2", "m1", "m3", "m4"]
    assert ids(order(RESOURCES, [SortKey(("created",))])) == ["m1", "m2", "m3", "m4"]


def test_order_by_several_keys_is_stable() -> None:
    items = [{"id": str(i), "a": i % 2, "b": -i} for i in range(6)]
    assert ids(order(items, [SortKey(("a",)), SortKey(("b",))])) == ["4", "2", "0", "5", "3", "1"]
    assert ids(order(items, [SortKey(("a",), True)])) == ["1", "3", "5", "0", "2", "4"]
    assert ids(order(items, [])) == ids(items)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, [1, 2, 3, 4, 5]),
        (2, None, [2, 3, 4, 5]),
        (None, 2, [1, 2]),
        (2, 4, [2, 3, 4]),
        (3, 3, [3]),
        (4, 2, []),
        (None, 0, []),
        (6, None, []),
        (1, 99, [1, 2, 3, 4, 5]),
    ],
)
def test_page_is_one_based_and_inclusive(
    first: int | None, last: int | None, expected: list[int]
) -> None:
    assert page([1, 2, 3, 4, 5], first, last) == expected


def test_project_keeps_the_selection_and_id() -> None:
    machine = RESOURCES[0]
    selection = parse_query({"$select": "name,config/cpu"}).select
    assert project(machine, selection) == {"id": "m1", "name": "alpha", "config": {"cpu": 2}}
    assert project(machine, Selection()) == machine


def test_project_paths_into_collection_entries() -> None:
    collection = {"id": "c", "count": 2, "machines": RESOURCES[:2]}
    selection = parse_query({"$select": "count,machines/name"}).select
    assert project(collection, selection) == {
        "id": "c",
        "count": 2,
        "machines": [{"id": "m1", "name": "alpha"}, {"id": "m2", "name": "beta"}],
    }
    whole = parse_query({"$select": "machines/name,machines"}).select
    assert project(collection, whole)["machines"] == RESOURCES[:2]
