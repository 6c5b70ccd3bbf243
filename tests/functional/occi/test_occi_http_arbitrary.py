"""Well-formed OCCI requests with arbitrary values: none is a 5xx, and a refusal changes nothing.

test_occi_http_fuzz sends requests that cannot be valid. Here every request
parses: a rendering, in any request media type, of a real Kind with real
Mixins and the real attribute names of GFD.224 (and a few unknown ones),
holding arbitrary values (huge and negative numbers, floats, booleans,
lists, objects, any text), sent to create, update, replace, create at a
path of the client's choice, or invoke an Action with arbitrary
attributes. Some are valid and change things; every answer must be below
500 (a full cloud is a 409), and every
refusal must leave the database exactly as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from functional.occi.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    REQUEST_MEDIA,
    SSH_KEY,
    STORAGE,
    STORAGELINK,
    USER_DATA,
    OcciClient,
    auth,
    check_response,
    rendered,
)
from helpers import snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from occi.model import ActionInvocation, EntityRendering, LinkRendering

KINDS = (COMPUTE, STORAGE, NETWORK, STORAGELINK, NETWORKINTERFACE)
MIXINS = (IPNETWORK, IPNETWORKINTERFACE, SSH_KEY, USER_DATA)
ATTRIBUTES = (
    "occi.core.title",
    "occi.core.summary",
    "occi.core.id",
    "occi.compute.cores",
    "occi.compute.memory",
    "occi.compute.hostname",
    "occi.compute.share",
    "occi.compute.architecture",
    "occi.compute.state",
    "occi.compute.userdata",
    "occi.credentials.ssh.publickey",
    "occi.storage.size",
    "occi.storage.state",
    "occi.network.vlan",
    "occi.network.label",
    "occi.network.address",
    "occi.network.gateway",
    "occi.network.allocation",
    "occi.networkinterface.address",
    "occi.networkinterface.gateway",
    "occi.networkinterface.allocation",
    "occi.networkinterface.mac",
    "occi.networkinterface.interface",
    "occi.storagelink.deviceid",
    "occi.storagelink.mountpoint",
    "method",
    "x.unknown",
)
ACTIONS = ("start", "stop", "restart", "suspend", "save", "up", "down", "online", "offline")

#: Text, without what no rendering can carry (lone surrogates, NUL).
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
scalars = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | texts
    | st.sampled_from(["10.0.0.0/24", "10.0.0.1", "52:54:00:00:00:01", "eth0", "/dev/vdb", "x86"])
)
values = scalars | st.lists(scalars, max_size=3) | st.dictionaries(texts, scalars, max_size=2)
attributes = st.dictionaries(st.sampled_from(ATTRIBUTES), values, max_size=4)


@dataclass
class Sent:
    """A well-formed request."""

    method: str
    target: str
    media: str
    document: Any


@st.composite
def sent(draw: Any) -> Sent:
    media = draw(st.sampled_from(REQUEST_MEDIA))
    kind = draw(st.sampled_from(KINDS))
    mixins = tuple(draw(st.lists(st.sampled_from(MIXINS), max_size=2, unique=True)))
    values = draw(attributes)
    choice = draw(st.integers(0, 3))
    if choice == 3:  # an Action, on an entity or a collection
        term = draw(st.sampled_from(ACTIONS))
        target = draw(st.sampled_from(["{compute}", "{network}", "{storage}", "/compute/"]))
        invocation = ActionInvocation(COMPUTE_ACTION + term, values)
        return Sent("POST", f"{target}?action={term}", media, invocation)
    if kind in (STORAGELINK, NETWORKINTERFACE):
        document: Any = LinkRendering(
            target=draw(st.sampled_from(["{storage}", "{network}", "/storage/nothing"])),
            source=draw(st.sampled_from(["{compute}", "/compute/nothing"])),
            kind=kind,
            mixins=mixins,
            attributes=values,
        )
    else:
        document = EntityRendering(kind=kind, mixins=mixins, attributes=values)
    term = kind.rsplit("#", 1)[1]
    method, target = [
        ("POST", f"/{term}/"),
        (draw(st.sampled_from(["POST", "PUT"])), f"{{{term}}}"),
        ("PUT", f"/{term}/{uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))}"),
    ][choice]
    return Sent(method, target, media, document)


@pytest.fixture
def seeded(occi: OcciClient, cloud) -> dict[str, str]:
    network = occi.create(NETWORK, {"occi.core.title": "n"}, mixins=[IPNETWORK])
    storage = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    compute = occi.create(COMPUTE, links=[LinkRendering(target=storage, kind=STORAGELINK)])
    cloud.run_jobs()
    (link,) = occi.read(compute).links
    return {
        "compute": compute,
        "network": network,
        "storage": storage,
        "storagelink": link.location or "",
        "networkinterface": "/networkinterface/nothing",
    }


def _resolved(document: Any, seeded: dict[str, str]) -> Any:
    if isinstance(document, LinkRendering):
        return LinkRendering(
            target=document.target.format(**seeded),
            source=(document.source or "").format(**seeded),
            kind=document.kind,
            mixins=document.mixins,
            attributes=document.attributes,
        )
    return document


@given(request=sent())
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_well_formed_request_is_a_5xx_and_a_refusal_changes_nothing(
    occi: OcciClient, cloud, seeded: dict[str, str], request: Sent
) -> None:
    target = request.target.format(**seeded)
    body = rendered(request.media, _resolved(request.document, seeded))
    before = snapshot(cloud.database)
    response = occi.app.request(
        target,
        method=request.method,
        headers={**auth("alice"), **body.headers},
        body=body.body,
        expect_errors=True,
    )
    # The valid creations fill the cloud: then 409, "no host ... can take".
    assert response.status_int < 500, (request, response.status, response.text[:300])
    check_response(response)
    if response.status_int >= 400:
        assert snapshot(cloud.database) == before, (request, response.status, response.text)
