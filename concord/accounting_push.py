"""Sending this site's APEL cloud records: to a repository over HTTP, or into a directory queue.

The engine writes the messages (:mod:`engine.usage.export`); carrying them is
the edge's work, done here, two ways:

* :func:`push_messages` POSTs each message to an accounting repository's
  ``/federation/accounting/records`` with ``Authorization: Bearer <token>``
  (the token the repository's operator made for this site);
* :func:`queue_messages` adds each message to a directory queue in the
  layout of the ``dirq`` package's ``QueueSimple``, which is what APEL's
  ``ssmsend`` reads its outgoing messages from (cASO writes there too), so
  SSM sends them unmodified.

:func:`export_and_send` is what ``concord usage export --push/--queue`` and
the workers' schedule run: the records of every guest allocated since the
start of the previous month, cumulative up to now, so a guest that ended
late last month is sent once more with its final figures.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.db import Database, utcnow
from engine.scope import Scope
from engine.tenancy.service import TenancyService
from engine.usage.export import ApelSite, apel_cloud_message, apel_cloud_records

#: The most of a repository's answer kept for an error message.
MAX_ANSWER = 1024


@dataclass(frozen=True)
class Sent:
    """What was sent: records, messages, and where."""

    records: int
    messages: int
    pushed_to: str | None
    queued_in: str | None


def push_messages(url: str, token: str, messages: Sequence[str], timeout: float) -> None:
    """POST each message to ``url`` with ``Authorization: Bearer <token>``.

    :raises ValueError: with the reason, at the first message not accepted.
    """
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{url} is not an http(s) URL")
    for message in messages:
        request = urllib.request.Request(  # noqa: S310 (http(s) only: checked above)
            url,
            data=message.encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "text/plain; charset=utf-8",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                response.read(MAX_ANSWER)
        except urllib.error.HTTPError as exc:
            answer = exc.read(MAX_ANSWER).decode("utf-8", "replace")
            raise ValueError(f"{url} answered {exc.code} {exc.reason}: {answer}") from None
        except (OSError, urllib.error.URLError) as exc:
            raise ValueError(f"{url} cannot be reached: {exc}") from None


def queue_messages(directory: str, messages: Sequence[str]) -> list[str]:
    """Add each message to the dirq ``QueueSimple`` at ``directory``; the elements' names.

    :raises ValueError: the ``dirq`` package is not installed, or the
        directory cannot be written.
    """
    try:
        from dirq.QueueSimple import QueueSimple  # type: ignore[import-untyped]
    except ImportError:
        raise ValueError(
            "writing a directory queue needs the dirq package: pip install 'concord[apel]'"
        ) from None
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        queue = QueueSimple(directory)
        return [str(queue.add(message.encode("utf-8"))) for message in messages]
    except OSError as exc:
        raise ValueError(f"cannot write the queue {directory}: {exc}") from None


def export_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``[start of the previous month, now)``: what a scheduled push sends."""
    first = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    return previous, now


def export_and_send(
    database: Database,
    site: ApelSite,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    push_url: str = "",
    token: str = "",
    queue: str = "",
    timeout: float = 30.0,
) -> Sent:
    """Export the APEL cloud records of ``[start, end)`` and push and/or queue them.

    Without ``start`` and ``end``: :func:`export_window` of now.

    :raises ValueError: with the reason, when a message could not be sent.
    """
    if start is None or end is None:
        start, end = export_window(utcnow())
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).root())
        records = apel_cloud_records(session, system, start, end, site)
    messages = apel_cloud_message(records)
    if push_url:
        push_messages(push_url, token, messages, timeout)
    if queue:
        queue_messages(queue, messages)
    return Sent(len(records), len(messages), push_url or None, queue or None)


__all__ = ["Sent", "export_and_send", "export_window", "push_messages", "queue_messages"]
