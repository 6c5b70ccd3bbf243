"""Fetching subscribed image lists (``concord federation image-list sync``).

The engine verifies and applies a list (:mod:`engine.federation.image_lists`);
reading it over HTTP is the edge's work, done here. A subscription's token is
sent as HTTP Basic user with the password ``x-oauth-basic``, as atrope and
AppDB do. Each list is read outside any transaction and applied in its own,
so a slow or refused list delays or spoils no other; the bytes of the images
an accepted list brings (or changes, or that still wait from an earlier
turn) are then fetched and verified (:mod:`concord.image_fetch`), outside
that transaction too; last, the templates of lists whose last accepted copy
has expired are retired, and the files no template needs any more removed.
"""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

from concord.glue_fetch import read_url
from concord.image_fetch import ListSource, fetch_pending, remove_unused_files
from engine.db import Database
from engine.errors import EngineError
from engine.federation.image_lists import ImageListService, SyncOutcome
from engine.scope import Scope
from engine.tenancy.server_keys import ServerKeys
from engine.tenancy.service import TenancyService

#: The largest signed list read.
MAX_LIST_BYTES = 8 * 1024 * 1024


def basic_token(token: str) -> str:
    """The ``Authorization`` value that carries an image-list token (atrope's convention)."""
    return "Basic " + base64.b64encode(f"{token}:x-oauth-basic".encode()).decode("ascii")


def sync_lists(
    database: Database,
    server_keys: ServerKeys,
    timeout: float,
    only: str | None = None,
    *,
    image_dir: Path,
) -> dict[str, SyncOutcome]:
    """Fetch and apply every subscribed list (or only ``only``); each list's outcome by name.

    :param timeout: seconds to wait for a list, or for each read of an image.
    :param image_dir: where images' bytes are kept (setting ``federation_image_dir``).

    :raises EngineError: ``only`` names no subscription.
    """
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).root())
        service = ImageListService(session, server_keys)
        targets = [
            (s.name, s.url, service.token(s))
            for s in service.list_subscriptions(system)
            if only is None or s.name == only
        ]
        if only is not None and not targets:
            service.record_error(only, "")  # raises NotFound, in the service's words
    outcome: dict[str, SyncOutcome] = {}
    for name, url, token in targets:
        headers = {"Accept": "*/*"}
        if token:
            headers["Authorization"] = basic_token(token)
        try:
            message: bytes | None = read_url(url, headers, timeout, MAX_LIST_BYTES)
            error = None
        except ValueError as exc:
            message, error = None, str(exc)
        try:
            with database.transaction() as session:
                service = ImageListService(session, server_keys)
                if message is None:
                    outcome[name] = service.record_error(name, error or "not read")
                else:
                    outcome[name] = service.apply(name, message)
        except EngineError as exc:  # unsubscribed meanwhile
            outcome[name] = SyncOutcome(refused=exc.message)
        if outcome[name].refused is None:
            source = ListSource(name, url, basic_token(token) if token else None)
            fetched = fetch_pending(database, source, image_dir, timeout)
            outcome[name] = dataclasses.replace(outcome[name], fetched=fetched)
    with database.transaction() as session:
        ImageListService(session, server_keys).retire_expired()
    remove_unused_files(database, image_dir)  # superseded and retired bytes
    return outcome
