"""Subscribed images' bytes: verified while they stream, recorded only while still wanted.

:func:`store_verified` is fed arbitrary chunkings of a body (Hypothesis); the
catalog side runs on the real databases with real signed lists (tests/pki.py),
applied by :class:`ImageListService` as ``sync`` applies them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEYS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pki import Issued
from unit.engine.cloud import Cloud, build_cloud

from engine.catalog.models import Image
from engine.compute.service import ComputeService
from engine.db import Database, utcnow
from engine.federation import hepix, smime
from engine.federation.image_fetch import (
    FetchTarget,
    ImageRefused,
    pending_fetches,
    record_failed,
    record_fetched,
    store_verified,
    unused_files,
)
from engine.federation.image_lists import ImageListService
from engine.lifecycle import State

LIST_URL = "https://site-a.example.org/image.list"
BODY = b"a disk image, or enough of one for a test\n" * 7


def _sha(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (empty chunks included, as a server may send)."""
    points = sorted(c % (len(data) + 1) for c in cuts)
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


_cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=12)


# -- store_verified --------------------------------------------------------------------


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=_cuts)
def test_any_chunking_of_the_listed_bytes_is_stored(tmp_path: Path, cuts: list[int]) -> None:
    target = tmp_path / "sub" / "image"
    target.unlink(missing_ok=True)
    store_verified(_split(BODY, cuts), target, len(BODY), _sha(BODY).upper())
    assert target.read_bytes() == BODY
    assert [p.name for p in target.parent.iterdir()] == ["image"]  # no partial file left


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cuts=_cuts,
    flipped=st.integers(min_value=0, max_value=len(BODY) - 1),
    extra=st.binary(min_size=1, max_size=64),
    short=st.integers(min_value=1, max_value=len(BODY)),
)
def test_other_bytes_in_any_chunking_are_refused_and_leave_nothing(
    tmp_path: Path, cuts: list[int], flipped: int, extra: bytes, short: int
) -> None:
    directory = tmp_path / "refused"
    target = directory / "image"
    altered = BODY[:flipped] + bytes([BODY[flipped] ^ 1]) + BODY[flipped + 1 :]
    cases = {
        "its sha512 is not the listed one": altered,
        "more than the listed": BODY + extra,
        f"sent {len(BODY) - short} bytes, not the listed {len(BODY)}": BODY[:-short],
    }
    for reason, body in cases.items():
        with pytest.raises(ImageRefused, match=reason):
            store_verified(_split(body, cuts), target, len(BODY), _sha(BODY))
        assert list(directory.iterdir()) == []


def test_a_longer_body_is_refused_without_reading_the_rest(tmp_path: Path) -> None:
    read = []

    def endless() -> Iterator[bytes]:
        while True:
            read.append(1)
            yield b"x" * 10

    with pytest.raises(ImageRefused, match="more than the listed 25 bytes"):
        store_verified(endless(), tmp_path / "image", 25, _sha(b"x" * 25))
    assert len(read) == 3
    assert list(tmp_path.iterdir()) == []


def test_a_read_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield BODY[:10]
        raise ConnectionResetError("closed")

    (tmp_path / "image").write_bytes(b"the bytes fetched before")
    with pytest.raises(ConnectionResetError):
        store_verified(broken(), tmp_path / "image", len(BODY), _sha(BODY))
    assert [p.name for p in tmp_path.iterdir()] == ["image"]
    assert (tmp_path / "image").read_bytes() == b"the bytes fetched before"


@pytest.mark.parametrize("digest", ["", "abc", "g" * 128, _sha(BODY)[:-1]])
def test_a_listed_digest_that_is_no_sha512_is_refused_before_reading(
    tmp_path: Path, digest: str
) -> None:
    def unread() -> Iterator[bytes]:
        raise AssertionError("read")
        yield b""

    with pytest.raises(ImageRefused, match="not a SHA-512 digest"):
        store_verified(unread(), tmp_path / "image", len(BODY), digest)
    assert list(tmp_path.iterdir()) == []


# -- the catalog's side ----------------------------------------------------------------


@pytest.fixture
def cloud(database: Database, tenancy: Any, hasher: Any, tmp_path: Path) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def _image(identifier: str, body: bytes) -> hepix.ListedImage:
    return hepix.ListedImage(
        identifier=identifier,
        mpuri=f"{LIST_URL}#{identifier}",
        title=identifier,
        description="",
        version="1",
        uri=f"https://images.example.org/{identifier}.img",
        disk_format="raw",
        size=len(body),
        sha512=_sha(body),
        arch="x86_64",
        os="linux",
        os_name="Debian",
        os_version="12",
    )


def _apply(cloud: Cloud, signer: Issued, *images: hepix.ListedImage) -> Any:
    now = utcnow()
    who = smime.endorser_of(signer.certificate)
    drawn = hepix.ImageList(
        "11111111-2222-3333-4444-555555555555", "site-a", "test", "1", LIST_URL, now,
        now + dt.timedelta(days=1), who.dn, who.ca, "site-a", "", images,
    )  # fmt: skip
    message = smime.sign(
        hepix.render(drawn), smime.SigningIdentity(signer.certificate, (), signer.key)
    )
    with cloud.database.transaction() as session:
        return ImageListService(session, TEST_SERVER_KEYS).apply("site-a", message)


def _subscribed(cloud: Cloud, ca: Issued) -> str:
    with cloud.database.transaction() as session:
        return (
            ImageListService(session, TEST_SERVER_KEYS)
            .subscribe(cloud.root, "site-a", LIST_URL, "/C=EU/O=Concord tests/CN=site-a", ca.pem)
            .id
        )


def _pending(cloud: Cloud, subscription: str) -> list[FetchTarget]:
    with cloud.database.transaction() as session:
        return pending_fetches(session, subscription)


def _state(cloud: Cloud, name: str) -> tuple[str, str | None, str | None]:
    with cloud.database.transaction() as session:
        image = session.scalar(sa.select(Image).where(Image.name == name))
        assert image is not None
        return image.state, image.location, image.state_message


def _fetch(cloud: Cloud, target: FetchTarget, directory: Path, body: bytes) -> Path:
    """What the edge does with ``body`` read from ``target.uri``."""
    path = target.path(directory)
    try:
        store_verified([body], path, target.size, target.sha512)
    except ImageRefused as exc:
        with cloud.database.transaction() as session:
            assert record_failed(session, target, exc.reason)
    else:
        with cloud.database.transaction() as session:
            assert record_fetched(session, target, path)
    return path


def test_listed_bytes_are_awaited_then_recorded_and_a_resync_fetches_nothing(
    cloud: Cloud, ca: Issued, site_a: Issued, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    subscription = _subscribed(cloud, ca)
    empty = dataclasses.replace(_image("firmware", b""), sha512="")
    outcome = _apply(cloud, site_a, _image("debian", BODY), _image("tampered", BODY), empty)
    assert sorted(outcome.added) == ["site-a.debian", "site-a.firmware", "site-a.tampered"]
    # Nothing to fetch for an image without bytes: it is available at once.
    assert _state(cloud, "site-a.firmware") == (State.AVAILABLE, None, None)
    state, location, message = _state(cloud, "site-a.debian")
    assert (state, location) == (State.CREATING, None)
    assert message == "waiting for its bytes from https://images.example.org/debian.img"
    debian, tampered = _pending(cloud, subscription)
    assert (debian.name, debian.size, debian.sha512) == ("site-a.debian", len(BODY), _sha(BODY))

    path = _fetch(cloud, debian, tmp_path, BODY)
    with caplog.at_level(logging.WARNING, logger="engine.federation.image_fetch"):
        _fetch(cloud, tampered, tmp_path, BODY.replace(b"disk", b"DISK"))
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "image site-a.tampered not fetched from https://images.example.org/tampered.img: "
        "its sha512 is not the listed one"
    ]
    assert _state(cloud, "site-a.debian") == (State.AVAILABLE, str(path), None)
    assert hashlib.sha512(Path(path).read_bytes()).hexdigest() == _sha(BODY)
    state, location, message = _state(cloud, "site-a.tampered")
    assert (state, location) == (State.ERROR, None)
    assert message == (
        "its bytes were not fetched from https://images.example.org/tampered.img: "
        "its sha512 is not the listed one"
    )
    # The same list again: the fetched image stays as it is; the refused one is tried again.
    again = _apply(cloud, site_a, _image("debian", BODY), _image("tampered", BODY), empty)
    assert (again.added, again.updated, again.retired) == ((), ("site-a.tampered",), ())
    assert [t.name for t in _pending(cloud, subscription)] == ["site-a.tampered"]
    assert _state(cloud, "site-a.debian") == (State.AVAILABLE, str(path), None)


def test_new_bytes_in_a_new_copy_are_fetched_again_and_the_old_file_goes_when_unused(
    cloud: Cloud, ca: Issued, site_a: Issued, tmp_path: Path
) -> None:
    subscription = _subscribed(cloud, ca)
    _apply(cloud, site_a, _image("debian", BODY))
    (first,) = _pending(cloud, subscription)
    old = _fetch(cloud, first, tmp_path, BODY)
    newer = BODY + b"security update\n"
    outcome = _apply(cloud, site_a, _image("debian", newer))
    assert outcome.updated == ("site-a.debian",)
    assert _state(cloud, "site-a.debian")[:2] == (State.CREATING, None)
    (second,) = _pending(cloud, subscription)
    assert second.sha512 == _sha(newer) and second.path(tmp_path) != old
    # The bytes fetched for the first copy arrive late: they are no longer wanted.
    with cloud.database.transaction() as session:
        assert not record_fetched(session, first, old)
        assert unused_files(session, tmp_path) == []  # the image waits: a fetch may be running
    new = _fetch(cloud, second, tmp_path, newer)
    assert _state(cloud, "site-a.debian") == (State.AVAILABLE, str(new), None)
    someone_elses = tmp_path / "debian-12.qcow2"  # another volume of the same pool
    someone_elses.write_bytes(b"not fetched here")
    with cloud.database.transaction() as session:
        assert unused_files(session, tmp_path) == [old]


def test_a_retired_images_file_stays_while_a_guest_uses_it(
    cloud: Cloud, ca: Issued, site_a: Issued, tmp_path: Path
) -> None:
    subscription = _subscribed(cloud, ca)
    _apply(cloud, site_a, _image("used", BODY), _image("unused", BODY + b"!"))
    paths = {t.name: _fetch(cloud, t, tmp_path, _body(t)) for t in _pending(cloud, subscription)}
    with cloud.database.transaction() as session:
        used = session.scalar(sa.select(Image.id).where(Image.name == "site-a.used"))
        ComputeService(session).create(
            cloud.scopes["alice"], name="web", offering_id=cloud.ids["small"], image_id=used
        )
    _apply(cloud, site_a)  # both retired: one deleted, the other kept in error for its guest
    assert _state(cloud, "site-a.used")[:2] == (State.ERROR, str(paths["site-a.used"]))
    with cloud.database.transaction() as session:
        assert unused_files(session, tmp_path) == [paths["site-a.unused"]]


def _body(target: FetchTarget) -> bytes:
    return BODY if target.name == "site-a.used" else BODY + b"!"
