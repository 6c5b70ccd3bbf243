"""Subscribed images' bytes: where they go, how they are verified, what the catalog records.

An image list gives each image's address (``hv:uri``), size (``hv:size``) and
digest (``sl:checksum:sha512``). A template registered from a list with a
size above 0 waits in state ``creating`` until its bytes are here (one of
size 0 boots nothing and is available at once). The HTTP edge reads the
bytes (``concord.image_fetch``: the engine makes no network call) and hands
them over in chunks to :func:`store_verified`, which streams them into a
temporary file beside the final one while counting and hashing them, refuses
a body longer than listed as soon as it passes the size, refuses one shorter
or with another digest at its end, removes what it wrote on any refusal or
error, and only then renames the file into place. A file under an image's
final name is therefore always whole and verified, and the bytes are never
held in memory.

Each transaction is short: :func:`pending_fetches` reads what waits, the
bytes are read outside any transaction, and :func:`record_fetched` or
:func:`record_failed` records the outcome, each only if the image still waits
for those same bytes (a newer list copy may have changed its digest
meanwhile, or another worker finished first).

Files are named after the image and its digest (``<image id>-<sha512
prefix>``, all in one directory, which the hosts see as a libvirt directory
pool), so new bytes never overwrite the file a guest's creation may be
copying. :func:`unused_files` names the files that no template locates any
more (superseded or retired bytes) and whose template no live guest or
volume uses, for the edge to remove.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.catalog.image_events import emit_image
from engine.catalog.models import Image
from engine.federation.image_lists import FROM_LIST
from engine.lifecycle import State
from engine.resources.references import count_users

log = logging.getLogger(__name__)

#: The suffix of a file still being written (removed on failure; see :func:`unused_files`).
PART_SUFFIX = ".part"
_SHA512 = re.compile(r"[0-9a-f]{128}")
#: Hex digits of the digest in a file's name: enough to tell two versions apart.
_DIGEST_IN_NAME = 32
#: The names of the files fetched here (and of their partial files): any other
#: file of the directory is someone else's and never removed.
_FETCHED_NAME = re.compile(
    r"\.?(?P<image>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    rf"-[0-9a-f]{{{_DIGEST_IN_NAME}}}(?:\..*{re.escape(PART_SUFFIX)})?"
)


class ImageRefused(Exception):
    """The bytes are not the listed image, or could not be read; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchTarget:
    """One template waiting for its bytes, as listed when it was read.

    :param uri: where the list says the bytes are (``hv:uri``).
    :param size: the listed byte count; a longer body is refused.
    :param sha512: the listed digest, lowercase hex.
    """

    image_id: str
    name: str
    subscription_id: str
    uri: str
    size: int
    sha512: str

    def path(self, directory: Path) -> Path:
        """The file these bytes are kept in, below ``directory``."""
        digest = self.sha512.strip().lower()[:_DIGEST_IN_NAME]
        return directory / f"{self.image_id}-{digest}"


def check_digest(sha512: str) -> str:
    """The listed digest in lowercase, checked before any byte is read.

    :raises ImageRefused: it is not a SHA-512 digest in hex.
    """
    lowered = sha512.strip().lower()
    if not _SHA512.fullmatch(lowered):
        raise ImageRefused("its listed sl:checksum:sha512 is not a SHA-512 digest")
    return lowered


def store_verified(chunks: Iterable[bytes], path: Path, size: int, sha512: str) -> None:
    """Write ``chunks`` to ``path`` only if they are exactly ``size`` bytes of digest ``sha512``.

    The bytes go to a temporary file in ``path``'s directory (created if
    missing), renamed to ``path`` once verified; on any refusal or error,
    including one raised by ``chunks``, the temporary file is removed and
    ``path`` is left as it was.

    :raises ImageRefused: more bytes than ``size`` (raised as soon as they
        pass it, reading no further), fewer, or another digest.
    """
    expected = check_digest(sha512)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX
    )
    try:
        digest = hashlib.sha512()
        received = 0
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                received += len(chunk)
                if received > size:
                    raise ImageRefused(f"the server sent more than the listed {size} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            # Readable by the hypervisor's daemon, whichever user it runs as
            # (mkstemp makes it its owner's only); the directory's mode limits who.
            os.fchmod(out.fileno(), 0o644)
        if received != size:
            raise ImageRefused(f"the server sent {received} bytes, not the listed {size}")
        if digest.hexdigest() != expected:
            raise ImageRefused("its sha512 is not the listed one")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _listed(image: Image) -> tuple[str, str, str]:
    props = image.properties or {}
    return (
        str(props.get(FROM_LIST, "")),
        str(props.get("image_uri", "")),
        str(props.get("sha512", "")),
    )


def pending_fetches(session: Session, subscription_id: str) -> list[FetchTarget]:
    """The templates of subscription ``subscription_id`` that wait for their bytes."""
    found = []
    for image in session.scalars(
        sa.select(Image).where(Image.state == State.CREATING.value).order_by(Image.name)
    ):
        subscription, uri, sha512 = _listed(image)
        if subscription == subscription_id:
            found.append(
                FetchTarget(image.id, image.name, subscription, uri, image.size_bytes, sha512)
            )
    return found


def _waiting(session: Session, target: FetchTarget) -> Image | None:
    """The image, locked, if it still waits for the bytes ``target`` names."""
    image = session.get(Image, target.image_id, with_for_update=True)
    if image is None or image.state != State.CREATING:
        return None
    if _listed(image)[2] != target.sha512 or image.size_bytes != target.size:
        return None
    return image


def record_fetched(session: Session, target: FetchTarget, path: Path) -> bool:
    """Make the image available at ``path`` (its verified bytes); False if it moved on."""
    image = _waiting(session, target)
    if image is None:
        return False
    image.location = str(path)
    image.state, image.state_message = State.AVAILABLE.value, None
    emit_image(session, image, "image.fetched", uri=target.uri)
    session.flush()
    log.info("image %s fetched from %s and verified", image.name, target.uri)
    return True


def record_failed(session: Session, target: FetchTarget, reason: str) -> bool:
    """Put the image in ``error``, saying why its bytes were refused; False if it moved on."""
    image = _waiting(session, target)
    if image is None:
        return False
    message = f"its bytes were not fetched from {target.uri}: {reason}"
    image.state, image.state_message = State.ERROR.value, message[:1024]
    emit_image(session, image, "image.fetch.failed", uri=target.uri, message=reason)
    session.flush()
    log.warning("image %s not fetched from %s: %s", image.name, target.uri, reason)
    return True


def unused_files(session: Session, directory: Path) -> list[Path]:
    """The files below ``directory`` that may be removed.

    A file goes when no template's ``location`` names it and its template is
    gone, or no longer waits for bytes (a fetch may be writing or recording
    it) and is used by no live guest or volume (guests boot copies, but a
    guest's creation may be about to copy the file). A partial file goes on
    the same terms: one left by a fetch that died midway. Files not named
    as this module names them are never removed.
    """
    if not directory.is_dir():
        return []
    located = set(
        session.scalars(sa.select(Image.location).where(Image.location.is_not(None))).all()
    )
    removable = []
    for path in sorted(directory.iterdir()):
        fetched = _FETCHED_NAME.fullmatch(path.name)
        if fetched is None or not path.is_file() or str(path) in located:
            continue
        image = session.get(Image, fetched["image"])
        if image is None or (
            image.state != State.CREATING
            and not count_users(session, Image.__tablename__, [image.id])
        ):
            removable.append(path)
    return removable


__all__ = [
    "FetchTarget",
    "ImageRefused",
    "check_digest",
    "pending_fetches",
    "record_failed",
    "record_fetched",
    "store_verified",
    "unused_files",
]
