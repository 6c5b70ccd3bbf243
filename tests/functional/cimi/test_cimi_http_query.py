"""Collection query parameters over HTTP (DSP0263 4.1.6), including a property test of
``$filter``: the server's answer equals the filter evaluated on the whole Collection."""

from __future__ import annotations

from typing import Any

import pytest
from functional.cimi.conftest import Cloud, client
from functional.cimi.flows import template
from functional.cimi.support import Cimi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webtest import TestApp

from cimi.query import Selection, matches, parse_filter
from cimi.resources import collection_of
from cimi.views.query import selected_collection

#: (name, configuration, initial state, properties)
MACHINES = (
    ("alpha", "small", "STARTED", {"tier": "web"}),
    ("bravo", "large", "STOPPED", {"tier": "db"}),
    ("charlie", "small", "STOPPED", {}),
    ("delta", "large", "STARTED", {"tier": "web", "zone": "b"}),
    ("echo", "small", "STARTED", {"tier": "cache"}),
)


@pytest.fixture
def fleet(alice: Cimi, cloud: Cloud) -> str:
    """Five Machines of alice's; returns the Machine Collection's href."""
    configs = {c["name"]: c["id"] for c in alice.entries("machineConfigs")}
    machines = alice.collection("machines")
    for name, config, state, properties in MACHINES:
        body = {
            "name": name,
            "properties": properties,
            "machineTemplate": template(
                alice, machineConfig={"href": configs[config]}, initialState=state
            ),
        }
        alice.add(machines, "MachineCreate", body, status=202)
    cloud.run()
    return machines


def names(cimi: Cimi, url: str, **params: str) -> list[str]:
    return [m["name"] for m in cimi.entries(url, **params)]


@pytest.mark.parametrize(("expression", "expected"), [
    ("name='bravo'", ["bravo"]),
    ('name="bravo" or name=\'echo\'', ["bravo", "echo"]),
    ("cpu>1", ["bravo", "delta"]),
    ("1<cpu", ["bravo", "delta"]),
    ("state='STOPPED' and cpu=1", ["charlie"]),
    ("cpu=2 and state='STARTED' or name='alpha'", ["alpha", "delta"]),
    ("cpu=2 and (state='STARTED' or name='alpha')", ["delta"]),
    ("memory>=2097152", ["bravo", "delta"]),
    ("property['tier']='web'", ["alpha", "delta"]),
    ("property['tier']!='web'", ["bravo", "echo"]),
    ("name!='alpha' and name<'d'", ["bravo", "charlie"]),
    ("created>2000-01-01T00:00:00Z", ["alpha", "bravo", "charlie", "delta", "echo"]),
    ("created<2000-01-01", []),
    ("operations/rel='edit'", []),
])  # fmt: skip
def test_filter(alice: Cimi, fleet: str, expression: str, expected: list[str]) -> None:
    if "/" in expression:  # paths into arrays match nothing (cimi.query.evaluate)
        alice.request("GET", fleet, params={"$filter": expression}, status=400)
        return
    assert sorted(names(alice, fleet, **{"$filter": expression})) == expected


def test_several_filters_must_all_hold(alice: Cimi, fleet: str) -> None:
    url = f"{fleet}?$filter=cpu%3D1&$filter=state%3D'STARTED'"
    assert sorted(names(alice, url)) == ["alpha", "echo"]


def test_order_paging_and_count(alice: Cimi, fleet: str) -> None:
    assert names(alice, fleet, **{"$orderby": "name:desc"}) == [
        "echo",
        "delta",
        "charlie",
        "bravo",
        "alpha",
    ]
    assert names(alice, fleet, **{"$orderby": "cpu:desc,name"}) == [
        "bravo",
        "delta",
        "alpha",
        "charlie",
        "echo",
    ]
    assert names(alice, fleet, **{"$orderby": "cpu desc,name asc"})[:2] == ["bravo", "delta"]
    page = alice.get(fleet, **{"$orderby": "name", "$first": "2", "$last": "3"})
    assert [m["name"] for m in page["machines"]] == ["bravo", "charlie"]
    assert page["count"] == 5  # before paging
    filtered = alice.get(fleet, **{"$filter": "cpu=1", "$first": "3"})
    assert filtered["count"] == 3 and len(filtered["machines"]) == 1
    empty = alice.get(fleet, **{"$last": "0"})
    assert (empty["count"], empty.get("machines"), empty["operations"][0]["rel"]) == (
        5,
        None,
        "add",
    )


def test_select_and_expand(alice: Cimi, fleet: str) -> None:
    trimmed = alice.get(fleet, **{"$select": "name,state"})
    assert set(trimmed) == {"id", "count", "machines"}
    assert all(set(m) == {"id", "name", "state"} for m in trimmed["machines"])
    nested = alice.get(fleet, **{"$select": "machines/cpu"})
    assert all(set(m) == {"id", "cpu"} for m in nested["machines"])
    counted = alice.get(fleet, **{"$select": "count"})
    assert set(counted) == {"id", "count"}
    everything = alice.get(fleet, **{"$select": "*"})
    assert "operations" in everything["machines"][0]
    machine = everything["machines"][0]
    one = alice.get(machine["id"], **{"$select": "cpu"})
    assert set(one) == {"id", "cpu"}
    expanded = alice.get(machine["id"], **{"$expand": "volumes,networkInterfaces"})
    assert (
        expanded["volumes"]["count"] == 0
        and expanded["volumes"]["href"] == machine["volumes"]["href"]
    )
    assert "count" not in expanded["disks"]
    every = alice.get(fleet, **{"$expand": "*", "$first": "1", "$last": "1"})
    assert every["machines"][0]["disks"]["count"] == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("name", "value"), [
    ("$filter", "cpu='one'"),
    ("$filter", "nosuch=1"),
    ("$filter", "(name='a'"),
    ("$filter", "name=3.5x"),
    ("$filter", "property[tier]='web'"),
    ("$orderby", "operations"),
    ("$orderby", "name:sideways"),
    ("$select", "nosuch"),
    ("$expand", "cpu"),
    ("$first", "0"),
    ("$last", "-1"),
    ("$format", "yaml"),
    ("$top", "3"),
])  # fmt: skip
def test_bad_queries_are_400(app: TestApp, cloud: Cloud, fmt: str, name: str, value: str) -> None:
    alice = client(app, "alice", fmt)
    response = alice.request("GET", alice.collection("machines"), params={name: value}, status=400)
    assert response.content_type == alice.media


#: Comparisons over the fleet's attributes, some true for some machines, some for none.
COMPARISONS = st.sampled_from([
    "name='alpha'", "name!='bravo'", "name>'c'", "'c'>name", "cpu=1", "cpu>=2", "2<=cpu",
    "memory<1000000", "state='STARTED'", "state!='STOPPED'", "property['tier']='web'",
    "property['zone']='b'", "created>2001-01-01", "updated<2001-01-01T00:00:00+01:00",
    "description='none'",
])  # fmt: skip


def _filters() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map("".join),
            inner.map(lambda f: f"({f})"),
        )

    return st.recursive(COMPARISONS, extend, max_leaves=6)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(expression=_filters())
def test_the_server_filters_as_the_grammar_says(alice: Cimi, fleet: str, expression: str) -> None:
    everything: list[dict[str, Any]] = alice.entries(fleet)
    expected = sorted(m["id"] for m in everything if matches(parse_filter(expression), m))
    assert sorted(m["id"] for m in alice.entries(fleet, **{"$filter": expression})) == expected


@pytest.mark.parametrize(
    "select",
    [
        "name",
        "name,state,cpu",
        "machines/memory,machines/zone",
        "operations",
        "id",
        "count",
        "properties,placementGroup,highlyAvailable,stateMessage",
        "volumes,disks,networkInterfaces,cpuArch,created,updated,description",
        "machines",
    ],
)
@pytest.mark.parametrize("expand", [None, "volumes", "*"])
def test_a_selection_read_in_sql_is_the_whole_collection_trimmed(
    alice: Cimi, fleet: str, select: str, expand: str | None
) -> None:
    """Only the selected attributes are read (issue 15); the answer is unchanged."""
    params = {} if expand is None else {"$expand": expand}
    whole = alice.get(fleet, **params)
    paths = frozenset(tuple(p.split("/")) for p in select.split(","))
    expected = selected_collection(whole, collection_of("Machine"), Selection(paths, all=False))
    assert alice.get(fleet, **{"$select": select, **params}) == expected
    assert alice.get(fleet, **{"$select": select, "$first": "2", "$last": "3", **params}) == (
        {**expected, "machines": expected["machines"][1:3]} if "machines" in expected else expected
    )
