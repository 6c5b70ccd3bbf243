"""What real OCCI clients send and read, beyond the letter of the specifications.

Each behaviour here is one IM's OCCI connector (PyPI ``im`` 1.19.1,
``IM/connectors/OCCI.py``: the client EGI's federated cloud was driven with)
relies on; docs/occi.rst ("Robustness choices") records each with its
evidence. The whole connector runs against a live server in
``tests/integration/test_im_occi.py``; these tests pin each behaviour over the
WSGI app, in the exact form IM sends it.
"""

from __future__ import annotations

import os
import uuid

import argon2
import pytest
import sqlalchemy as sa
from functional.occi.occiclient import (
    BASE,
    COMPUTE_ACTION,
    INFRA,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL_SCHEME,
    SSH_KEY,
    STORAGE,
    USER_DATA,
    OcciClient,
    auth,
)

from engine.compute.models import Compute
from engine.network.defaults import DefaultNetworks
from occi.model import EntityRendering

#: What IM sends as the Content-Type of every POST (launch, create_volume,
#: attach_volume, add_public_ip, vm_action).
IM_CONTENT_TYPE = "text/plain,text/occi"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvVfFsxc4ZbYVJrlZJ0UyUP6e3dSY3LD2kzvw2UH5yQ im@test"
OPENSTACK_USER_DATA = "http://schemas.openstack.org/compute/instance#user_data"
OPENSTACK_PUBLIC_KEY = "http://schemas.openstack.org/instance/credentials#public_key"


def _post(occi: OcciClient, path: str, lines: list[str], *, status: int | str, **kwargs):
    body = "\n".join(lines)  # IM writes LF-separated lines, with no CR
    headers = {"Content-Type": IM_CONTENT_TYPE, **kwargs.pop("headers", {})}
    return occi.request("POST", path, headers=headers, body=body, status=status, **kwargs)


def _compute_kind() -> str:
    return f'Category: compute; scheme="{INFRA}"; class="kind"'


# -- Content-Type listing several types ------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (IM_CONTENT_TYPE, 201),  # the first listed type Concord reads: text/plain, the body
        ("text/html, text/plain", 201),  # skip what no parser reads
        ("text/plain; charset=utf-8, text/occi", 201),
        ("text/html, application/xml", 415),  # none of them
    ],
)
def test_a_content_type_listing_several_types_uses_the_first_supported(
    occi: OcciClient, cloud, content_type: str, status: int
) -> None:
    response = _post(
        occi,
        "/compute/",
        [_compute_kind(), 'X-OCCI-Attribute: occi.core.title="listed"'],
        headers={"Content-Type": content_type},
        status=status,
    )
    if status == 201:
        path = response.headers["Location"].removeprefix(BASE)
        assert occi.attribute(path, "occi.core.title") == "listed"
    else:
        assert "text/html" in response.text
        assert occi.listing("/compute/") == []


def test_an_action_sent_as_im_sends_it(occi: OcciClient, cloud) -> None:
    compute = _post(occi, "/compute/", [_compute_kind()], status=201).headers["Location"]
    cloud.run_jobs()
    path = compute.removeprefix(BASE)
    _post(
        occi,
        f"{path}?action=stop",
        [f'Category: stop;scheme="{COMPUTE_ACTION}";class="action"'],
        status=200,
    )
    cloud.run_jobs()
    assert occi.attribute(path, "occi.compute.state") == "inactive"


# -- OpenStack-era contextualisation Mixins -------------------------------------


def test_openstack_contextualisation_mixins_are_aliases(occi: OcciClient, cloud) -> None:
    script = "I2Nsb3VkLWNvbmZpZwo="  # IM sends cloud-init data base64-encoded
    response = _post(
        occi,
        "/compute/",
        [
            _compute_kind(),
            f'Category: {cloud.ids["firmware"]}; scheme="{OS_TPL_SCHEME}"; class="mixin"',
            f'Category: user_data; scheme="{OPENSTACK_USER_DATA[:-9]}"; class="mixin"',
            f'Category: public_key; scheme="{OPENSTACK_PUBLIC_KEY[:-10]}"; class="mixin"',
            f'X-OCCI-Attribute: org.openstack.compute.user_data="{script}"',
            f'X-OCCI-Attribute: org.openstack.credentials.publickey.data="{KEY}"',
        ],
        status=201,
    )
    path = response.headers["Location"].removeprefix(BASE)
    entity = occi.read(path)
    # Rendered by GFD.224's own names only.
    assert {SSH_KEY, USER_DATA} <= set(entity.mixins)
    assert not {OPENSTACK_USER_DATA, OPENSTACK_PUBLIC_KEY} & set(entity.mixins)
    assert entity.attributes["occi.compute.userdata"] == script
    assert entity.attributes["occi.credentials.ssh.publickey"] == KEY
    assert "org.openstack" not in occi.request("GET", path, status=200).text
    with cloud.database.transaction() as session:
        row = session.get(Compute, path.rsplit("/", 1)[1])
        assert row is not None and (row.ssh_public_key, row.user_data) == (KEY, script)
    # The aliases are not categories of their own.
    assert "schemas.openstack.org" not in occi.request("GET", "/-/", status=200).text


@pytest.mark.parametrize(
    "lines",
    [
        # The alias attribute without its Mixin (or GFD.224's): not an attribute here.
        [f'X-OCCI-Attribute: org.openstack.credentials.publickey.data="{KEY}"'],
        # The alias Mixin without its key: the key is required.
        [f'Category: public_key; scheme="{OPENSTACK_PUBLIC_KEY[:-10]}"; class="mixin"'],
        # The same attribute twice, under both names.
        [
            f'Category: ssh_key; scheme="{SSH_KEY[:-7]}"; class="mixin"',
            f'X-OCCI-Attribute: org.openstack.credentials.publickey.data="{KEY}"',
            f'X-OCCI-Attribute: occi.credentials.ssh.publickey="{KEY}"',
        ],
        # A malformed key is refused under the alias as under the name.
        [
            f'Category: public_key; scheme="{OPENSTACK_PUBLIC_KEY[:-10]}"; class="mixin"',
            'X-OCCI-Attribute: org.openstack.credentials.publickey.data="not a key"',
        ],
    ],
)
def test_aliases_are_checked_as_the_attributes_they_stand_for(
    occi: OcciClient, cloud, lines: list[str]
) -> None:
    _post(occi, "/compute/", [_compute_kind(), *lines], status=400)
    assert occi.listing("/compute/") == []


# -- text/plain line endings ------------------------------------------------------


def _im_attribute(text: str, name: str) -> str | None:
    """IM's ``get_occi_attribute_value``, as it reads a text/plain body."""
    for line in text.split("\n"):
        if line.find(f"X-OCCI-Attribute: {name}=") != -1:
            return line.split("=")[1].strip('"')
    return None


def test_text_plain_lines_are_separated_by_lf(occi: OcciClient, cloud) -> None:
    created = _post(
        occi,
        "/storage/",
        [
            f'Category: storage; scheme="{INFRA}"; class="kind"',
            'X-OCCI-Attribute: occi.core.title="im-disk"',
            "X-OCCI-Attribute: occi.storage.size=1",
        ],
        status=201,
    )
    # IM's create_volume takes the new id as the basename of the whole body.
    volume_id = os.path.basename(created.text)
    assert f"/storage/{volume_id}" == created.headers["Location"].removeprefix(BASE)
    cloud.run_jobs()
    text = occi.request("GET", f"/storage/{volume_id}", status=200).text
    assert "\r" not in text
    assert _im_attribute(text, "occi.storage.state") == "online"
    assert _im_attribute(text, "occi.core.title") == "im-disk"
    # Listings too: one location per line, nothing after the last.
    listing = occi.request("GET", "/storage/", status=200).text
    assert listing.split("\n") == [f"X-OCCI-Location: {created.headers['Location']}"]


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_text_plain_requests_may_use_crlf_or_lf(occi: OcciClient, cloud, newline: str) -> None:
    body = newline.join([_compute_kind(), 'X-OCCI-Attribute: occi.core.title="both"', ""])
    response = occi.request(
        "POST", "/compute/", headers={"Content-Type": "text/plain"}, body=body, status=201
    )
    path = response.headers["Location"].removeprefix(BASE)
    assert occi.attribute(path, "occi.core.title") == "both"


# -- inline links name their target ---------------------------------------------


def _im_attached_volumes(text: str) -> list[tuple[str, str, str | None]]:
    """IM's ``get_attached_volumes_from_info``: (self, occi.core.target, deviceid)."""
    found = []
    for line in text.split("\n"):
        if "Link:" in line and "/storage/" in line:
            values = {}
            for part in line.split(";"):
                key, _, value = part.partition("=")
                values[key.strip()] = value.strip('"')
            if values.get("self") and values.get("occi.core.target"):
                found.append(
                    (
                        values["self"],
                        values["occi.core.target"],
                        values.get("occi.storagelink.deviceid"),
                    )
                )
    return found


def test_inline_links_carry_their_target_and_its_kind(occi: OcciClient, cloud) -> None:
    volume = _post(
        occi,
        "/storage/",
        [
            f'Category: storage; scheme="{INFRA}"; class="kind"',
            "X-OCCI-Attribute: occi.storage.size=1",
        ],
        status=201,
    ).headers["Location"]
    cloud.run_jobs()
    compute = _post(
        occi,
        "/compute/",
        [
            _compute_kind(),
            f'Link: <{volume}>; rel="{INFRA}storage"; category="{INFRA}storagelink"; '
            f'occi.core.target="{volume}"; occi.storagelink.deviceid="/dev/vdb"',
        ],
        status=201,
    ).headers["Location"]
    cloud.run_jobs()
    text = occi.request("GET", compute.removeprefix(BASE), status=200).text
    ((link, target, device),) = _im_attached_volumes(text)
    assert (target, device) == (volume, "/dev/vdb")
    assert link.startswith(f"{BASE}/storagelink/")
    (line,) = [line for line in text.split("\n") if line.startswith("Link: <" + volume)]
    assert f'occi.core.target.kind="{INFRA}storage"' in line
    assert f'occi.core.source="{compute}"' in line
    # What is rendered reads back: the same link, target given twice in agreement.
    (parsed,) = occi.read(compute.removeprefix(BASE)).links
    assert parsed.target == volume.removeprefix(BASE)


# -- a compute without network links joins the default network ---------------------


def _default_network(occi: OcciClient, cloud) -> str:
    network = _post(
        occi,
        "/network/",
        [
            f'Category: network; scheme="{INFRA}"; class="kind"',
            f'Category: ipnetwork; scheme="{INFRA[:-1]}/network#"; class="mixin"',
            'X-OCCI-Attribute: occi.network.address="10.20.0.0/24"',
        ],
        status=201,
    ).headers["Location"]
    cloud.run_jobs()
    with cloud.database.transaction() as session:
        DefaultNetworks(session).set(cloud.scopes["alice"], network.rsplit("/", 1)[1])
    return network


def test_a_compute_without_network_links_joins_the_default_network(occi: OcciClient, cloud) -> None:
    network = _default_network(occi, cloud)
    compute = _post(occi, "/compute/", [_compute_kind()], status=201).headers["Location"]
    cloud.run_jobs()
    text = occi.request("GET", compute.removeprefix(BASE), status=200).text
    (line,) = [
        line for line in text.split("\n") if line.startswith("Link:") and "/network/" in line
    ]
    assert line.startswith(f"Link: <{network}>")
    # What IM's get_net_info reads from it: an interface number and an address.
    values = dict(part.strip().partition("=")[::2] for part in line.split(";"))
    assert values["occi.networkinterface.interface"].strip('"') == "eth0"
    assert values["occi.networkinterface.address"].strip('"').startswith("10.20.0.")


def test_a_compute_given_a_network_link_joins_only_that_network(occi: OcciClient, cloud) -> None:
    _default_network(occi, cloud)
    other = occi.create(NETWORK, {"occi.core.title": "other"})
    cloud.run_jobs()
    compute = _post(
        occi,
        "/compute/",
        [_compute_kind(), f'Link: <{BASE}{other}>; rel="{NETWORK}"; category="{NETWORKINTERFACE}"'],
        status=201,
    ).headers["Location"]
    cloud.run_jobs()
    (link,) = occi.read(compute.removeprefix(BASE)).links
    assert link.target == other


def test_without_a_default_network_a_compute_has_no_interface(occi: OcciClient, cloud) -> None:
    compute = _post(occi, "/compute/", [_compute_kind()], status=201).headers["Location"]
    cloud.run_jobs()
    assert occi.read(compute.removeprefix(BASE)).links == ()


# -- client-chosen ids on POST, scoped per account ----------------------------------


def test_a_post_honours_the_client_s_occi_core_id(occi: OcciClient, cloud) -> None:
    # IM's launch: the compute's id is chosen, and an inline link names it as source.
    volume = _post(
        occi,
        "/storage/",
        [
            f'Category: storage; scheme="{INFRA}"; class="kind"',
            'X-OCCI-Attribute: occi.core.id="im-vol-1"',
            "X-OCCI-Attribute: occi.storage.size=1",
        ],
        status=201,
    ).headers["Location"]
    assert volume == f"{BASE}/storage/im-vol-1"
    cloud.run_jobs()
    created = _post(
        occi,
        "/compute/",
        [
            _compute_kind(),
            'X-OCCI-Attribute: occi.core.id="im-7e6f1c2a-0b3d-11ef-9a4e-0242ac120002"',
            f'Link: <{volume}>; rel="{INFRA}storage"; self="/storagelink/im-link-1"; '
            f'category="{INFRA}storagelink"; occi.core.target="{volume}"; '
            f'occi.core.source="{BASE}/compute/im-7e6f1c2a-0b3d-11ef-9a4e-0242ac120002"; '
            'occi.core.id="im-link-1"; occi.storagelink.deviceid="/dev/vdb"',
        ],
        status=201,
    )
    path = "/compute/im-7e6f1c2a-0b3d-11ef-9a4e-0242ac120002"
    assert created.headers["Location"] == BASE + path
    cloud.run_jobs()
    entity = occi.read(path)
    assert entity.attributes["occi.core.id"] == "urn:concord:compute:" + path.rsplit("/", 1)[1]
    assert entity.attributes["occi.compute.state"] == "active"
    (link,) = entity.links
    assert (link.source, link.target) == (path, "/storage/im-vol-1")
    assert path in occi.listing("/compute/")
    # The guest's UUID on its host is the server's, not the client's.
    with cloud.database.transaction() as session:
        (row,) = session.scalars(sa.select(Compute).where(Compute.chosen_id == path[9:]))
        assert str(uuid.UUID(row.id)) == row.id
    # Every operation finds it by the chosen id.
    occi.invoke(path, COMPUTE_ACTION + "stop")
    cloud.run_jobs()
    assert occi.attribute(path, "occi.compute.state") == "inactive"
    occi.request("DELETE", path, status=204)
    cloud.run_jobs()
    occi.request("GET", path, status=404)


def _launch_with_links(occi: OcciClient, compute_id: str, links: list[str], status: int):
    return _post(
        occi,
        "/compute/",
        [_compute_kind(), f'X-OCCI-Attribute: occi.core.id="{compute_id}"', *links],
        status=status,
    )


def _inline(target: str, term: str, link_id: str, compute_id: str, self_id: str | None = None):
    rel = "storage" if term == "storagelink" else "network"
    return (
        f'Link: <{target}>; rel="{INFRA}{rel}"; self="/{term}/{self_id or link_id}"; '
        f'category="{INFRA}{term}"; occi.core.target="{target}"; '
        f'occi.core.source="{BASE}/compute/{compute_id}"; occi.core.id="{link_id}"'
    )


def test_inline_links_keep_the_ids_the_client_chose(occi: OcciClient, cloud) -> None:
    # IM names each inline link (self and occi.core.id, im-<uuid>) and deletes it by
    # that name later: the server must not replace it.
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    network = occi.create(NETWORK)
    cloud.run_jobs()
    links = [
        _inline(BASE + volume, "storagelink", "im-disk-1", "im-vm-1"),
        _inline(BASE + network, "networkinterface", "im-nic-1", "im-vm-1"),
    ]
    _launch_with_links(occi, "im-vm-1", links, 201)
    cloud.run_jobs()
    entity = occi.read("/compute/im-vm-1")
    assert sorted(link.location for link in entity.links) == [
        "/networkinterface/im-nic-1",
        "/storagelink/im-disk-1",
    ]
    assert occi.read("/storagelink/im-disk-1").source == "/compute/im-vm-1"
    assert occi.read("/networkinterface/im-nic-1").target == network
    # Another tenant may choose the same link ids: ids are per account.
    carol = occi.as_user("carol")
    theirs = carol.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    _launch_with_links(
        carol, "im-vm-1", [_inline(BASE + theirs, "storagelink", "im-disk-1", "im-vm-1")], 201
    )
    cloud.run_jobs()
    assert carol.read("/storagelink/im-disk-1").target == theirs
    assert occi.read("/storagelink/im-disk-1").target == volume


@pytest.mark.parametrize(
    ("link_id", "self_id", "status"),
    [
        ("im-disk-1", "other", 400),  # self and occi.core.id disagree
        ("../x", None, 400),  # not an id
        ("im-taken", None, 409),  # taken in this account
    ],
)
def test_inline_link_ids_are_checked_and_a_refusal_creates_nothing(
    occi: OcciClient, cloud, link_id: str, self_id: str | None, status: int
) -> None:
    taken = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    _launch_with_links(
        occi, "im-vm-0", [_inline(BASE + taken, "storagelink", "im-taken", "im-vm-0")], 201
    )
    cloud.run_jobs()
    volume = occi.create(STORAGE, {"occi.storage.size": 1})
    cloud.run_jobs()
    before = occi.listing("/compute/"), occi.listing("/storagelink/")
    link = _inline(BASE + volume, "storagelink", link_id, "im-vm-2", self_id)
    _launch_with_links(occi, "im-vm-2", [link], status)
    assert (occi.listing("/compute/"), occi.listing("/storagelink/")) == before


@pytest.mark.parametrize(
    ("identifier", "status"),
    [
        ("urn:uuid:6b0c1f7e-9a47-4f5e-8d31-2c9e4b7a0d15", 201),  # GFD.221's RECOMMENDED form
        ("urn:concord:network:lan-1", 201),  # what Concord renders for a non-UUID id
        ("lan-1", 201),
        ("../lan", 400),
        ("x" * 36 + "-longer-than-a-row-id", 201),
        ("x" * 65, 400),
        ("", 400),
    ],
)
def test_chosen_ids_on_post_are_checked(occi: OcciClient, cloud, identifier: str, status) -> None:
    response = _post(
        occi,
        "/network/",
        [
            f'Category: network; scheme="{INFRA}"; class="kind"',
            f'X-OCCI-Attribute: occi.core.id="{identifier}"',
        ],
        status=status,
    )
    if status == 201:
        expected = identifier.rsplit(":", 1)[-1]
        assert response.headers["Location"] == f"{BASE}/network/{expected}"
    else:
        assert occi.listing("/network/") == []


def test_chosen_ids_are_per_account(occi: OcciClient, cloud) -> None:
    body = [
        f'Category: network; scheme="{INFRA}"; class="kind"',
        'X-OCCI-Attribute: occi.core.id="lan"',
    ]
    alice, carol = occi, occi.as_user("carol")
    _post(alice, "/network/", [*body, 'X-OCCI-Attribute: occi.core.title="alice\'s"'], status=201)
    # Another tenant choosing the same id is not told it exists: it gets its own.
    _post(carol, "/network/", [*body, 'X-OCCI-Attribute: occi.core.title="carol\'s"'], status=201)
    assert alice.attribute("/network/lan", "occi.core.title") == "alice's"
    assert carol.attribute("/network/lan", "occi.core.title") == "carol's"
    assert alice.listing("/network/") == carol.listing("/network/") == ["/network/lan"]
    # Within one account an id is taken (and never reused, even after deletion).
    _post(alice, "/network/", body, status=409)
    cloud.run_jobs()
    alice.request("DELETE", "/network/lan", status=204)
    cloud.run_jobs()
    alice.request("PUT", "/network/lan", document=EntityRendering(kind=NETWORK), status=409)
    assert carol.attribute("/network/lan", "occi.core.title") == "carol's"


# -- IM's unauthenticated probe ------------------------------------------------------


def test_im_s_unauthenticated_probe_is_cheap_and_no_failed_sign_in(
    app, cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IM's KeyStoneAuth.get_keystone_uri sends HEAD /-/ without credentials before
    # every operation, and reads a WWW-Authenticate starting "Keystone uri" as a
    # redirect to Keystone; anything else means Basic.
    verified: list[int] = []
    verify = argon2.PasswordHasher.verify

    def counted(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(1)
        return verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    probe = {"Accept": "text/plain", "Connection": "close"}
    source = {"REMOTE_ADDR": "192.0.2.77"}
    for _ in range(50):  # far more than any failed sign-in limit
        response = app.head("/-/", headers=probe, extra_environ=source, status=401)
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert verified == []  # no password hashed for a probe
    signed_in = app.get("/-/", headers={**probe, **auth("alice")}, extra_environ=source)
    assert signed_in.status_int == 200
