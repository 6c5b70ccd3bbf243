"""Collections: Kinds' locations, the union views and the whole namespace (GFD.223 §3.4–3.7).

Listings in every rendering, filtering by Category and attribute (GFD.223
§3.5), pagination (GFD.223 §3.4), deleting a Kind's entities.
"""

from __future__ import annotations

import pytest
from functional.occi.occiclient import (
    BASE,
    COMPUTE,
    CORE,
    INFRA,
    JSON_MEDIA,
    NETWORK,
    RESPONSE_MEDIA,
    STORAGE,
    STORAGELINK,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    OcciClient,
    collection_of,
    locations_of,
    path_of,
)

from occi.model import EntityRendering, LinkRendering

LISTING_MEDIA = (*RESPONSE_MEDIA, URI_LIST)


@pytest.fixture
def estate(occi: OcciClient, cloud) -> dict[str, str]:
    """Two networks, a volume and a compute linked to both, jobs run."""
    paths = {
        "front": occi.create(NETWORK, {"occi.core.title": "front", "occi.network.vlan": 10}),
        "back": occi.create(NETWORK, {"occi.core.title": "back", "occi.network.vlan": 20}),
        "data": occi.create(STORAGE, {"occi.core.title": "data", "occi.storage.size": 1}),
    }
    cloud.run_jobs()
    paths["web"] = occi.create(
        COMPUTE,
        {"occi.core.title": "web"},
        links=[
            LinkRendering(target=paths["data"], kind=STORAGELINK),
            LinkRendering(target=paths["front"], kind=INFRA + "networkinterface"),
        ],
    )
    cloud.run_jobs()
    web = occi.read(paths["web"])
    for link in web.links:
        paths["storagelink" if link.kind == STORAGELINK else "nic"] = link.location or ""
    return paths


@pytest.mark.parametrize("media", LISTING_MEDIA)
def test_kind_collections_in_every_rendering(occi: OcciClient, estate, media: str) -> None:
    assert occi.listing("/network/", media) == [estate["front"], estate["back"]]
    assert occi.listing("/storage/", media) == [estate["data"]]
    assert occi.listing("/compute/", media) == [estate["web"]]
    assert occi.listing("/storagelink/", media) == [estate["storagelink"]]
    assert occi.listing("/networkinterface/", media) == [estate["nic"]]


@pytest.mark.parametrize("media", LISTING_MEDIA)
def test_union_views_and_the_whole_namespace(occi: OcciClient, estate, media: str) -> None:
    resources = {estate[k] for k in ("front", "back", "data", "web")}
    links = {estate["storagelink"], estate["nic"]}
    assert set(occi.listing("/resource/", media)) == resources
    assert set(occi.listing("/link/", media)) == links
    assert set(occi.listing("/", media)) == resources | links


@pytest.mark.parametrize("media", (TEXT_PLAIN, TEXT_OCCI, URI_LIST))
def test_text_listings_are_absolute_locations(occi: OcciClient, estate, media: str) -> None:
    response = occi.request("GET", "/network/", accept=media, status=200)
    text = response.headers.get("X-OCCI-Location", "") if media == TEXT_OCCI else response.text
    assert f"{BASE}{estate['front']}" in text


@pytest.mark.parametrize("media", JSON_MEDIA)
def test_json_listings_are_full_renderings(occi: OcciClient, estate, media: str) -> None:
    response = occi.request("GET", "/compute/", accept=media, status=200)
    (web,) = collection_of(response).resources
    assert web.attributes["occi.core.title"] == "web"
    assert {link.kind for link in web.links} == {STORAGELINK, INFRA + "networkinterface"}
    links = collection_of(occi.request("GET", "/link/", accept=media, status=200)).links
    assert {link.source for link in links} == {estate["web"]}


def test_an_empty_collection(occi: OcciClient, cloud) -> None:
    assert occi.request("GET", "/storage/", status=200).text == ""
    assert occi.request("GET", "/storage/", accept="application/occi+json").json == {
        "resources": []
    }


def test_a_kind_location_without_its_slash(occi: OcciClient, estate) -> None:
    assert occi.listing("/network") == occi.listing("/network/")


@pytest.mark.parametrize("media", LISTING_MEDIA)
def test_filter_by_attribute(occi: OcciClient, estate, media: str) -> None:
    headers = {"X-OCCI-Attribute": 'occi.core.title="back"'}
    assert occi.listing("/network/", media, headers=headers) == [estate["back"]]
    headers = {"X-OCCI-Attribute": "occi.network.vlan=10"}
    assert occi.listing("/network/", media, headers=headers) == [estate["front"]]
    headers = {"X-OCCI-Attribute": 'occi.core.title="nothing"'}
    assert occi.listing("/network/", media, headers=headers) == []


@pytest.mark.parametrize("media", LISTING_MEDIA)
def test_filter_by_category(occi: OcciClient, estate, media: str) -> None:
    headers = {"Category": f'storage; scheme="{INFRA}"; class="kind"'}
    assert occi.listing("/", media, headers=headers) == [estate["data"]]
    headers = {"Category": f'link; scheme="{CORE}"; class="kind"'}
    assert set(occi.listing("/", media, headers=headers)) == {estate["storagelink"], estate["nic"]}
    ipnetwork = "http://schemas.ogf.org/occi/infrastructure/network#"
    headers = {"Category": f'ipnetwork; scheme="{ipnetwork}"; class="mixin"'}
    assert set(occi.listing("/resource/", media, headers=headers)) == {
        estate["front"],
        estate["back"],
    }


def test_filter_by_category_and_attribute_in_text_occi_form(occi: OcciClient, estate) -> None:
    # What GFD.223 §3.5 shows, and what pOCCI sends: a text/occi Content-Type on a GET.
    headers = {
        "Content-Type": TEXT_OCCI,
        "Category": f'network; scheme="{INFRA}"; class="kind"',
        "X-OCCI-Attribute": 'occi.core.title="front"',
    }
    assert occi.listing("/network/", TEXT_PLAIN, headers=headers) == [estate["front"]]


def test_filter_on_a_link_target(occi: OcciClient, estate) -> None:
    headers = {"X-OCCI-Attribute": f'occi.core.target="{BASE}{estate["front"]}"'}
    assert occi.listing("/link/", headers=headers) == [estate["nic"]]


@pytest.mark.parametrize("media", LISTING_MEDIA)
def test_pagination(occi: OcciClient, cloud, media: str) -> None:
    paths = [occi.create(NETWORK, {"occi.core.title": f"n{i}"}) for i in range(5)]
    assert occi.listing("/network/?page=1&number=2", media) == paths[:2]
    assert occi.listing("/network/?page=2&number=2", media) == paths[2:4]
    assert occi.listing("/network/?page=3;number=2", media) == paths[4:]  # ';' too
    assert occi.listing("/network/?page=4&number=2", media) == []  # past the end: empty, 200


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=1", 400),
        ("number=2", 400),
        ("page=0&number=2", 400),
        ("page=1&number=0", 400),
        ("page=x&number=1", 400),
        ("page=1&number=-1", 400),
        ("page=1&number=10001", 413),
        ("page=1&number=1000000000000000", 413),
    ],
)
def test_bad_pages(occi: OcciClient, cloud, query: str, status: int) -> None:
    occi.request("GET", f"/network/?{query}", status=status)


def test_paginated_filtered_listing(occi: OcciClient, cloud) -> None:
    for i in range(4):
        occi.create(NETWORK, {"occi.core.title": "same" if i % 2 else f"other{i}"})
    headers = {"X-OCCI-Attribute": 'occi.core.title="same"'}
    first = occi.listing("/network/?page=1&number=1", headers=headers)
    second = occi.listing("/network/?page=2&number=1", headers=headers)
    assert len(first) == len(second) == 1 and first != second


def test_delete_a_kind_collection(occi: OcciClient, cloud) -> None:
    for title in ("a", "b"):
        occi.create(NETWORK, {"occi.core.title": title})
    keep = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    # Every member of a Kind: only when confirmed (an empty $ID in a script).
    response = occi.request("DELETE", "/network/", status=400)
    assert "confirm=all" in response.text and "Concord-Confirm: all" in response.text
    occi.request("DELETE", "/network/?confirm=yes", status=400)
    assert len(occi.listing("/network/")) == 2
    occi.request("DELETE", "/network/?confirm=all", status=204)
    assert occi.listing("/network/") == []
    assert occi.listing("/storage/") == [keep]
    occi.create(NETWORK, {"occi.core.title": "c"})
    cloud.run_jobs()
    occi.request("DELETE", "/network/", headers={"Concord-Confirm": "all"}, status=204)
    assert occi.listing("/network/") == []


def test_a_delete_filtered_by_the_query(occi: OcciClient, cloud) -> None:
    doomed = occi.create(NETWORK, {"occi.core.title": "doomed"})
    kept = occi.create(NETWORK, {"occi.core.title": "kept"})
    cloud.run_jobs()
    occi.request("DELETE", "/network/?occi.core.title=doomed", status=204)
    assert occi.listing("/network/") == [kept]
    occi.request("GET", doomed, status=404)
    occi.request("DELETE", "/network/?occi.core.titel=kept", status=400)
    assert occi.listing("/network/") == [kept]


def test_the_delete_guard_can_be_turned_off(database, settings, cloud) -> None:
    from dataclasses import replace

    from webtest import TestApp

    from concord.app import make_app

    unguarded = OcciClient(
        TestApp(make_app(replace(settings, occi_confirm_collection_delete=False), database))
    )
    unguarded.create(NETWORK, {"occi.core.title": "a"})
    cloud.run_jobs()
    unguarded.request("DELETE", "/network/", status=204)
    assert unguarded.listing("/network/") == []


def test_delete_a_filtered_kind_collection(occi: OcciClient, cloud) -> None:
    doomed = occi.create(NETWORK, {"occi.core.title": "doomed"})
    kept = occi.create(NETWORK, {"occi.core.title": "kept"})
    cloud.run_jobs()
    occi.request(
        "DELETE", "/network/", headers={"X-OCCI-Attribute": 'occi.core.title="doomed"'}, status=204
    )
    assert occi.listing("/network/") == [kept]
    occi.request("GET", doomed, status=404)


def test_a_delete_filter_on_an_undefined_attribute_is_refused(occi: OcciClient, cloud) -> None:
    # A misspelt attribute would otherwise select nothing and answer 204.
    kept = occi.create(NETWORK, {"occi.core.title": "kept"})
    cloud.run_jobs()
    response = occi.request(
        "DELETE", "/network/", headers={"X-OCCI-Attribute": 'occi.core.titel="kept"'}, status=400
    )
    assert "occi.core.titel" in response.text
    # Another Kind's attribute: no network can have it either.
    occi.request(
        "DELETE", "/network/", headers={"X-OCCI-Attribute": "occi.storage.size=1"}, status=400
    )
    assert occi.listing("/network/") == [kept]


def test_deleting_a_collection_is_all_or_nothing(occi: OcciClient, estate) -> None:
    # The networks carry an interface of a running compute: the engine refuses one,
    # so nothing at all is deleted (the tween rolls the request back).
    occi.request("DELETE", "/network/?confirm=all", status=409)
    assert len(occi.listing("/network/")) == 2


def test_a_union_view_takes_no_creation_or_deletion(occi: OcciClient, cloud) -> None:
    document = EntityRendering(kind=NETWORK)
    occi.request("POST", "/resource/", document=document, status=403)
    response = occi.request("DELETE", "/", status=405)
    assert response.headers["Allow"] == "GET, HEAD, POST"
    occi.request("PUT", "/network/", status=405)


def test_head_on_a_collection(occi: OcciClient, estate) -> None:
    response = occi.request("HEAD", "/network/", status=200)
    assert response.body == b""
    assert response.content_type == TEXT_PLAIN


def test_unknown_collections_are_404(occi: OcciClient, cloud) -> None:
    occi.request("GET", "/nowhere/", status=404)
    occi.request("GET", "/mixin/os_tpl/nothing/", status=404)


@pytest.mark.parametrize("accept", [TEXT_PLAIN, URI_LIST, *JSON_MEDIA])
def test_attribute_filters_in_the_query(occi: OcciClient, cloud, accept: str) -> None:
    running = occi.create(COMPUTE, {"occi.core.title": "a", "occi.compute.cores": 2})
    stopped = occi.create(COMPUTE, {"occi.core.title": "b"})
    cloud.run_jobs()
    occi.invoke(stopped, "http://schemas.ogf.org/occi/infrastructure/compute/action#stop")
    cloud.run_jobs()

    def listed(query: str) -> set[str]:
        response = occi.request("GET", f"/compute/?{query}", accept=accept)
        if accept in JSON_MEDIA:
            return {path_of(e) for e in collection_of(response).resources}
        return set(locations_of(response))

    assert listed("occi.compute.state=active") == {running}
    assert listed("occi.compute.state=inactive") == {stopped}
    assert listed("occi.compute.cores=2") == {running}
    assert listed("occi.compute.state=active&occi.core.title=b") == set()
    assert listed("occi.core.title=b;page=1;number=5") == {stopped}


@pytest.mark.parametrize(
    "query", ["occi.compute.stat=active", "state=active", "filter=x", "occi.compute.cores=two"]
)
def test_an_unknown_query_parameter_is_a_400_naming_it(occi: OcciClient, cloud, query) -> None:
    occi.create(COMPUTE)
    response = occi.request("GET", f"/compute/?{query}", status=400)
    assert query.split("=")[0] in response.text


def test_a_filter_decided_in_sql_keeps_links_kinds_and_categories(
    occi: OcciClient, estate, cloud
) -> None:
    """Filters the listing's query decides (occi.mapping.sql_filters) give what matching does.

    A compute kept by a title filter renders all its links (GFD.223 §3.7)
    and no other compute's; ``/resource/`` filters every resource Kind;
    a Category filter beside an attribute one still applies.
    """
    other = occi.create(COMPUTE, {"occi.core.title": "other"})
    cloud.run_jobs()
    title = {"X-OCCI-Attribute": 'occi.core.title="web"'}
    found = collection_of(occi.request("GET", "/compute/", accept=JSON_MEDIA[0], headers=title))
    every = collection_of(occi.request("GET", "/compute/", accept=JSON_MEDIA[0]))
    assert [path_of(e) for e in found.resources] == [estate["web"]]
    assert found.resources[0] == next(e for e in every.resources if path_of(e) == estate["web"])
    assert len(found.resources[0].links) == 2
    assert occi.listing("/compute/?occi.core.title=other") == [other]
    assert occi.listing("/resource/?occi.core.title=data") == [estate["data"]]
    assert occi.listing("/resource/?occi.core.title=front") == [estate["front"]]
    by_kind = {
        "Category": 'network; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"',
        "X-OCCI-Attribute": 'occi.core.title="back"',
    }
    assert occi.listing("/resource/", headers=by_kind) == [estate["back"]]
    by_kind["Category"] = by_kind["Category"].replace("network;", "storage;")
    assert occi.listing("/resource/", headers=by_kind) == []


def test_a_filter_on_an_integer_past_every_float_matches_nothing(occi: OcciClient, estate) -> None:
    # Such a value once reached a float conversion in the DELETE's matching: a 500.
    huge = "1" + "0" * 400
    for attribute, collection in (
        ("occi.network.vlan", "/network/"),
        ("occi.storage.size", "/storage/"),
        ("occi.compute.cores", "/compute/"),
    ):
        headers = {"X-OCCI-Attribute": f"{attribute}={huge}"}
        assert occi.listing(collection, headers=headers) == []
        before = occi.listing(collection)
        occi.request("DELETE", collection, headers=headers, status=204)
        assert occi.listing(collection) == before
