"""OCCI pages read in SQL, and filtered DELETEs that remove what the GET lists (issue 15).

* ``page``/``number`` on a resource Kind's collection are read by seeking on
  the listing order (occi.mapping.paging); every page must be the slice of
  the whole listing that the server answered before, in every rendering,
  with and without an attribute filter, over ``/resource/`` (several Kinds)
  too, and members being deleted are still left out;
* a member created while a client pages is listed after every older one:
  the pages already read keep their members;
* a DELETE on a collection filtered by attributes chooses its members as
  the GET with the same filter does (SQL where it can decide, the renderings
  for the rest): it removes exactly what that GET lists, and nothing of
  another tenant's.
"""

from __future__ import annotations

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    INFRA,
    JSON_MEDIA,
    NETWORK,
    STORAGE,
    STORAGELINK,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    OcciClient,
    collection_of,
)

from occi.model import LinkRendering

STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"


@pytest.fixture
def members(occi: OcciClient, cloud) -> dict[str, list[str]]:
    """Networks, volumes and computes (one linked to a volume and a network), one network
    being deleted; bob has networks of the same titles."""
    networks = [
        occi.create(NETWORK, {"occi.core.title": f"n{i % 3}", "occi.network.vlan": 10 + i % 2})
        for i in range(7)
    ]
    volumes = [occi.create(STORAGE, {"occi.storage.size": 1 + i % 2}) for i in range(3)]
    cloud.run_jobs()
    computes = [
        occi.create(
            COMPUTE,
            {"occi.core.title": "web"},
            links=[
                LinkRendering(target=volumes[0], kind=STORAGELINK),
                LinkRendering(target=networks[0], kind=INFRA + "networkinterface"),
            ],
        ),
        occi.create(COMPUTE, {"occi.core.title": "n1"}),
        occi.create(COMPUTE, {"occi.core.title": "db", "occi.compute.cores": 2}),
    ]
    cloud.run_jobs()
    occi.request("DELETE", networks[3], status=204)  # deleting: no longer listed
    bob = occi.as_user("bob")
    theirs = [bob.create(NETWORK, {"occi.core.title": f"n{i}"}) for i in range(3)]
    cloud.run_jobs()
    return {"network": networks, "storage": volumes, "compute": computes, "bob": theirs}


def _listed(occi: OcciClient, path: str, media: str, headers: dict[str, str] | None = None):
    response = occi.request("GET", path, accept=media, headers=headers, status=200)
    if media in JSON_MEDIA:
        return collection_of(response).resources
    return occi.listing(path, media, headers=headers)


PATHS = [
    "/network/",
    "/storage/",
    "/compute/",
    "/resource/",
    "/network/?occi.core.title=n1",
    "/resource/?occi.core.title=n1",
    "/network/?occi.network.vlan=11",
]


@pytest.mark.parametrize("media", [TEXT_PLAIN, TEXT_OCCI, URI_LIST, JSON_MEDIA[0]])
def test_every_page_is_the_slice_of_the_whole_listing(occi: OcciClient, members, media) -> None:
    for path in PATHS:
        whole = _listed(occi, path, media)
        assert whole, path
        separator = "&" if "?" in path else "?"
        for number in (1, 2, 3, 5, len(whole), len(whole) + 1):
            for page in range(1, len(whole) // number + 3):
                start = (page - 1) * number
                paged = _listed(occi, f"{path}{separator}page={page}&number={number}", media)
                assert paged == whole[start : start + number], (path, page, number)


def test_a_page_with_a_header_filter_and_a_category(occi: OcciClient, members) -> None:
    title = {"X-OCCI-Attribute": 'occi.core.title="n1"'}
    whole = occi.listing("/resource/", headers=title)
    assert len(whole) == 3  # a compute and two networks, none of bob's
    for page in (1, 2, 3):
        paged = occi.listing(f"/resource/?page={page}&number=2", headers=title)
        assert paged == whole[(page - 1) * 2 : page * 2]
    # A Category is matched on the renderings: still the slice of the listing.
    by_kind = {
        **title,
        "Category": 'network; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"',
    }
    networks = occi.listing("/resource/", headers=by_kind)
    assert occi.listing("/resource/?page=2&number=1", headers=by_kind) == networks[1:2]


def test_a_paged_json_compute_keeps_its_links_and_no_other(occi: OcciClient, members) -> None:
    every = collection_of(occi.request("GET", "/compute/", accept=JSON_MEDIA[0])).resources
    for page in range(1, len(every) + 1):
        response = occi.request("GET", f"/compute/?page={page}&number=1", accept=JSON_MEDIA[0])
        (entity,) = collection_of(response).resources
        assert entity == every[page - 1]
    assert len(every[0].links) == 2 and every[1].links == every[2].links == ()


def test_pages_already_read_keep_their_members_when_members_are_created(
    occi: OcciClient, members, cloud
) -> None:
    before = [occi.listing(f"/network/?page={page}&number=2") for page in (1, 2, 3)]
    created = [occi.create(NETWORK, {"occi.core.title": f"new{i}"}) for i in range(3)]
    cloud.run_jobs()
    after = [occi.listing(f"/network/?page={page}&number=2") for page in (1, 2, 3, 4, 5)]
    assert after[:2] == before[:2]
    assert [p for page in after for p in page] == [p for page in before for p in page] + created


CASES = [
    # (collection, filter): in SQL, or (state.message) matched on the renderings
    ("/network/", "occi.core.title=n2"),
    ("/network/", "occi.network.vlan=11&occi.core.title=n1"),
    ("/compute/", "occi.compute.cores=2"),
    ("/compute/", "occi.compute.state=inactive"),
    ("/compute/", "occi.compute.state.message=nothing"),
    ("/network/", "occi.core.title=nobody"),
    ("/storage/", "occi.storage.size=2"),
    ("/compute/", "occi.core.title=web"),
    ("/network/", "occi.network.state=active"),
]


def test_a_filtered_delete_removes_exactly_what_the_get_lists(
    occi: OcciClient, members, cloud
) -> None:
    bob = occi.as_user("bob")
    theirs = bob.listing("/network/")
    occi.invoke(members["compute"][1], STOP)
    cloud.run_jobs()
    for collection, query in CASES:
        everything = set(occi.listing("/resource/")) | set(occi.listing("/link/"))
        listed = set(occi.listing(f"{collection}?{query}"))
        occi.request("DELETE", f"{collection}?{query}", status=204)
        cloud.run_jobs()  # a network is free once its compute's interface is gone
        left = set(occi.listing("/resource/")) | set(occi.listing("/link/"))
        gone = everything - left
        # A compute's links go with it; nothing else goes.
        assert {g for g in gone if not g.startswith(("/storagelink/", "/networkinterface/"))} == (
            listed
        ), query
        assert occi.listing(f"{collection}?{query}") == [], query
        assert bob.listing("/network/") == theirs


def test_a_delete_filtered_by_headers_and_a_category(occi: OcciClient, members, cloud) -> None:
    bob = occi.as_user("bob")
    theirs = bob.listing("/network/")
    tag = occi.define_tag("doomed", "/tags/doomed/")
    chosen = members["network"][4:6]
    occi.members("/tags/doomed/", chosen, "POST")
    headers = {
        "Category": f'doomed; scheme="{tag.split("#")[0]}#"; class="mixin"',
        "X-OCCI-Attribute": 'occi.core.title="n1"',
    }
    listed = occi.listing("/network/", headers=headers)
    assert listed == [members["network"][4]]
    before = occi.listing("/network/")
    occi.request("DELETE", "/network/", headers=headers, status=204)
    assert occi.listing("/network/") == [p for p in before if p not in listed]
    assert bob.listing("/network/") == theirs
