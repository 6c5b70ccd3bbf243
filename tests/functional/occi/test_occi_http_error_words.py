"""Converted engine refusals, over the whole app, in OCCI's own words (issue 17).

The engine raises structured facts (engine.errors); OCCI words them through
its tables (occi.mapping.errors): GFD.224's Kind terms and attribute names,
sizes in GiB. Each case asserts the exact message a client reads.
"""

from __future__ import annotations

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    RESPONSE_MEDIA,
    STORAGE,
    STORAGELINK,
    TEXT_PLAIN,
    OcciClient,
)


@pytest.mark.parametrize("accept", RESPONSE_MEDIA)
def test_an_id_clash_names_the_network(occi: OcciClient, cloud, accept: str) -> None:
    body = 'Category: network; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
    body += 'X-OCCI-Attribute: occi.core.id="urn:concord:network:my-net"\n'
    headers = {"Content-Type": TEXT_PLAIN}
    occi.request("POST", "/network/", headers=headers, body=body, status=201)
    clash = occi.request("POST", "/network/", headers=headers, body=body, accept=accept, status=409)
    assert "network 'my-net' exists already" in clash.text
    assert occi.listing("/network/") == ["/network/my-net"]


def test_shrinking_a_storage_names_its_occi_attribute(occi: OcciClient, cloud) -> None:
    path = occi.create(STORAGE, {"occi.storage.size": 2})
    cloud.run_jobs()
    response = occi.request(
        "POST",
        path,
        headers={"Content-Type": TEXT_PLAIN},
        body="X-OCCI-Attribute: occi.storage.size=1",
        status=400,
    )
    assert "occi.storage.size can only grow" in response.text
    assert occi.attribute(path, "occi.storage.size") == 2


def test_deleting_a_linked_storage_speaks_of_storagelinks(occi: OcciClient, cloud) -> None:
    compute = occi.create(COMPUTE)
    storage = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    occi.create(STORAGELINK, {"occi.core.source": compute, "occi.core.target": storage})
    cloud.run_jobs()
    response = occi.request("DELETE", storage, status=409)
    uid = storage.rsplit("/", 1)[1]
    assert response.text == (
        f"storage '{uid}' is linked to a compute already; remove that link first\n"
    )
    assert storage in occi.listing("/storage/")
