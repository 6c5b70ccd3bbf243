"""Concord's ``ha`` Mixin: the HA flag of a compute in OCCI (docs/occi.rst).

A compute created with the Mixin, or from a resource template whose offering
is HA, carries it; others do not. It is discovered in the query interface,
lists its computes at its location, applies to computes only and is chosen
at creation.
"""

from __future__ import annotations

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    NETWORK,
    REQUEST_MEDIA,
    RESOURCE_TPL_SCHEME,
    RESPONSE_MEDIA,
    OcciClient,
    categories_of,
)

from engine.compute.models import Compute
from occi.model import EntityRendering

HA = "http://schemas.concord.invalid/occi/compute#ha"


def _flag(cloud, path: str) -> bool:
    compute: Compute = cloud.compute(path.rstrip("/").rsplit("/", 1)[-1])
    return compute.ha_enabled


@pytest.mark.parametrize("media", RESPONSE_MEDIA)
def test_the_mixin_is_discovered(occi: OcciClient, cloud, media: str) -> None:
    response = occi.request("GET", "/-/", accept=media, status=200)
    found = {c.type_id: c for c in categories_of(response).categories}
    ha = found[HA]
    assert (ha.cls, ha.location, ha.attributes) == ("mixin", "/mixin/ha/", ())
    if "json" in media:  # the text renderings do not carry "applies"
        assert ha.applies == (COMPUTE,)


@pytest.mark.parametrize("media", REQUEST_MEDIA)
def test_ha_is_chosen_at_creation_or_by_the_offering(occi: OcciClient, cloud, media: str) -> None:
    chosen = occi.create(COMPUTE, mixins=[HA], media=media)
    from_offering = occi.create(COMPUTE, mixins=[RESOURCE_TPL_SCHEME + "large"])
    plain = occi.create(COMPUTE, mixins=[RESOURCE_TPL_SCHEME + "small"])
    cloud.run_jobs()
    assert HA in occi.read(chosen).mixins and _flag(cloud, chosen)
    assert HA in occi.read(from_offering).mixins and _flag(cloud, from_offering)
    assert HA not in occi.read(plain).mixins and not _flag(cloud, plain)
    assert sorted(occi.listing("/mixin/ha/")) == sorted([chosen, from_offering])


def test_ha_cannot_be_added_later_nor_put_on_a_network(occi: OcciClient, cloud) -> None:
    plain = occi.create(COMPUTE)
    cloud.run_jobs()
    response = occi.request("POST", plain, document=EntityRendering(mixins=(HA,)), status=409)
    assert "given when the compute is created" in response.text
    # Associating through the Mixin's collection is the same partial update.
    occi.members("/mixin/ha/", [plain], "POST", status=409)
    assert not _flag(cloud, plain) and occi.listing("/mixin/ha/") == []
    network = EntityRendering(kind=NETWORK, mixins=(HA,))
    response = occi.request("POST", "/network/", document=network, status=400)
    assert "applies to" in response.text
