"""Fetching subscribed images' bytes over HTTP, once their list has been applied.

The engine says which templates wait for bytes and records the outcome
(:mod:`engine.federation.image_fetch`); reading the bytes is the edge's work,
done here, after the list was applied and outside any transaction, one image
after the other. Each body is streamed in chunks of :data:`CHUNK_BYTES` into
a temporary file while it is counted and hashed: never more than the listed
size plus one byte is read, a ``Content-Length`` above the listed size is
refused before any byte is, and the file takes its final name only once its
size and sha512 are the listed ones. A refusal (another digest or size, an
HTTP error, a connection closed early, no data for ``timeout`` seconds) puts
the template in ``error`` with the reason and leaves no file behind.

A subscription's token is sent as atrope and AppDB send it for the list
(HTTP Basic user, password ``x-oauth-basic``), and only to the list's own
origin (scheme, host and port) and never across a redirect: an image kept
elsewhere (a marketplace's storage, say) never sees the token.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from engine.db import Database
from engine.federation.image_fetch import (
    FetchTarget,
    ImageRefused,
    check_digest,
    pending_fetches,
    record_failed,
    record_fetched,
    store_verified,
    unused_files,
)
from engine.federation.models import ImageListSubscription

log = logging.getLogger("concord.image_fetch")

#: The most bytes read from the network at a time.
CHUNK_BYTES = 1024 * 1024
_SCHEMES = ("https://", "http://")


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) URLs only (urllib would follow one to ftp, too)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not newurl.startswith(_SCHEMES):
            raise urllib.error.HTTPError(
                req.full_url, code, f"redirected to {newurl}, not an http(s) URL", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def same_origin(url: str, other: str) -> bool:
    """Whether two http(s) URLs have the same scheme, host and port."""
    defaults = {"http": 80, "https": 443}
    try:
        a, b = urlsplit(url), urlsplit(other)
        return (a.scheme, a.hostname, a.port or defaults.get(a.scheme)) == (
            b.scheme,
            b.hostname,
            b.port or defaults.get(b.scheme),
        )
    except ValueError:
        return False


def _chunks(response: Any, size: int) -> Iterator[bytes]:
    """The body in chunks, reading at most one byte past ``size``.

    :raises ImageRefused: the connection closed before the announced length.
    """
    received = 0
    while True:
        chunk: bytes = response.read(min(CHUNK_BYTES, size - received + 1))
        if not chunk:
            # http.client returns nothing (rather than raising) when a read with
            # a size meets a closed connection; the length still owed tells.
            if getattr(response, "length", None):
                raise ImageRefused(
                    f"the connection closed after {received} bytes, before the announced end"
                )
            return
        received += len(chunk)
        yield chunk


def download(
    uri: str,
    path: Path,
    size: int,
    sha512: str,
    timeout: float,
    authorization: str | None = None,
) -> None:
    """Stream the image at ``uri`` into ``path``, verified against ``size`` and ``sha512``.

    :param timeout: seconds to wait for a connection or for each read.
    :param authorization: the ``Authorization`` header, sent to ``uri``
        only (not to where it redirects).
    :raises ImageRefused: with the reason; nothing is left at ``path`` (or
        beside it) that was not there before.
    """
    if not uri.startswith(_SCHEMES):
        raise ImageRefused(f"{uri} is not an http(s) URL")
    check_digest(sha512)
    request = urllib.request.Request(uri, headers={"Accept": "*/*"})  # noqa: S310 (checked)
    if authorization:
        request.add_unredirected_header("Authorization", authorization)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > size:
                raise ImageRefused(
                    f"the server announced {announced} bytes, more than the listed {size}"
                )
            store_verified(_chunks(response, size), path, size, sha512)
    except urllib.error.HTTPError as exc:
        raise ImageRefused(f"{uri} answered {exc.code} {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise ImageRefused(f"{uri} could not be read: {exc!r}") from None


@dataclass(frozen=True)
class ListSource:
    """Where a subscription's list is read, and with what token."""

    name: str
    url: str
    authorization: str | None


def fetch_pending(
    database: Database, source: ListSource, image_dir: Path, timeout: float
) -> tuple[tuple[str, str | None], ...]:
    """Fetch the bytes of every template of ``source`` that waits for them.

    :returns: each image's name with ``None`` when it is now available, or
        with the reason it was refused (it is then in ``error``).
    """
    with database.transaction() as session:
        subscription_id = session.scalar(
            sa.select(ImageListSubscription.id).where(ImageListSubscription.name == source.name)
        )
        targets = pending_fetches(session, subscription_id) if subscription_id else []
    return tuple(_fetch_one(database, source, target, image_dir, timeout) for target in targets)


def _fetch_one(
    database: Database, source: ListSource, target: FetchTarget, image_dir: Path, timeout: float
) -> tuple[str, str | None]:
    path = target.path(image_dir)
    secret = source.authorization if same_origin(target.uri, source.url) else None
    try:
        download(target.uri, path, target.size, target.sha512, timeout, secret)
        error = None
    except ImageRefused as exc:
        error = exc.reason
    with database.transaction() as session:
        if error is None:
            record_fetched(session, target, path)
        else:
            record_failed(session, target, error)
    # When the template moved on meanwhile (another list copy), the file is
    # unlocated and removed with the other unused ones.
    return target.name, error


def remove_unused_files(database: Database, image_dir: Path) -> list[Path]:
    """Remove the fetched files no template needs any more (engine.federation.image_fetch)."""
    with database.transaction() as session:
        paths = unused_files(session, image_dir)
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        log.info("removed %s: no template locates it and no guest uses its template", path)
    return paths


__all__ = ["CHUNK_BYTES", "ListSource", "download", "fetch_pending", "remove_unused_files"]
