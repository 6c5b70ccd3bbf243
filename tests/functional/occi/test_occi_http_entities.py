"""Entities: create (POST and PUT), read, partial and full update, delete (GFD.223 §3.7).

Every operation runs in every request rendering and its answer is read in
every response rendering: a matrix, not a sample.
"""

from __future__ import annotations

import itertools
import json

import pytest
from functional.occi.occiclient import (
    BASE,
    COMPUTE,
    INFRA,
    JSON_MEDIA,
    NETWORK,
    OCCI_JSON,
    REQUEST_MEDIA,
    RESOURCE_TPL_SCHEME,
    RESPONSE_MEDIA,
    STORAGE,
    STORAGELINK,
    TEXT_MEDIA,
    URI_LIST,
    OcciClient,
    entity_of,
    locations_of,
)

from occi.model import EntityRendering, LinkRendering

#: One creation request per resource Kind, and what reading it back must show.
RESOURCES = {
    COMPUTE: {
        "occi.core.title": "web",
        "occi.core.summary": "the web tier",
        "occi.compute.cores": 2,
        "occi.compute.memory": 1.0,
        "occi.compute.hostname": "web.example.org",
    },
    STORAGE: {"occi.core.title": "data", "occi.storage.size": 2.0},
    NETWORK: {"occi.core.title": "back", "occi.network.vlan": 42, "occi.network.label": "backend"},
}


@pytest.mark.parametrize(("kind", "media"), list(itertools.product(RESOURCES, REQUEST_MEDIA)))
def test_create_by_post_in_every_rendering(occi: OcciClient, cloud, kind: str, media: str) -> None:
    term = kind.rsplit("#", 1)[-1]
    response = occi.request(
        "POST",
        f"/{term}/",
        document=EntityRendering(kind=kind, attributes=RESOURCES[kind]),
        media=media,
        accept=media,
        status=201,
    )
    location = response.headers["Location"]
    assert location.startswith(f"{BASE}/{term}/")  # absolute (occi.md §10 item 5)
    if media in TEXT_MEDIA:
        assert locations_of(response) == [location.removeprefix(BASE)]
    else:
        assert entity_of(response).kind == kind
    cloud.run_jobs()
    for accept in RESPONSE_MEDIA:
        entity = occi.read(location.removeprefix(BASE), accept)
        assert entity.kind == kind
        for name, value in RESOURCES[kind].items():
            assert entity.attributes[name] == value, (accept, name)
        assert str(entity.attributes["occi.core.id"]).startswith("urn:uuid:")


@pytest.mark.parametrize("accept", RESPONSE_MEDIA)
def test_read_renders_state_actions_and_mixins(occi: OcciClient, cloud, accept: str) -> None:
    path = occi.create(COMPUTE, {"occi.core.title": "web"}, mixins=[RESOURCE_TPL_SCHEME + "small"])
    cloud.run_jobs()
    entity = occi.read(path, accept)
    assert entity.attributes["occi.compute.state"] == "active"
    assert entity.attributes["occi.compute.cores"] == 1
    assert entity.attributes["occi.compute.memory"] == 0.5
    assert RESOURCE_TPL_SCHEME + "small" in entity.mixins
    actions = {a.rsplit("#", 1)[-1] for a in entity.actions}
    assert actions == {"stop", "restart", "suspend"}  # what an active compute accepts now


def test_the_text_rendering_of_an_entity(occi: OcciClient, cloud) -> None:
    path = occi.create(COMPUTE, {"occi.core.title": "web"})
    cloud.run_jobs()
    lines = occi.request("GET", path, status=200).text.split("\n")
    assert lines[0] == f'Category: compute; scheme="{INFRA}"; class="kind"'
    assert (
        f"Link: <{BASE}{path}?action=stop>; "
        'rel="http://schemas.ogf.org/occi/infrastructure/compute/action#stop"' in lines
    )
    assert 'X-OCCI-Attribute: occi.compute.state="active"' in lines
    assert f'X-OCCI-Attribute: occi.core.id="urn:uuid:{path.rsplit("/", 1)[1]}"' in lines


def test_text_occi_puts_the_rendering_in_headers(occi: OcciClient, cloud) -> None:
    path = occi.create(STORAGE, {"occi.storage.size": 1})
    response = occi.request("GET", path, accept="text/occi", status=200)
    assert response.text == "OK"
    assert f'storage; scheme="{INFRA}"; class="kind"' in response.headers["Category"]
    assert "occi.storage.size=1.0" in response.headers["X-OCCI-Attribute"]


def test_uri_list_for_an_entity_is_400(occi: OcciClient, cloud) -> None:
    path = occi.create(NETWORK)
    occi.request("GET", path, accept=URI_LIST, status=400)


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_create_by_put_at_a_client_chosen_path(occi: OcciClient, cloud, media: str) -> None:
    document = EntityRendering(kind=NETWORK, attributes={"occi.core.title": "mine"})
    response = occi.request(
        "PUT", "/network/my-net", document=document, media=media, accept=media, status=201
    )
    assert response.headers["Location"] == f"{BASE}/network/my-net"
    entity = occi.read("/network/my-net")
    assert entity.attributes["occi.core.id"] == "urn:concord:network:my-net"
    assert "/network/my-net" in occi.listing("/network/")
    # The path is taken now: a second PUT is a full update.
    again = occi.request("PUT", "/network/my-net", document=document, media=media, status=200)
    assert entity_of(again).attributes["occi.core.title"] == "mine"


@pytest.mark.parametrize(
    ("path", "attributes", "status"),
    [
        ("/network/" + "x" * 65, {}, 400),  # longer than an id
        ("/network/.hidden", {}, 400),
        ("/network/n1", {"occi.core.id": "urn:uuid:00000000-0000-0000-0000-000000000000"}, 400),
    ],
)
def test_refused_put_creations(occi: OcciClient, cloud, path, attributes, status) -> None:
    document = EntityRendering(kind=NETWORK, attributes=attributes)
    occi.request("PUT", path, document=document, status=status)
    assert occi.listing("/network/") == []


def test_an_id_is_never_reused(occi: OcciClient, cloud) -> None:
    document = EntityRendering(kind=NETWORK)
    occi.request("PUT", "/network/n1", document=document, status=201)
    cloud.run_jobs()
    occi.request("DELETE", "/network/n1", status=204)
    cloud.run_jobs()
    occi.request("PUT", "/network/n1", document=document, status=409)


@pytest.mark.parametrize(
    ("media", "accept"), list(zip(REQUEST_MEDIA, RESPONSE_MEDIA[::-1], strict=True))
)
def test_partial_update(occi: OcciClient, cloud, media: str, accept: str) -> None:
    path = occi.create(COMPUTE, {"occi.core.title": "web", "occi.core.summary": "keep me"})
    cloud.run_jobs()
    document = EntityRendering(
        attributes={"occi.core.title": "renamed", "occi.compute.hostname": "renamed.example.org"}
    )
    response = occi.request("POST", path, document=document, media=media, accept=accept, status=200)
    assert entity_of(response).attributes["occi.core.title"] == "renamed"
    entity = occi.read(path)
    assert entity.attributes["occi.core.title"] == "renamed"
    assert entity.attributes["occi.compute.hostname"] == "renamed.example.org"
    assert entity.attributes["occi.core.summary"] == "keep me"


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_full_update_replaces_and_clears(occi: OcciClient, cloud, media: str) -> None:
    path = occi.create(
        NETWORK, {"occi.core.title": "n", "occi.core.summary": "old", "occi.network.label": "old"}
    )
    cloud.run_jobs()
    document = EntityRendering(kind=NETWORK, attributes={"occi.core.title": "replaced"})
    occi.request("PUT", path, document=document, media=media, status=200)
    entity = occi.read(path)
    assert entity.attributes["occi.core.title"] == "replaced"
    assert "occi.core.summary" not in entity.attributes  # missing: deleted (GFD.185)
    assert "occi.network.label" not in entity.attributes


def test_a_full_update_leaves_links_intact(occi: OcciClient, cloud) -> None:
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    compute = occi.create(COMPUTE, links=[LinkRendering(target=volume, kind=STORAGELINK)])
    cloud.run_jobs()
    before = occi.read(compute)
    assert [link.target for link in before.links] == [volume]
    document = EntityRendering(kind=COMPUTE, attributes={"occi.core.title": "replaced"})
    occi.request("PUT", compute, document=document, status=200)
    after = occi.read(compute)
    assert [link.target for link in after.links] == [volume]
    assert after.attributes["occi.core.title"] == "replaced"


def test_what_a_client_sends_back_unchanged_is_accepted(occi: OcciClient, cloud) -> None:
    path = occi.create(COMPUTE)
    cloud.run_jobs()
    read = occi.read(path)
    # A full round trip: immutable attributes and states included, unchanged.
    document = EntityRendering(kind=read.kind, mixins=read.mixins, attributes=dict(read.attributes))
    occi.request("PUT", path, document=document, status=200)
    occi.request("POST", path, document=document, status=200)


@pytest.mark.parametrize(
    ("attributes", "status"),
    [
        ({"occi.core.id": "urn:uuid:11111111-2222-3333-4444-555555555555"}, 400),  # immutable
        ({"occi.compute.state": "suspended"}, 400),  # the server's, not the client's
        ({"occi.compute.state.message": "hello"}, 400),
        ({"occi.compute.cores": 2}, 409),  # resized only when stopped
        ({"occi.compute.architecture": "x86"}, 409),  # fixed once created
        ({"occi.compute.cores": "two"}, 400),
        ({"occi.compute.cores": 0}, 400),
        ({"occi.compute.nonsense": 1}, 400),  # defined by no Kind or Mixin
        ({"occi.storage.size": 1}, 400),  # storage's attribute, not compute's
        ({"occi.core.title": ""}, 400),
    ],
)
def test_refused_updates_change_nothing(occi: OcciClient, cloud, attributes, status) -> None:
    path = occi.create(COMPUTE, {"occi.core.title": "web"})
    cloud.run_jobs()
    before = occi.read(path, OCCI_JSON)
    occi.request("POST", path, document=EntityRendering(attributes=attributes), status=status)
    assert occi.read(path, OCCI_JSON) == before


@pytest.mark.parametrize("media", REQUEST_MEDIA)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_an_immutable_attribute_changed_is_a_400_that_names_it(
    occi: OcciClient, cloud, media: str, method: str
) -> None:
    path = occi.create(COMPUTE, {"occi.core.title": "web"})
    cloud.run_jobs()
    before = occi.read(path, OCCI_JSON)
    for name, value in (
        ("occi.compute.state", "suspended"),
        ("occi.core.id", "11111111-2222-3333-4444-555555555555"),
    ):
        attributes = {**before.attributes, name: value, "occi.core.title": "changed"}
        document = EntityRendering(kind=before.kind, mixins=before.mixins, attributes=attributes)
        response = occi.request(method, path, document=document, media=media, status=400)
        assert name in response.text
        assert occi.read(path, OCCI_JSON) == before  # not even the title changed
    # The current value sent back is no change at all.
    same = {**before.attributes, "occi.core.title": "changed"}
    document = EntityRendering(kind=before.kind, mixins=before.mixins, attributes=same)
    occi.request(method, path, document=document, media=media, status=200)
    assert occi.attribute(path, "occi.compute.state") == "active"
    assert occi.attribute(path, "occi.core.title") == "changed"


def test_resize_a_stopped_compute_and_grow_a_volume(occi: OcciClient, cloud) -> None:
    compute = occi.create(COMPUTE)
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    occi.invoke(compute, "http://schemas.ogf.org/occi/infrastructure/compute/action#stop")
    cloud.run_jobs()
    document = EntityRendering(attributes={"occi.compute.cores": 2, "occi.compute.memory": 1.5})
    occi.request("POST", compute, document=document, status=200)
    assert (
        occi.attribute(compute, "occi.compute.cores"),
        occi.attribute(compute, "occi.compute.memory"),
    ) == (2, 1.5)
    occi.request(
        "POST", volume, document=EntityRendering(attributes={"occi.storage.size": 3}), status=200
    )
    cloud.run_jobs()
    assert occi.attribute(volume, "occi.storage.size") == 3.0
    # A volume never shrinks (the engine would cut data).
    occi.request(
        "POST", volume, document=EntityRendering(attributes={"occi.storage.size": 2}), status=400
    )


@pytest.mark.parametrize("kind", [COMPUTE, STORAGE, NETWORK])
def test_delete_an_entity(occi: OcciClient, cloud, kind: str) -> None:
    attributes = {"occi.storage.size": 1} if kind == STORAGE else {}
    path = occi.create(kind, attributes)
    cloud.run_jobs()
    response = occi.request("DELETE", path, status=204)
    assert response.body == b""
    occi.request("GET", path, status=404)  # gone for OCCI at once
    assert path not in occi.listing(f"/{kind.rsplit('#', 1)[-1]}/")
    cloud.run_jobs()
    occi.request("GET", path, status=404)
    occi.request("DELETE", path, status=404)


def test_a_kind_change_is_refused(occi: OcciClient, cloud) -> None:
    path = occi.create(NETWORK)
    occi.request("POST", path, document=EntityRendering(kind=STORAGE), status=400)
    occi.request("PUT", path, document=EntityRendering(kind=STORAGE), status=400)


def test_an_unknown_entity_is_404_in_every_method(occi: OcciClient, cloud) -> None:
    for method in ("GET", "POST", "DELETE"):
        occi.request(method, "/compute/no-such-thing", status=404)
    occi.request("POST", "/compute/no-such-thing?action=start", status=404)


@pytest.mark.parametrize("media", JSON_MEDIA)
def test_json_creation_of_several_entities(occi: OcciClient, cloud, media: str) -> None:
    body = json.dumps(
        {"resources": [{"kind": NETWORK, "attributes": {"occi.core.title": t}} for t in "ab"]}
    )
    response = occi.request(
        "POST", "/network/", headers={"Content-Type": media}, body=body, accept=media, status=201
    )
    titles = sorted(r["title"] for r in response.json["resources"])
    assert titles == ["a", "b"]
    assert len(occi.listing("/network/")) == 2
