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
    occi.request("DELETE", "/network/", status=204)
    assert occi.listing("/network/") == []
    assert occi.listing("/storage/") == [keep]


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
    occi.request("DELETE", "/network/", status=409)
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
