"""Values that must be refused, not read into something else (issue 16's validation gaps).

Each is a 400 whose message says what is wrong, in every request rendering,
and leaves the database exactly as it was (``helpers.snapshot``): a user
Mixin's location with dot segments or a scheme that is not http(s), an
ipnetwork CIDR with host bits set or a gateway that is not one address, a
storage size that is not a whole GiB.
The checks are the shared ones (the OCCI category parser, the engine's
validators), so CIMI refuses the same values alike (``test_cimi_http_validation``).
"""

from __future__ import annotations

import pytest
from functional.occi.occiclient import (
    IPNETWORK,
    JSON_MEDIA,
    NETWORK,
    REQUEST_MEDIA,
    STORAGE,
    OcciClient,
)
from helpers import snapshot

from occi.model import CategoryDefinition, CategoryDefinitions, EntityRendering


def refused(occi: OcciClient, cloud, method: str, path: str, media: str, document: object) -> str:
    """Send a request that must be a 400 changing nothing; its message."""
    before = snapshot(cloud.database)
    accept = media if media in JSON_MEDIA else "text/plain"
    response = occi.request(method, path, document=document, media=media, accept=accept)
    assert response.status_int == 400, f"{response.status}: {response.text[:300]}"
    assert snapshot(cloud.database) == before
    return response.text


def _mixin(location: str, scheme: str = "http://example.org/alice/tags#") -> CategoryDefinitions:
    return CategoryDefinitions((CategoryDefinition("web", scheme, "mixin", location=location),))


@pytest.mark.parametrize("media", REQUEST_MEDIA)
@pytest.mark.parametrize(
    "location",
    ["/a/../compute/", "/../web/", "/web/./", "/web/%2e%2E/", "/web/%2E/x/", "/web/.%2e/"],
)
def test_a_mixin_location_with_dot_segments(
    occi: OcciClient, cloud, media: str, location: str
) -> None:
    # A client (or a cache) removes dot segments (RFC 3986 §5.2.4), so the
    # collection would be reached at another path, perhaps a Kind's.
    message = refused(occi, cloud, "POST", "/-/", media, _mixin(location))
    assert "'.' or '..'" in message, message


@pytest.mark.parametrize("media", REQUEST_MEDIA)
@pytest.mark.parametrize(
    "scheme",
    [
        "javascript:alert(1)//#",
        "data:text/html,x#",
        "ftp://example.org/tags#",
        "file:///etc/tags#",
        "http:/no-host#",
        "https://#",
    ],
)
def test_a_mixin_scheme_that_is_not_http(occi: OcciClient, cloud, media: str, scheme: str) -> None:
    message = refused(occi, cloud, "POST", "/-/", media, _mixin("/web/", scheme))
    assert "http or https" in message, message


def test_an_http_mixin_is_still_defined(occi: OcciClient, cloud) -> None:
    for scheme in ("http://example.org/t#", "HTTPS://Example.org/a/b#"):
        occi.request("POST", "/-/", document=_mixin("/web-a/", scheme), status=200)
        occi.request("DELETE", "/-/", document=_mixin("/web-a/", scheme), status=200)


@pytest.mark.parametrize("media", REQUEST_MEDIA)
@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("10.0.0.1/24", "10.0.0.0/24"),
        ("192.168.7.77/16", "192.168.0.0/16"),
        ("fd00::1/64", "fd00::/64"),
    ],
)
def test_an_ipnetwork_address_with_host_bits(
    occi: OcciClient, cloud, media: str, address: str, network: str
) -> None:
    document = EntityRendering(
        kind=NETWORK, mixins=(IPNETWORK,), attributes={"occi.network.address": address}
    )
    message = refused(occi, cloud, "POST", "/network/", media, document)
    assert "host bits" in message and network in message, message


@pytest.mark.parametrize("media", REQUEST_MEDIA)
@pytest.mark.parametrize(
    ("address", "gateway"),
    [
        ("10.0.0.0/24", "999.1.1.1"),
        ("10.0.0.0/24", "10.0.0.1/8; rm"),
        ("fd00:1::/64", "fd00:1::1%x;rm"),
    ],
)
def test_an_ipnetwork_gateway_that_is_not_an_address(
    occi: OcciClient, cloud, media: str, address: str, gateway: str
) -> None:
    attributes = {"occi.network.address": address, "occi.network.gateway": gateway}
    document = EntityRendering(kind=NETWORK, mixins=(IPNETWORK,), attributes=attributes)
    message = refused(occi, cloud, "POST", "/network/", media, document)
    assert "occi.network.gateway" in message, message


@pytest.mark.parametrize("media", REQUEST_MEDIA)
@pytest.mark.parametrize("size", [1.5, 0.5, 2.25, 1.0001])
def test_a_storage_size_that_is_not_whole_gib(
    occi: OcciClient, cloud, media: str, size: float
) -> None:
    document = EntityRendering(kind=STORAGE, attributes={"occi.storage.size": size})
    message = refused(occi, cloud, "POST", "/storage/", media, document)
    assert "whole number of GiB" in message, message


def test_growing_storage_by_a_fraction_of_a_gib(occi: OcciClient, cloud) -> None:
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    document = EntityRendering(attributes={"occi.storage.size": 2.5})
    assert "whole number of GiB" in refused(occi, cloud, "POST", volume, "text/plain", document)
    # A whole number written as a float is whole.
    occi.request("POST", volume, document=EntityRendering(attributes={"occi.storage.size": 2.0}),
                 status=200)  # fmt: skip
    cloud.run_jobs()
    assert occi.attribute(volume, "occi.storage.size") == 2.0
