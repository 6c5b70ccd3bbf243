"""Image lists: a site signs its public templates; a subscriber verifies, registers and retires.

Signatures are real S/MIME (``cryptography`` signs, ``openssl smime -verify``
verifies) under a throw-away PKI (tests/pki.py). Every refusal is checked to
change nothing but the subscription's recorded error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEYS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pki import Issued, certificate_authority, endorser
from unit.engine.cloud import Cloud, build_cloud

from engine.catalog.models import Image
from engine.catalog.service import CatalogService
from engine.compute.service import ComputeService
from engine.db import Database, utcnow
from engine.errors import InvalidInput, PermissionDenied
from engine.federation import hepix, smime
from engine.federation.image_list_publish import Publisher, signed_site_list, site_list
from engine.federation.image_lists import GLOBAL_ID, ImageListService
from engine.lifecycle import State
from engine.tenancy.models import Account

LIST_URL = "https://site-a.example.org/federation/image-list"


def _identity(issued: Issued) -> smime.SigningIdentity:
    return smime.SigningIdentity(issued.certificate, (), issued.key)


def _listed(identifier: str, title: str) -> hepix.ListedImage:
    return hepix.ListedImage(
        identifier=identifier,
        mpuri=f"{LIST_URL}#{identifier}",
        title=title,
        description=f"{title} image",
        version="1",
        uri=f"{LIST_URL}#{identifier}",
        disk_format="raw",
        size=0,
        sha512="",
        arch="x86_64",
        os="linux",
        os_name="Debian",
        os_version="12",
    )


def _list(signer: Issued, images: tuple[hepix.ListedImage, ...], **changes: Any) -> hepix.ImageList:
    now = utcnow()
    who = smime.endorser_of(signer.certificate)
    drawn = hepix.ImageList(
        identifier="11111111-2222-3333-4444-555555555555",
        title="site-a public images",
        description="test",
        version="1",
        uri=LIST_URL,
        created=now,
        expires=now + dt.timedelta(days=1),
        endorser_dn=who.dn,
        endorser_ca=who.ca,
        endorser_name="site-a",
        endorser_email="",
        images=images,
    )
    return dataclasses.replace(drawn, **changes)


def _signed(signer: Issued, images: tuple[hepix.ListedImage, ...], **changes: Any) -> bytes:
    return smime.sign(hepix.render(_list(signer, images, **changes)), _identity(signer))


# -- the format -----------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


# No timing checks: under load, drawing filtered text is slow, and that is no failure.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(titles=st.lists(_text.filter(str.strip), min_size=0, max_size=5), description=_text)
def test_a_rendered_list_parses_back_to_itself(titles: list[str], description: str) -> None:
    images = tuple(
        dataclasses.replace(_listed(f"id-{i}", title), description=description)
        for i, title in enumerate(titles)
    )
    drawn = _list_fixed(images)
    assert hepix.parse(hepix.render(drawn)) == drawn


def _list_fixed(images: tuple[hepix.ListedImage, ...]) -> hepix.ImageList:
    moment = dt.datetime(2026, 12, 7, 11, 0, tzinfo=dt.UTC)
    return hepix.ImageList(
        "list-id", "t", "d", "1", LIST_URL, moment, moment + dt.timedelta(days=1),
        "/CN=a", "/CN=ca", "a", "a@example.org", images,
    )  # fmt: skip


@pytest.mark.parametrize("key", hepix.LIST_FIELDS)
def test_a_list_missing_a_required_key_is_refused(key: str) -> None:
    document = json.loads(hepix.render(_list_fixed((_listed("x", "debian"),))))
    del document["hv:imagelist"][key]
    with pytest.raises(InvalidInput, match=key):
        hepix.parse(json.dumps(document).encode())


@pytest.mark.parametrize("key", hepix.IMAGE_FIELDS)
def test_an_image_missing_a_required_key_is_refused(key: str) -> None:
    document = json.loads(hepix.render(_list_fixed((_listed("x", "debian"),))))
    del document["hv:imagelist"]["hv:images"][0]["hv:image"][key]
    with pytest.raises(InvalidInput, match=key):
        hepix.parse(json.dumps(document).encode())


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_as_invalid_input_only(raw: bytes) -> None:
    try:
        parsed = hepix.parse(raw)
    except InvalidInput as exc:
        assert exc.message.startswith("the image list")
    else:
        assert isinstance(parsed, hepix.ImageList)


# -- signatures -------------------------------------------------------------------------


def test_a_signed_message_verifies_and_names_its_endorser(ca: Issued, site_a: Issued) -> None:
    verified = smime.verify(smime.sign(b'{"x": 1}\n', _identity(site_a)), ca.pem)
    assert verified.content.replace(b"\r\n", b"\n") == b'{"x": 1}\n'
    assert verified.signer == smime.Endorser(
        "/C=EU/O=Concord tests/CN=site-a", "/C=EU/O=Concord tests/CN=Federation CA"
    )


def test_a_tampered_untrusted_or_expired_signature_is_refused(ca: Issued, site_a: Issued) -> None:
    signed = smime.sign(b'{"x": 1}\n', _identity(site_a))
    with pytest.raises(smime.SignatureRefused):
        smime.verify(signed.replace(b'{"x": 1}', b'{"x": 2}'), ca.pem)
    with pytest.raises(smime.SignatureRefused):
        smime.verify(signed, certificate_authority("Other CA").pem)
    stale = endorser(ca, "site-a", expired=True)
    with pytest.raises(smime.SignatureRefused):
        smime.verify(smime.sign(b"{}", _identity(stale)), ca.pem)


# -- publishing and subscribing ---------------------------------------------------------------


@pytest.fixture
def cloud(database: Database, tenancy: Any, hasher: Any, tmp_path: Path) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def _subscribe(cloud: Cloud, ca: Issued, dn: str = "/C=EU/O=Concord tests/CN=site-a") -> None:
    with cloud.database.transaction() as session:
        ImageListService(session, TEST_SERVER_KEYS).subscribe(
            cloud.root, "site-a", LIST_URL, dn, ca.pem, token="s3cret"
        )


def _apply(cloud: Cloud, message: bytes) -> Any:
    with cloud.database.transaction() as session:
        return ImageListService(session, TEST_SERVER_KEYS).apply("site-a", message)


def _from_lists(cloud: Cloud) -> dict[str, Image]:
    with cloud.database.transaction() as session:
        images = session.scalars(sa.select(Image)).all()
        session.expunge_all()
    return {i.name: i for i in images if "image_list" in (i.properties or {})}


def _catalog(cloud: Cloud) -> list[tuple[str, str, str]]:
    with cloud.database.transaction() as session:
        return [
            (i.name, i.state, str(sorted(i.properties.items())))
            for i in session.scalars(sa.select(Image).order_by(Image.name))
        ]


def test_the_site_list_names_its_own_public_templates_with_global_ids(
    cloud: Cloud, site_a: Issued, ca: Issued
) -> None:
    with cloud.database.transaction() as session:
        CatalogService(session).create_image(
            cloud.root, "debian-12", public=True, properties={GLOBAL_ID: "https://appdb/x:1/"}
        )
        CatalogService(session).create_image(cloud.scopes["alice"], "alice-private")
        publisher = Publisher("site-a", LIST_URL, _identity(site_a), 3600)
        parsed = hepix.parse(site_list(session, publisher))
        verified = smime.verify(signed_site_list(session, publisher), ca.pem)
    assert hepix.parse(verified.content).images == parsed.images
    by_title = {i.title: i for i in parsed.images}
    assert set(by_title) == {"debian-12", "firmware"}  # never a private template
    assert by_title["debian-12"].mpuri == "https://appdb/x:1/"
    assert by_title["firmware"].mpuri == f"{LIST_URL}#{cloud.ids['firmware']}"
    assert (parsed.endorser_dn, parsed.endorser_ca) == (
        "/C=EU/O=Concord tests/CN=site-a",
        "/C=EU/O=Concord tests/CN=Federation CA",
    )
    assert dt.timedelta(seconds=3590) < parsed.expires - parsed.created <= dt.timedelta(hours=1)


def test_an_accepted_list_registers_templates_that_carry_the_global_id(
    cloud: Cloud, ca: Issued, site_a: Issued
) -> None:
    _subscribe(cloud, ca)
    outcome = _apply(cloud, _signed(site_a, (_listed("i1", "Debian 12"), _listed("i2", "alma"))))
    assert outcome.refused is None and sorted(outcome.added) == ["site-a.Debian-12", "site-a.alma"]
    templates = _from_lists(cloud)
    debian = templates["site-a.Debian-12"]
    assert debian.account_id is None and debian.state == State.AVAILABLE
    assert debian.properties[GLOBAL_ID] == f"{LIST_URL}#i1"
    assert debian.properties["image_list_identifier"] == "i1"
    # Alice, an ordinary user, sees and can launch it.
    with cloud.database.transaction() as session:
        found = CatalogService(session).get_entry(cloud.scopes["alice"], Image, debian.id)
        assert found.properties[GLOBAL_ID] == f"{LIST_URL}#i1"
    # The same copy again changes nothing.
    again = _apply(cloud, _signed(site_a, (_listed("i1", "Debian 12"), _listed("i2", "alma"))))
    assert (again.added, again.updated, again.retired) == ((), (), ())


def test_refused_copies_change_nothing_and_say_why(
    cloud: Cloud, ca: Issued, site_a: Issued
) -> None:
    _subscribe(cloud, ca)
    images = (_listed("i1", "debian"),)
    _apply(cloud, _signed(site_a, images))
    before = _catalog(cloud)
    good = _signed(site_a, (_listed("i9", "evil"),))
    other_ca = certificate_authority("Federation CA")  # same name, another key
    cases = {
        "tampered": good.replace(b"evil", b"evel"),
        "untrusted CA": _signed(endorser(other_ca, "site-a"), images),
        "another endorser": _signed(endorser(ca, "site-b"), images),
        "expired list": _signed(site_a, images, expires=utcnow() - dt.timedelta(minutes=1)),
        "expired certificate": _signed(endorser(ca, "site-a", expired=True), images),
        "endorser named wrongly": _signed(site_a, images, endorser_dn="/CN=someone-else"),
        "not a list": smime.sign(b'{"hv:imagelist": {}}', _identity(site_a)),
        "not signed": hepix.render(_list(site_a, images)),
    }
    for case, message in cases.items():
        outcome = _apply(cloud, message)
        assert outcome.refused, case
        assert _catalog(cloud) == before, case
        with cloud.database.transaction() as session:
            recorded = ImageListService(session, TEST_SERVER_KEYS).list_subscriptions(cloud.root)
            assert recorded[0].error == outcome.refused[:1024], case


def test_images_dropped_from_a_list_are_retired_but_not_under_running_guests(
    cloud: Cloud, ca: Issued, site_a: Issued
) -> None:
    _subscribe(cloud, ca)
    _apply(cloud, _signed(site_a, (_listed("i1", "used"), _listed("i2", "unused"))))
    used = _from_lists(cloud)["site-a.used"]
    with cloud.database.transaction() as session:
        ComputeService(session).create(
            cloud.scopes["alice"], name="web", offering_id=cloud.ids["small"], image_id=used.id
        )
    outcome = _apply(cloud, _signed(site_a, ()))
    assert sorted(outcome.retired) == ["site-a.unused", "site-a.used"]
    left = _from_lists(cloud)
    assert set(left) == {"site-a.used"}  # the unused one is gone
    assert left["site-a.used"].state == State.ERROR
    assert "retired" in (left["site-a.used"].state_message or "")
    # Listed again, it is available again.
    _apply(cloud, _signed(site_a, (_listed("i1", "used"),)))
    assert _from_lists(cloud)["site-a.used"].state == State.AVAILABLE


def test_an_expired_subscription_retires_its_images(
    cloud: Cloud, ca: Issued, site_a: Issued
) -> None:
    _subscribe(cloud, ca)
    _apply(cloud, _signed(site_a, (_listed("i1", "debian"),)))
    with cloud.database.transaction() as session:
        retired = ImageListService(session, TEST_SERVER_KEYS).retire_expired(
            utcnow() + dt.timedelta(days=2)
        )
    assert retired == {"site-a": ("site-a.debian",)}
    assert _from_lists(cloud) == {}


def test_subscriptions_are_root_administrators_business(cloud: Cloud, ca: Issued) -> None:
    with cloud.database.transaction() as session:
        service = ImageListService(session, TEST_SERVER_KEYS)
        with pytest.raises(PermissionDenied):
            service.subscribe(cloud.scopes["alice"], "x", LIST_URL, "/CN=a", ca.pem)
        with pytest.raises(InvalidInput):
            service.subscribe(cloud.root, "x", "file:///etc/passwd", "/CN=a", ca.pem)
        with pytest.raises(InvalidInput):
            service.subscribe(cloud.root, "x", LIST_URL, "CN=a", ca.pem)
        with pytest.raises(InvalidInput):
            service.subscribe(cloud.root, "x", LIST_URL, "/CN=a", "not a certificate")
        with pytest.raises(InvalidInput):
            service.subscribe(
                cloud.root, "x", LIST_URL, "/CN=a", ca.pem, account_id=_admins(session)
            )
        subscription = service.subscribe(cloud.root, "x", LIST_URL, "/CN=a", ca.pem, token="t")
        assert subscription.sealed_token != "t" and service.token(subscription) == "t"


def _admins(session: Any) -> str:
    return session.scalar(sa.select(Account.id).where(Account.name == "admins"))
