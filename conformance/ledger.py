"""What the full profile created, so that it can delete exactly that and nothing else.

Only locations the server returned for the harness's own creation requests are
tracked. Cleanup runs in reverse order of creation (links before the resources
they join), deletes with the identity that created, and waits until each
location is gone (404 or 410) before deleting the next; what the server
refuses with 409, as an asynchronous server may until a dependant's
deletion has finished, is asked again in a later round. The whole cleanup
shares one wait timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from conformance.client import Client, Exchange, TransportError
from conformance.wait import Waiter, WaitTimeout

GONE = (404, 410)


@dataclass
class Owned:
    """One thing the harness created."""

    protocol: str
    what: str
    url: str
    client: Client
    #: How to remove it (default: DELETE its URL).
    remove: Callable[[], Exchange] | None = None
    #: How to see whether it is gone (default: GET its URL; gone is 404/410).
    probe: Callable[[], bool] | None = None
    removed: bool = False


@dataclass
class Ledger:
    """The things created during a run, in creation order."""

    items: list[Owned] = field(default_factory=list)

    def track(self, owned: Owned) -> Owned:
        """Remember ``owned`` for cleanup."""
        self.items.append(owned)
        return owned

    def mark_removed(self, url: str) -> None:
        """A case deleted ``url`` itself (and checked it)."""
        for item in self.items:
            if item.url == url:
                item.removed = True

    def pending(self, protocol: str) -> list[Owned]:
        """What is still to remove for ``protocol``."""
        return [i for i in self.items if i.protocol == protocol and not i.removed]

    def cleanup(self, protocol: str, waiter: Waiter) -> list[str]:
        """Remove every pending item of ``protocol``; return what could not be removed.

        Newest first, each deletion is awaited until the item is gone before
        the next (older) one is asked for, so that what a link joins is not
        deleted while the link still exists. An item the server refuses with
        409 (an asynchronous server may, while a dependant's deletion runs)
        is asked again in a later round, after the others. All of it shares
        one wait timeout: a server that refuses for good costs one timeout,
        not one per item.
        """
        deadline = waiter.clock() + waiter.timeout
        problems: list[str] = []
        pending = list(reversed(self.pending(protocol)))
        interval = waiter.first
        while pending:
            refused = []
            for item in pending:
                again, problem = self._remove(item, waiter, deadline)
                if again:
                    refused.append(item)
                elif problem is not None:
                    problems.append(f"{item.what} at {item.url}: {problem}")
            pending = refused
            if pending and waiter.clock() >= deadline:
                problems += [
                    f"{item.what} at {item.url}: DELETE answered 409 until the wait "
                    f"timeout ({waiter.timeout:g} s)"
                    for item in pending
                ]
                break
            if pending:
                waiter.sleep(min(interval, max(0.0, deadline - waiter.clock())))
                interval = min(interval * 1.5, waiter.longest)
        return problems

    @staticmethod
    def _remove(item: Owned, waiter: Waiter, deadline: float) -> tuple[bool, str | None]:
        """Delete ``item`` and wait until it is gone.

        :returns: ``(ask again, problem)``: ``(True, None)`` when the server
            answered 409; ``(False, None)`` once the item is gone; else what
            went wrong.
        """
        try:
            exchange = _remover(item)()
            if exchange.status == 409:
                return True, None
            if exchange.status >= 300 and exchange.status not in GONE:
                return False, f"DELETE answered {exchange.status}"
            remaining = replace(waiter, timeout=max(0.0, deadline - waiter.clock()))
            probe = item.probe or _gone_probe(item)
            remaining.until(lambda: True if probe() else None, f"{item.url} to disappear")
        except (TransportError, WaitTimeout) as exc:
            return False, str(exc)
        item.removed = True
        return False, None


def _remover(item: Owned) -> Callable[[], Exchange]:
    if item.remove is not None:
        return item.remove
    return lambda: item.client.request("DELETE", item.url)


def _gone_probe(item: Owned) -> Callable[[], bool]:
    def probe() -> bool:
        return item.client.request("GET", item.url).status in GONE

    return probe
