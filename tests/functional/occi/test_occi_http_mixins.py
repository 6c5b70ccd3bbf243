"""Mixin collections: associate (POST), replace (PUT), dissociate (DELETE) (GFD.223 §3.6–3.7).

Tags in every request rendering, provider Mixins (templates), and the
tenant scope of both.
"""

from __future__ import annotations

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    IPNETWORK,
    NETWORK,
    OCCI_JSON,
    OS_TPL_SCHEME,
    REQUEST_MEDIA,
    RESOURCE_TPL,
    RESOURCE_TPL_SCHEME,
    RESPONSE_MEDIA,
    STORAGE,
    TEXT_PLAIN,
    OcciClient,
    locations_of,
)

from occi.model import EntityRendering


@pytest.fixture
def tagged(occi: OcciClient, cloud) -> dict[str, str]:
    """A tag ``/web/`` and three networks."""
    paths = {f"n{i}": occi.create(NETWORK, {"occi.core.title": f"n{i}"}) for i in range(3)}
    paths["tag"] = occi.define_tag("web", "/web/")
    cloud.run_jobs()
    return paths


@pytest.mark.parametrize(("media", "accept"), list(zip(REQUEST_MEDIA, RESPONSE_MEDIA, strict=True)))
def test_associate_replace_dissociate(occi: OcciClient, tagged, media: str, accept: str) -> None:
    n0, n1, n2 = tagged["n0"], tagged["n1"], tagged["n2"]
    response = occi.members("/web/", [n0, n1], "POST", media=media)
    assert locations_of(response) == [n0, n1]
    assert occi.listing("/web/", accept) == [n0, n1]
    assert tagged["tag"] in occi.read(n0, accept).mixins
    # Associating again changes nothing.
    occi.members("/web/", [n1], "POST", media=media)
    assert occi.listing("/web/", accept) == [n0, n1]
    # PUT is a full replacement (occi.md §10 item 17).
    response = occi.members("/web/", [n2], "PUT", media=media)
    assert locations_of(response) == [n2]
    assert tagged["tag"] not in occi.read(n0).mixins
    response = occi.members("/web/", [n2], "DELETE", media=media)
    assert locations_of(response) == []
    assert occi.listing("/web/", accept) == []


def test_a_delete_without_locations_empties_the_tag(occi: OcciClient, tagged) -> None:
    occi.members("/web/", [tagged["n0"], tagged["n1"]], "POST")
    occi.request("DELETE", "/web/", status=200)
    assert occi.listing("/web/") == []


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_tags_given_at_creation_and_in_updates(occi: OcciClient, tagged, media: str) -> None:
    tag = tagged["tag"]
    created = occi.create(NETWORK, mixins=[tag], media=media)
    assert occi.listing("/web/") == [created]
    other = occi.define_tag("db", "/db/")
    # A partial update adds a tag; a full update sets exactly the tags it names.
    occi.request(
        "POST", created, document=EntityRendering(mixins=(other,)), media=media, status=200
    )
    assert {tag, other} <= set(occi.read(created).mixins)
    occi.request(
        "PUT",
        created,
        document=EntityRendering(kind=NETWORK, mixins=(other,)),
        media=media,
        status=200,
    )
    mixins = occi.read(created).mixins
    assert other in mixins and tag not in mixins
    assert IPNETWORK in mixins  # a provider Mixin cannot be taken off


def test_deleting_a_tag_dissociates_everything(occi: OcciClient, tagged) -> None:
    occi.members("/web/", [tagged["n0"]], "POST")
    body = 'Category: web; scheme="http://example.org/alice/tags#"; class="mixin"\r\n'
    occi.request("DELETE", "/-/", headers={"Content-Type": TEXT_PLAIN}, body=body, status=200)
    assert tagged["tag"] not in occi.read(tagged["n0"]).mixins


def test_a_tag_that_applies_to_one_kind(occi: OcciClient, cloud) -> None:
    network = occi.create(NETWORK)
    storage = occi.create(STORAGE, {"occi.storage.size": 1})
    # applies has no text form (occi.md §10 item 7): JSON defines it.
    tag = occi.define_tag(
        "nets",
        "/nets/",
        media=OCCI_JSON,
        applies=("http://schemas.ogf.org/occi/infrastructure#network",),
    )
    occi.members("/nets/", [network], "POST")
    occi.members("/nets/", [storage], "POST", status=400)
    document = EntityRendering(kind=STORAGE, mixins=(tag,), attributes={"occi.storage.size": 1})
    occi.request("POST", "/storage/", document=document, status=400)


def test_membership_is_scoped_to_the_tenant(occi: OcciClient, tagged) -> None:
    bob = occi.as_user("bob")
    # Bob has no /web/ and cannot see alice's networks.
    bob.request("GET", "/web/", status=404)
    bob.define_tag("web", "/web/", scheme="http://example.org/bob/tags#")
    bob.members("/web/", [tagged["n0"]], "POST", status=404)
    assert bob.listing("/web/") == []
    occi.members("/web/", [tagged["n0"]], "POST")
    assert bob.listing("/web/") == []
    bob.request("GET", tagged["n0"], status=404)


def test_unknown_locations_are_404_and_change_nothing(occi: OcciClient, tagged) -> None:
    occi.members("/web/", [tagged["n0"], "/network/nope"], "POST", status=404)
    occi.members("/web/", ["/nowhere/x"], "POST", status=404)
    assert occi.listing("/web/") == []


def test_provider_mixin_collections(occi: OcciClient, cloud) -> None:
    small = RESOURCE_TPL_SCHEME + "small"
    large = RESOURCE_TPL_SCHEME + "large"
    compute = occi.create(COMPUTE, mixins=[small])
    other = occi.create(COMPUTE, mixins=[OS_TPL_SCHEME + "firmware"])
    cloud.run_jobs()
    small_path = "/mixin/resource_tpl/small/"
    assert compute in occi.listing(small_path)
    assert occi.listing("/mixin/os_tpl/firmware/") == [other]
    # The parent collects every compute that has one of its templates.
    assert compute in occi.listing("/mixin/resource_tpl/")
    # Membership of provider Mixins follows from the entities.
    occi.members(small_path, [compute], "PUT", status=403)
    occi.members(small_path, [compute], "DELETE", status=403)
    # Associating a resource template is a resize (GFD.224 §3.5.2), for a stopped compute.
    large_path = "/mixin/resource_tpl/large/"
    occi.members(large_path, [compute], "POST", status=409)
    occi.invoke(compute, COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    occi.members(large_path, [compute], "POST", status=200)
    entity = occi.read(compute)
    assert large in entity.mixins and small not in entity.mixins
    assert (entity.attributes["occi.compute.cores"], entity.attributes["occi.compute.memory"]) == (
        2,
        2.0,
    )


def test_a_resource_template_replaces_the_old_one_in_a_partial_update(
    occi: OcciClient, cloud
) -> None:
    compute = occi.create(COMPUTE, mixins=[RESOURCE_TPL_SCHEME + "small"])
    cloud.run_jobs()
    occi.invoke(compute, COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    large = RESOURCE_TPL_SCHEME + "large"
    occi.request("POST", compute, document=EntityRendering(mixins=(large,)), status=200)
    assert large in occi.read(compute).mixins
    assert RESOURCE_TPL not in occi.read(compute).mixins


def test_an_os_template_cannot_be_replaced(occi: OcciClient, cloud) -> None:
    compute = occi.create(COMPUTE, mixins=[OS_TPL_SCHEME + "firmware"])
    cloud.run_jobs()
    occi.invoke(compute, COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    # The same one is no change; Concord cannot rebuild a guest from another.
    same = EntityRendering(mixins=(OS_TPL_SCHEME + "firmware",))
    occi.request("POST", compute, document=same, status=200)


def test_an_action_on_a_tag_collection(occi: OcciClient, cloud) -> None:
    first, second = occi.create(COMPUTE), occi.create(COMPUTE)
    tag = occi.define_tag("batch", "/batch/")
    cloud.run_jobs()
    occi.members("/batch/", [first], "POST")
    occi.invoke("/batch/", COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    assert occi.attribute(first, "occi.compute.state") == "inactive"
    assert occi.attribute(second, "occi.compute.state") == "active"
    assert tag in occi.read(first).mixins


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_list_of_locations_takes_nothing_else(occi: OcciClient, tagged, method: str) -> None:
    # An entity where a list was expected: read as "no locations", a PUT would
    # have emptied the Mixin.
    occi.members("/web/", [tagged["n0"]], "POST")
    body = f"X-OCCI-Location: {tagged['n1']}\r\nX-OCCI-Attribute: occi.core.title=1\r\n"
    response = occi.request(
        method, "/web/", body=body, headers={"Content-Type": TEXT_PLAIN}, status=400
    )
    assert "X-OCCI-Location only" in response.text
    assert occi.listing("/web/") == [tagged["n0"]]


@pytest.mark.parametrize(("method", "target"), [("PUT", "/web/"), ("DELETE", "n0"), ("GET", "n0")])
def test_an_action_query_takes_post_only(
    occi: OcciClient, tagged, method: str, target: str
) -> None:
    occi.members("/web/", [tagged["n0"]], "POST")
    path = tagged.get(target, target)
    response = occi.request(method, f"{path}?action=down", status=405)
    assert response.headers["Allow"] == "POST"
    assert occi.listing("/web/") == [tagged["n0"]]
    occi.request("GET", tagged["n0"], status=200)
