"""A placement group joined only through CIMI has an OCCI Mixin (occi.mapping.group_mixins).

The group is made by a MachineCreate's ``placementGroup``; no user Mixin names
it. OCCI's query interface lists it as a Mixin in Concord's scheme, the
Machine's compute renders it, its collection lists the members, a compute
created with it joins the group, and another tenant sees none of it. Once the
tenant defines its own Mixin for the group, that one replaces Concord's.
"""

from __future__ import annotations

from functional.cimi.conftest import Cloud
from functional.cimi.flows import template
from functional.cimi.support import Cimi
from functional.occi.occiclient import COMPUTE, OCCI_JSON, OcciClient, categories_of
from webtest import TestApp

from engine.compute.models import PlacementGroup, PlacementGroupMember
from occi.model import CategoryDefinition, CategoryDefinitions, EntityRendering

GROUP_SCHEME = "http://schemas.concord.invalid/occi/placement_group#"
PLACEMENT = "http://schemas.concord.invalid/occi/placement#"


def _machine(cimi: Cimi, name: str, **extension: str) -> str:
    body = {"name": name, "machineTemplate": template(cimi), **extension}
    response = cimi.add(cimi.collection("machines"), "MachineCreate", body, status=202)
    return "/compute/" + str(response.headers["Location"]).rstrip("/").rsplit("/", 1)[-1]


def _group_mixins(occi: OcciClient) -> dict[str, CategoryDefinition]:
    found = categories_of(occi.request("GET", "/-/", accept=OCCI_JSON, status=200)).categories
    return {c.type_id: c for c in found if c.scheme == GROUP_SCHEME}


def _members(occi: OcciClient, location: str) -> list[str]:
    listed = occi.request("GET", location, accept="text/uri-list", status=200).text.split()
    return sorted("/compute/" + m.rsplit("/", 1)[-1] for m in listed)


def _group_rows(cloud: Cloud) -> list[tuple[str, str, int]]:
    with cloud.database.transaction() as session:
        groups = session.query(PlacementGroup).order_by(PlacementGroup.name).all()
        return [
            (
                g.name,
                g.policy.value,
                session.query(PlacementGroupMember).filter_by(group_id=g.id).count(),
            )
            for g in groups
        ]


def test_a_group_made_through_cimi_is_an_occi_mixin(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    joined = _machine(alice, "db1", placementGroup="db", placementPolicy="affinity")
    alone = _machine(alice, "plain")
    cloud.run()
    occi = OcciClient(app)
    mixins = _group_mixins(occi)
    assert list(mixins) == [GROUP_SCHEME + "db"]
    mixin = mixins[GROUP_SCHEME + "db"]
    # The query interface says what it is: a group of that policy, for computes.
    assert mixin.depends == (PLACEMENT + "affinity",)
    assert mixin.applies == ("http://schemas.ogf.org/occi/infrastructure#compute",)
    assert mixin.location == "/mixin/placement_group/db/"
    # The compute that joined renders it (alone and in its collection), the other does not.
    assert GROUP_SCHEME + "db" in occi.read(joined, media=OCCI_JSON).mixins
    assert GROUP_SCHEME + "db" not in occi.read(alone, media=OCCI_JSON).mixins
    listed = occi.request("GET", "/compute/", accept=OCCI_JSON, status=200).json["resources"]
    shown = {"/compute/" + e["id"].removeprefix("urn:uuid:"): e.get("mixins", []) for e in listed}
    assert GROUP_SCHEME + "db" in shown[joined] and GROUP_SCHEME + "db" not in shown[alone]
    assert _members(occi, mixin.location) == [joined]
    # The policy's provider collection lists it too.
    assert _members(occi, "/mixin/placement/affinity/") == [joined]
    # Another tenant sees no such Mixin, nor its collection.
    carol = occi.as_user("carol")
    assert _group_mixins(carol) == {}
    carol.request("GET", mixin.location, accept="text/uri-list", status=404)
    refused = EntityRendering(kind=COMPUTE, mixins=(GROUP_SCHEME + "db",))
    carol.request("POST", "/compute/", document=refused, status=400)
    assert _group_rows(cloud) == [("db", "affinity", 1)]


def test_concords_group_mixin_behaves_as_a_user_group_mixin(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    first = _machine(alice, "web1", placementGroup="web", placementPolicy="affinity")
    cloud.run()
    occi = OcciClient(app)
    mixin = GROUP_SCHEME + "web"
    # A compute created with it through OCCI joins the group (and shows it).
    second = occi.create(COMPUTE, mixins=[mixin])
    cloud.run()
    assert mixin in occi.read(second).mixins
    assert _members(occi, "/mixin/placement_group/web/") == sorted([first, second])
    assert _group_rows(cloud) == [("web", "affinity", 2)]
    # Membership is decided at creation: associating or dissociating is a 409.
    other = occi.create(COMPUTE)
    occi.members("/mixin/placement_group/web/", [other], "POST", status=409)
    occi.members("/mixin/placement_group/web/", [], "DELETE", status=409)
    partial = EntityRendering(kind=COMPUTE, mixins=(mixin,))
    occi.request("POST", other, document=partial, status=409)
    # Sending back what a compute carries is fine (a partial update naming it).
    occi.request("POST", second, document=partial, status=200)
    assert _members(occi, "/mixin/placement_group/web/") == sorted([first, second])
    # Removing the Mixin removes the group: 409 while it has guests.
    definition = CategoryDefinitions((CategoryDefinition("web", GROUP_SCHEME, "mixin"),))
    occi.request("DELETE", "/-/", document=definition, status=409)
    assert _group_rows(cloud) == [("web", "affinity", 2)]


def test_a_tenants_own_mixin_for_the_group_replaces_concords(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    joined = _machine(alice, "db1", placementGroup="db", placementPolicy="affinity")
    cloud.run()
    occi = OcciClient(app)
    assert list(_group_mixins(occi)) == [GROUP_SCHEME + "db"]
    # Another policy for the same name is refused; the same one names the group.
    occi.define_tag(
        "db", "/db/", media=OCCI_JSON, depends=(PLACEMENT + "anti-affinity",), status=409
    )
    # Concord's group collections are its own: no tag may take one.
    occi.define_tag("db", "/mixin/placement_group/db/", status=409)
    occi.define_tag("later", "/mixin/placement_group/later/", status=409)
    own = occi.define_tag("db", "/db/", media=OCCI_JSON, depends=(PLACEMENT + "affinity",))
    assert _group_mixins(occi) == {}  # never shown twice
    found = categories_of(occi.request("GET", "/-/", status=200)).categories
    assert [c.type_id for c in found if c.term == "db"] == [own]
    mixins = occi.read(joined).mixins
    assert own in mixins and GROUP_SCHEME + "db" not in mixins
    assert _members(occi, "/db/") == [joined]
    assert _group_rows(cloud) == [("db", "affinity", 1)]


def test_no_tag_takes_a_scheme_of_concords_own_mixins(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    occi = OcciClient(app)
    before = categories_of(occi.request("GET", "/-/", accept=OCCI_JSON, status=200))
    # A tag defined first in the groups' (or zones', templates') scheme would
    # later hide the Mixin of a group made through CIMI under the same term.
    for scheme in (
        GROUP_SCHEME,
        "http://schemas.concord.invalid/occi/availability_zone#",
        "http://schemas.concord.invalid/occi/os_tpl#",
        "http://schemas.concord.invalid/occi/usage#",
    ):
        occi.define_tag("db", "/db/", scheme=scheme, status=409)
    assert categories_of(occi.request("GET", "/-/", accept=OCCI_JSON, status=200)) == before
    # The schemes Concord gives tenants' tags, and any scheme of their own, stay open.
    occi.define_tag("db", "/db/", scheme="http://schemas.concord.invalid/occi/tags/mine#")
    occi.define_tag("db", "/db2/", scheme="http://example.org/mine#")
    joined = _machine(alice, "db1", placementGroup="db", placementPolicy="affinity")
    cloud.run()
    assert list(_group_mixins(occi)) == [GROUP_SCHEME + "db"]
    assert GROUP_SCHEME + "db" in occi.read(joined, media=OCCI_JSON).mixins


def test_an_empty_group_made_through_cimi_can_be_removed_through_occi(
    app: TestApp, alice: Cimi, cloud: Cloud
) -> None:
    machine = _machine(alice, "solo", placementGroup="solo", placementPolicy="anti-affinity")
    cloud.run()
    occi = OcciClient(app)
    occi.request("DELETE", machine, status="2xx")
    cloud.run()
    definition = CategoryDefinitions((CategoryDefinition("solo", GROUP_SCHEME, "mixin"),))
    occi.request("DELETE", "/-/", document=definition, status=200)
    assert _group_rows(cloud) == [] and _group_mixins(occi) == {}
