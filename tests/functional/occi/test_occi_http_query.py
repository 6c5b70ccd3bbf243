"""The query interface (GFD.223 §3.4.1, §3.5, §3.7) in every rendering.

Discovery of every Kind, Mixin and Action with its attributes; the RFC 5785
mirror; filtering by Category; user-defined Mixins created with POST and
removed with DELETE, scoped to their tenant.
"""

from __future__ import annotations

import json

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    CORE,
    INFRA,
    IPNETWORK,
    JSON_MEDIA,
    NETWORK,
    OCCI_JSON,
    OS_TPL,
    OS_TPL_SCHEME,
    REQUEST_MEDIA,
    RESOURCE_TPL,
    RESOURCE_TPL_SCHEME,
    RESPONSE_MEDIA,
    SSH_KEY,
    STORAGE,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    USER_DATA,
    OcciClient,
    categories_of,
)

from occi.model import CategoryDefinition, CategoryDefinitions

QUERY_PATHS = ("/-/", "/.well-known/org/ogf/occi/-/")
KINDS = {
    CORE + "entity",
    CORE + "resource",
    CORE + "link",
    COMPUTE,
    STORAGE,
    NETWORK,
    INFRA + "networkinterface",
    INFRA + "storagelink",
}


def by_id(
    occi: OcciClient, media: str, path: str = "/-/", **kwargs
) -> dict[str, CategoryDefinition]:
    response = occi.request("GET", path, accept=media, status=200, **kwargs)
    return {c.type_id: c for c in categories_of(response).categories}


@pytest.mark.parametrize("media", RESPONSE_MEDIA)
def test_every_kind_mixin_and_action_is_discovered(occi: OcciClient, cloud, media: str) -> None:
    found = by_id(occi, media)
    assert set(found) >= KINDS
    assert {OS_TPL, RESOURCE_TPL, IPNETWORK, SSH_KEY, USER_DATA} <= set(found)
    for action in ("start", "stop", "restart", "suspend", "save"):
        assert found[COMPUTE_ACTION + action].cls == "action"
    compute = found[COMPUTE]
    assert compute.parent == CORE + "resource"
    assert compute.location == "/compute/"  # a path, not a URL (occi.md §10 item 5)
    assert set(compute.actions) == {
        COMPUTE_ACTION + a for a in ("start", "stop", "restart", "suspend", "save")
    }
    attributes = {a.name: a for a in compute.attributes}
    assert {
        "occi.core.id",
        "occi.core.title",
        "occi.compute.cores",
        "occi.compute.memory",
        "occi.compute.share",
        "occi.compute.state",
        "occi.compute.state.message",
    } <= set(attributes)
    assert attributes["occi.compute.state"].mutable is False
    assert attributes["occi.core.id"].mutable is False
    storage = {a.name: a for a in found[STORAGE].attributes}
    assert storage["occi.storage.size"].required is True
    # The entity Kind is not bound to a path (GFD.223 §3.1).
    assert found[CORE + "entity"].location is None
    # The catalog's image and offerings are OS and resource templates.
    templates = {c.type_id: c for c in found.values() if c.cls == "mixin" and c.depends}
    assert OS_TPL_SCHEME + "firmware" in templates
    small = templates[RESOURCE_TPL_SCHEME + "small"]
    assert small.depends == (RESOURCE_TPL,)
    assert small.location == "/mixin/resource_tpl/small/"
    # Carol's private offering is not alice's to see.
    assert RESOURCE_TPL_SCHEME + "sales-only" not in found


@pytest.mark.parametrize("media", JSON_MEDIA)
def test_json_discovery_gives_attribute_types_defaults_and_descriptions(
    occi: OcciClient, cloud, media: str
) -> None:
    document = occi.request("GET", "/-/", accept=media, status=200).json
    kinds = {k["term"]: k for k in document["kinds"]}
    memory = kinds["compute"]["attributes"]["occi.compute.memory"]
    assert memory["type"] == "number" and memory["mutable"] is True
    assert memory["description"]
    state = kinds["compute"]["attributes"]["occi.compute.state"]
    assert state == {**state, "type": "string", "mutable": False, "default": "inactive"}
    assert state["pattern"]["enum"] == ["active", "inactive", "suspended", "error"]
    mixins = {m["term"]: m for m in document["mixins"]}
    assert mixins["ipnetwork"]["applies"] == [NETWORK]
    small = mixins["small"]
    assert small["attributes"]["occi.compute.cores"]["default"] == 1
    assert small["attributes"]["occi.compute.memory"]["default"] == 0.5
    actions = {a["term"]: a for a in document["actions"]}
    assert actions["stop"]["attributes"]["method"]["pattern"]["enum"] == [
        "graceful",
        "acpioff",
        "poweroff",
    ]


def test_text_discovery_renders_attribute_properties(occi: OcciClient, cloud) -> None:
    text = occi.request("GET", "/-/", accept=TEXT_PLAIN, status=200).text
    compute = next(line for line in text.split("\n") if line.startswith("Category: compute;"))
    assert "occi.compute.state{immutable}" in compute
    assert 'location="/compute/"' in compute
    storage = next(line for line in text.split("\n") if line.startswith("Category: storage;"))
    assert "occi.storage.size{required}" in storage


@pytest.mark.parametrize("media", (*RESPONSE_MEDIA, None))
def test_the_well_known_mirror_is_identical(occi: OcciClient, cloud, media: str | None) -> None:
    here = occi.request("GET", QUERY_PATHS[0], accept=media, status=200)
    there = occi.request("GET", QUERY_PATHS[1], accept=media, status=200)
    assert here.body == there.body
    assert here.headers.get("Category") == there.headers.get("Category")


def test_uri_list_is_not_for_the_query_interface(occi: OcciClient, cloud) -> None:
    occi.request("GET", "/-/", accept=URI_LIST, status=400)


@pytest.mark.parametrize("media", RESPONSE_MEDIA)
def test_filtering_by_a_kind(occi: OcciClient, cloud, media: str) -> None:
    found = by_id(
        occi, media, headers={"Category": 'storage; scheme="' + INFRA + '"; class="kind"'}
    )
    assert STORAGE in found
    assert {"http://schemas.ogf.org/occi/infrastructure/storage/action#online"} <= set(found)
    assert COMPUTE not in found and NETWORK not in found


@pytest.mark.parametrize("media", RESPONSE_MEDIA)
def test_filtering_by_a_parent_kind_gives_its_descendants(occi: OcciClient, cloud, media) -> None:
    found = by_id(occi, media, headers={"Category": 'link; scheme="' + CORE + '"; class="kind"'})
    assert {CORE + "link", INFRA + "networkinterface", INFRA + "storagelink"} <= set(found)
    assert COMPUTE not in found


@pytest.mark.parametrize("media", RESPONSE_MEDIA)
def test_filtering_by_os_tpl_gives_the_os_templates(occi: OcciClient, cloud, media: str) -> None:
    found = by_id(
        occi, media, headers={"Category": 'os_tpl; scheme="' + INFRA + '"; class="mixin"'}
    )
    assert set(found) == {OS_TPL, OS_TPL_SCHEME + "firmware"}


def test_filtering_by_an_unknown_category_gives_nothing(occi: OcciClient, cloud) -> None:
    found = by_id(
        occi, TEXT_PLAIN, headers={"Category": 'x; scheme="http://x.invalid#"; class="kind"'}
    )
    assert found == {}


def test_a_get_body_is_not_a_filter(occi: OcciClient, cloud) -> None:
    # GFD.223 §3.5: filters travel in headers; a GET body is ignored.
    response = occi.request(
        "GET", "/-/", headers={"Content-Type": TEXT_PLAIN}, body="Category: nonsense", status=200
    )
    assert COMPUTE in {c.type_id for c in categories_of(response).categories}


# -- user-defined Mixins ------------------------------------------------------------------


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_a_user_mixin_is_defined_listed_and_removed(occi: OcciClient, cloud, media: str) -> None:
    definition = CategoryDefinition(
        "my_stuff",
        "http://example.org/alice/tags#",
        "mixin",
        title="My stuff",
        location="/my_stuff/",
    )
    created = occi.request(
        "POST",
        "/-/",
        document=CategoryDefinitions((definition,)),
        media=media,
        accept=media,
        status=200,
    )
    assert [c.type_id for c in categories_of(created).categories] == [definition.type_id]
    for accept in RESPONSE_MEDIA:
        listed = by_id(occi, accept)[definition.type_id]
        assert (listed.cls, listed.location, listed.title) == ("mixin", "/my_stuff/", "My stuff")
    occi.request("GET", "/my_stuff/", status=200)
    occi.request(
        "DELETE", "/-/", document=CategoryDefinitions((definition,)), media=media, status=200
    )
    assert definition.type_id not in by_id(occi, TEXT_PLAIN)
    occi.request("GET", "/my_stuff/", status=404)


def test_a_user_mixin_from_a_hand_written_text_body(occi: OcciClient, cloud) -> None:
    body = (
        'Category: web; scheme="http://example.org/t#"; class="mixin"; title="Web tier"; '
        'location="http://localhost/tiers/web/"\r\n'
    )
    occi.request("POST", "/-/", headers={"Content-Type": TEXT_PLAIN}, body=body, status=200)
    assert by_id(occi, TEXT_PLAIN)["http://example.org/t#web"].location == "/tiers/web/"


def test_a_user_mixin_in_text_occi_headers(occi: OcciClient, cloud) -> None:
    headers = {
        "Content-Type": TEXT_OCCI,
        "Category": 'db; scheme="http://example.org/t#"; class="mixin"; location="/db/"',
    }
    occi.request("POST", "/-/", headers=headers, status=200)
    occi.request("DELETE", "/-/", headers=headers, status=200)
    assert "http://example.org/t#db" not in by_id(occi, TEXT_PLAIN)


def test_user_mixins_belong_to_their_tenant(occi: OcciClient, cloud) -> None:
    tag = occi.define_tag("mine", "/mine/")
    bob, carol, admin = occi.as_user("bob"), occi.as_user("carol"), occi.as_user("admin")
    assert tag not in by_id(bob, TEXT_PLAIN)
    bob.request("GET", "/mine/", status=404)
    # Bob may choose the same location and scheme for his own tag.
    occi.as_user("bob").define_tag("mine", "/mine/", scheme="http://example.org/alice/tags#")
    carol.define_tag("mine", "/mine/")
    assert tag in by_id(admin, TEXT_PLAIN)  # the root administrator sees every tenant's
    # Bob cannot remove alice's tag: it does not exist for him... but his own is removed.
    definition = CategoryDefinitions(
        (CategoryDefinition("mine", "http://example.org/carol/tags#", "mixin"),)
    )
    bob.request("DELETE", "/-/", document=definition, status=404)
    assert tag in by_id(occi, TEXT_PLAIN)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # no location (occi.md §10 item 17: erocci answered 500)
        ('Category: a; scheme="http://example.org/t#"; class="mixin"', 400),
        # a kind: clients define Mixins only
        ('Category: a; scheme="http://example.org/t#"; class="kind"; location="/a/"', 400),
        # the OGF base is reserved (GFD.221 §3.1)
        (
            'Category: a; scheme="http://schemas.ogf.org/occi/x#"; class="mixin"; location="/a/"',
            400,
        ),
        # a user Mixin is a tag: no attributes
        (
            'Category: a; scheme="http://example.org/t#"; class="mixin"; location="/a/"; '
            'attributes="x.y"',
            400,
        ),
        # a Kind's collection, and a provider Mixin's location
        ('Category: a; scheme="http://example.org/t#"; class="mixin"; location="/compute/"', 409),
        ('Category: a; scheme="http://example.org/t#"; class="mixin"; location="/compute/a/"', 409),
        (
            'Category: a; scheme="http://example.org/t#"; class="mixin"; location="/mixin/os_tpl/"',
            409,
        ),
        # a provider Category's identity
        (
            'Category: compute; scheme="http://example.org/t#"; class="mixin"; location="/a/"; '
            'rel="http://schemas.ogf.org/occi/infrastructure#os_tpl"',
            400,
        ),
        ('Category: a; scheme="http://example.org/t#"; class="mixin"; location="/-/"', 409),
        ('Category: a; scheme="http://example.org/t#"; class="mixin"; location="not-a-path"', 400),
        ("", 400),
    ],
)
def test_refused_user_mixins(occi: OcciClient, cloud, body: str, status: int) -> None:
    before = by_id(occi, TEXT_PLAIN)
    occi.request("POST", "/-/", headers={"Content-Type": TEXT_PLAIN}, body=body, status=status)
    assert by_id(occi, TEXT_PLAIN) == before


def test_a_duplicate_user_mixin_is_409(occi: OcciClient, cloud) -> None:
    occi.define_tag("dup", "/dup/")
    occi.define_tag("dup", "/dup2/", status=409)
    occi.define_tag("other", "/dup/", status=409)


@pytest.mark.parametrize(
    ("category", "status"),
    [
        ('compute; scheme="' + INFRA + '"; class="kind"', 403),
        ('os_tpl; scheme="' + INFRA + '"; class="mixin"', 403),
        ('nothing; scheme="http://example.org/t#"; class="mixin"', 404),
    ],
)
def test_only_user_mixins_can_be_removed(occi: OcciClient, cloud, category: str, status) -> None:
    occi.request(
        "DELETE",
        "/-/",
        headers={"Content-Type": TEXT_PLAIN},
        body=f"Category: {category}\r\n",
        status=status,
    )


def test_put_on_the_query_interface_is_405(occi: OcciClient, cloud) -> None:
    response = occi.request("PUT", "/-/", status=405)
    assert response.headers["Allow"] == "GET, HEAD, POST, DELETE"


def test_the_query_interface_json_body_is_valid(occi: OcciClient, cloud) -> None:
    # check_response validated it against category-collection.json; make sure it is JSON.
    response = occi.request("GET", "/-/", accept=OCCI_JSON, status=200)
    assert set(json.loads(response.text)) == {"kinds", "mixins", "actions"}
