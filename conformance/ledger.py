"""What the full profile created, so that it can delete exactly that and nothing else.

Only locations the server returned for the harness's own creation requests are
tracked. Cleanup runs in reverse order of creation (links before the resources
they join), deletes with the identity that created (again, in later rounds,
while the server answers 409, as an asynchronous server may until a
dependant's deletion has finished), then checks each location is gone (404
or 410), waiting for servers that delete asynchronously; each of the two
waits is bounded by one timeout for all the items together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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

        Deletion goes in rounds, newest first: an item the server refuses
        with 409 (an asynchronous server may, while a dependant's deletion
        runs) is asked again in the next round, after the others. The rounds,
        and then the wait for the accepted items to be gone, each take at
        most the waiter's timeout in all: a server that refuses for good
        costs one timeout, not one per item.
        """
        problems: list[str] = []
        waiting = list(reversed(self.pending(protocol)))
        accepted: list[Owned] = []

        def one_round() -> bool | None:
            refused = []
            for item in waiting:
                try:
                    exchange = _remover(item)()
                except TransportError as exc:
                    problems.append(f"{item.what} at {item.url}: {exc}")
                    continue
                if exchange.status == 409:
                    refused.append(item)
                elif exchange.status >= 300 and exchange.status not in GONE:
                    problems.append(f"{item.what} at {item.url}: DELETE answered {exchange.status}")
                else:
                    accepted.append(item)
            waiting[:] = refused
            return None if refused else True

        def all_gone() -> bool | None:
            for item in list(accepted):
                try:
                    gone = (item.probe or _gone_probe(item))()
                except TransportError as exc:
                    problems.append(f"{item.what} at {item.url}: {exc}")
                    accepted.remove(item)
                    continue
                if gone:
                    item.removed = True
                    accepted.remove(item)
            return None if accepted else True

        try:
            waiter.until(one_round, "the server to accept the deletions")
        except WaitTimeout as exc:
            problems += [f"{i.what} at {i.url}: DELETE answered 409 until {exc}" for i in waiting]
        try:
            waiter.until(all_gone, "the deleted resources to disappear")
        except WaitTimeout as exc:
            problems += [f"{i.what} at {i.url}: still there: {exc}" for i in accepted]
        return problems


def _remover(item: Owned) -> Callable[[], Exchange]:
    if item.remove is not None:
        return item.remove
    return lambda: item.client.request("DELETE", item.url)


def _gone_probe(item: Owned) -> Callable[[], bool]:
    def probe() -> bool:
        return item.client.request("GET", item.url).status in GONE

    return probe
