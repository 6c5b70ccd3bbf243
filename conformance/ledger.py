"""What the full profile created, so that it can delete exactly that and nothing else.

Only locations the server returned for the harness's own creation requests are
tracked. Cleanup runs in reverse order of creation (links before the resources
they join), deletes with the identity that created (again while the server
answers 409, as an asynchronous server may until a dependant's deletion has
finished), then checks each location is gone (404 or 410), waiting for
servers that delete asynchronously.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.client import Client, Exchange, TransportError
from conformance.wait import Waiter, WaitTimeout, settled

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
        """Remove every pending item of ``protocol``; return what could not be removed."""
        problems = []
        for item in reversed(self.pending(protocol)):
            try:
                # A resource whose dependant is still being deleted (a volume
                # attached to a compute whose deletion was accepted) may be
                # refused for a while by an asynchronous server.
                exchange = settled(waiter, _remover(item), f"{item.url} to accept its deletion")
                if exchange.status >= 300 and exchange.status not in GONE:
                    problems.append(f"{item.what} at {item.url}: DELETE answered {exchange.status}")
                    continue
                waiter.until(_polled(item.probe or _gone_probe(item)), f"{item.url} to disappear")
                item.removed = True
            except (TransportError, WaitTimeout) as exc:
                problems.append(f"{item.what} at {item.url}: {exc}")
        return problems


def _remover(item: Owned) -> Callable[[], Exchange]:
    if item.remove is not None:
        return item.remove
    return lambda: item.client.request("DELETE", item.url)


def _polled(probe: Callable[[], bool]) -> Callable[[], bool | None]:
    return lambda: True if probe() else None


def _gone_probe(item: Owned) -> Callable[[], bool]:
    def probe() -> bool:
        return item.client.request("GET", item.url).status in GONE

    return probe
