"""Reading member sites' GLUE documents, for a federation registry (``concord federation refresh``).

The engine keeps the registry's members and their last documents
(:mod:`engine.federation.registry`); fetching over HTTP is the edge's work,
done here with the member's bearer token. A read is bounded in time and size,
and whatever goes wrong (refused, unreachable, not JSON, not a GLUE document)
is recorded beside the last good document rather than replacing it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from engine.db import Database
from engine.errors import EngineError
from engine.federation.registry import RegistryService
from engine.scope import Scope
from engine.tenancy.server_keys import ServerKeys
from engine.tenancy.service import TenancyService

#: The largest document read from a member.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


def read_url(url: str, headers: dict[str, str], timeout: float, limit: int) -> bytes:
    """The body at an http(s) ``url``, at most ``limit`` bytes, read with ``headers``.

    :raises ValueError: with the reason, when it cannot be read.
    """
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{url} is not an http(s) URL")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        # http(s) only: checked above (and when the URL was recorded).
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise ValueError(f"{url} answered {exc.code} {exc.reason}") from None
    except (OSError, urllib.error.URLError) as exc:
        raise ValueError(f"{url} cannot be read: {exc}") from None
    if len(body) > limit:
        raise ValueError(f"{url} sent more than {limit} bytes")
    return body


def fetch_document(url: str, token: str | None, timeout: float) -> Any:
    """The JSON document at ``url``, read with ``Authorization: Bearer <token>`` when given.

    :raises ValueError: with the reason, when it cannot be read or is not JSON.
    """
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = read_url(url, headers, timeout, MAX_DOCUMENT_BYTES)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ValueError(f"{url} did not send JSON: {exc}") from None


def refresh_members(
    database: Database, server_keys: ServerKeys, timeout: float, names: list[str] | None = None
) -> dict[str, str | None]:
    """Read every member's document and record it; returns each member's error, or None.

    Each member is read outside any transaction and recorded in its own, so
    a slow or broken member delays or spoils no other's record.

    :param names: only these members (all when None).
    """
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).root())
        registry = RegistryService(session, server_keys)
        targets = [
            (m.name, m.glue_url, registry.token(m))
            for m in registry.list_members(system)
            if names is None or m.name in names
        ]
    outcome: dict[str, str | None] = {}
    for name, url, token in targets:
        try:
            document, error = fetch_document(url, token, timeout), None
        except ValueError as exc:
            document, error = None, str(exc)
        try:
            with database.transaction() as session:
                outcome[name] = RegistryService(session, server_keys).record(name, document, error)
        except EngineError as exc:  # the member was removed meanwhile
            outcome[name] = exc.message
    return outcome
