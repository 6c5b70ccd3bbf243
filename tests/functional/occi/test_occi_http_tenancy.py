"""Tenancy: each tenant sees only its own entities and Mixins; another tenant's is 404.

Alice (account ``dev`` of domain ``acme``) owns the entities. Bob (``ops``,
same domain) and carol (domain ``globex``) get 404 for every method on every
one of them, in every rendering; the root administrator sees everything and
acme's domain administrator sees acme's.
"""

from __future__ import annotations

import itertools

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    NETWORK,
    NETWORKINTERFACE,
    RESPONSE_MEDIA,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    OcciClient,
)

from occi.model import EntityRendering, LinkRendering, Locations


@pytest.fixture
def owned(occi: OcciClient, cloud) -> dict[str, str]:
    """Alice's network, volume, compute (linked to both) and its links."""
    paths = {
        "network": occi.create(NETWORK, {"occi.core.title": "alice-net"}),
        "storage": occi.create(STORAGE, {"occi.storage.size": 1}),
    }
    cloud.run_jobs()
    paths["compute"] = occi.create(
        COMPUTE,
        links=[
            LinkRendering(target=paths["storage"], kind=STORAGELINK),
            LinkRendering(target=paths["network"], kind=NETWORKINTERFACE),
        ],
    )
    cloud.run_jobs()
    for link in occi.read(paths["compute"]).links:
        paths["storagelink" if link.kind == STORAGELINK else "nic"] = link.location or ""
    occi.define_tag("private", "/private/")
    occi.members("/private/", [paths["network"]], "POST")
    return paths


OUTSIDERS = ("bob", "carol")
KINDS = ("network", "storage", "compute", "storagelink", "nic")


@pytest.mark.parametrize(("user", "accept"), list(itertools.product(OUTSIDERS, RESPONSE_MEDIA)))
def test_another_tenant_lists_nothing_and_reads_404(
    occi: OcciClient, owned, user: str, accept: str
) -> None:
    other = occi.as_user(user)
    for collection in ("/", "/compute/", "/network/", "/storage/", "/link/", "/resource/"):
        assert other.listing(collection, accept) == []
    for kind in KINDS:
        other.request("GET", owned[kind], accept=accept, status=404)
    other.request("GET", "/private/", accept=accept, status=404)


@pytest.mark.parametrize("user", OUTSIDERS)
def test_another_tenant_changes_nothing(occi: OcciClient, cloud, owned, user: str) -> None:
    other = occi.as_user(user)
    before = {kind: occi.read(owned[kind]) for kind in KINDS}
    for kind in KINDS:
        path = owned[kind]
        other.request(
            "POST",
            path,
            document=EntityRendering(attributes={"occi.core.title": "taken"}),
            status=404,
        )
        if not path.startswith("/network/"):  # (a network PUT there: below)
            other.request("PUT", path, document=EntityRendering(kind=NETWORK), status="4")
        other.request("DELETE", path, status=404)
    other.invoke(owned["compute"], COMPUTE_ACTION + "stop", status=404)
    # Collection operations simply do not see alice's entities.
    other.request("DELETE", "/network/?confirm=all", status=204)
    other.invoke("/compute/", COMPUTE_ACTION + "stop", status=200)
    # Nor can it link to them, or tag them.
    other.request(
        "POST",
        "/storagelink/",
        status=404,
        document=LinkRendering(target=owned["storage"], source=owned["compute"], kind=STORAGELINK),
    )
    other.define_tag("grab", "/grab/")
    other.members("/grab/", [owned["network"]], "POST", status=404)
    # A network PUT at alice's network's path creates the other tenant's own
    # network there, as at a free path (chosen ids are per account,
    # engine.resources.ids): it neither takes alice's nor learns it exists.
    mine = EntityRendering(kind=NETWORK, attributes={"occi.core.title": "mine"})
    other.request("PUT", owned["network"], document=mine, status=201)
    assert other.attribute(owned["network"], "occi.core.title") == "mine"
    cloud.run_jobs()
    assert {kind: occi.read(owned[kind]) for kind in KINDS} == before
    assert occi.listing("/private/") == [owned["network"]]


def test_a_put_at_another_tenant_s_path_does_not_take_it_over(occi: OcciClient, owned) -> None:
    # Chosen ids are per account (engine.resources.ids): bob's PUT creates bob's
    # own network at that path, exactly as at a path nobody uses, so it tells him
    # nothing of alice's; hers is untouched, and each sees only their own.
    bob = occi.as_user("bob")
    document = EntityRendering(kind=NETWORK, attributes={"occi.core.title": "bob's"})
    bob.request("PUT", owned["network"], document=document, status=201)
    assert occi.attribute(owned["network"], "occi.core.title") == "alice-net"
    assert bob.attribute(owned["network"], "occi.core.title") == "bob's"
    assert bob.listing("/network/") == [owned["network"]]
    assert occi.listing("/private/") == [owned["network"]]


def test_the_root_administrator_sees_everything(occi: OcciClient, owned) -> None:
    admin = occi.as_user("admin")
    for kind in KINDS:
        assert owned[kind] in admin.listing("/")
        admin.request("GET", owned[kind], status=200)
    assert (
        'private; scheme="http://example.org/alice/tags#"'
        in admin.request("GET", "/-/", status=200).text
    )
    # An administrator can act on a tenant's entity (it is visible to it).
    admin.request(
        "POST",
        owned["network"],
        document=EntityRendering(attributes={"occi.core.summary": "seen by the operator"}),
        status=200,
    )


def test_the_domain_administrator_sees_its_domain(occi: OcciClient, owned) -> None:
    acme = occi.as_user("acmeadmin")
    assert set(acme.listing("/resource/")) == {owned["network"], owned["storage"], owned["compute"]}
    carol = occi.as_user("carol")
    carol_net = carol.create(NETWORK)
    acme.request("GET", carol_net, status=404)  # globex is not acme's


def test_entities_another_tenant_creates_are_its_own(occi: OcciClient, owned) -> None:
    carol = occi.as_user("carol")
    net = carol.create(NETWORK, {"occi.core.title": "carol-net"})
    assert carol.listing("/network/", TEXT_PLAIN) == [net]
    occi.request("GET", net, status=404)
    assert net not in occi.listing("/network/")
    # Templates follow the catalog's visibility: carol's private offering is hers.
    carol.request("GET", "/-/", status=200)
    occi.request(
        "POST",
        "/compute/",
        status=400,
        document=EntityRendering(
            kind=COMPUTE,
            mixins=("http://schemas.concord.invalid/occi/resource_tpl#" + occi_private(occi),),
        ),
    )


def occi_private(occi: OcciClient) -> str:
    """The id of carol's private offering, as carol sees it in /-/."""
    text = occi.as_user("carol").request("GET", "/-/", status=200).text
    for line in text.split("\n"):
        if 'title="sales-only"' in line:
            return line.removeprefix("Category: ").split(";", 1)[0]
    raise AssertionError("carol does not see her offering")


def test_locations_of_another_tenant_in_a_body_are_404(occi: OcciClient, owned) -> None:
    carol = occi.as_user("carol")
    carol.define_tag("mine", "/mine/")
    carol.request("POST", "/mine/", document=Locations((owned["compute"],)), status=404)
