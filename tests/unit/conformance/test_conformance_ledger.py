"""Cleanup of what a run created (conformance.ledger): in order, again on 409, one timeout.

The server is a small WSGI app of this module: things that depend on one
another, deleted asynchronously, and one that the server refuses to delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from unit.conformance.runs import FakeClock

from conformance.client import Client
from conformance.ledger import Ledger, Owned
from conformance.transports import WSGITransport
from conformance.wait import Waiter


class Server:
    """``/a`` holds ``/b`` (``/b`` is refused with 409 while ``/a`` exists); ``/stuck`` is
    always refused; a deletion takes ``lag`` seconds of the clock to finish."""

    def __init__(self, clock: FakeClock, lag: float = 3.0) -> None:
        self.clock, self.lag = clock, lag
        self.things = {"/a", "/b", "/stuck", "/free"}
        self.gone_at: dict[str, float] = {}
        self.deletes: list[str] = []

    def _exists(self, path: str) -> bool:
        return path in self.things and self.clock.now < self.gone_at.get(path, float("inf"))

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if method == "DELETE":
            self.deletes.append(path)
            if path == "/stuck" or (path == "/b" and self._exists("/a")):
                status = "409 Conflict"
            elif self._exists(path) and path not in self.gone_at:
                self.gone_at[path] = self.clock.now + self.lag
                status = "204 No Content"
            else:
                status = "404 Not Found"
        else:
            status = "200 OK" if self._exists(path) else "404 Not Found"
        start_response(status, [("Content-Type", "text/plain")])
        return [b""]

    def left(self) -> set[str]:
        """What still exists now."""
        return {path for path in self.things if self._exists(path)}


def _ledger(server: Server, paths: Iterable[str]) -> Ledger:
    client = Client("http://localhost/", WSGITransport(server))
    ledger = Ledger()
    for path in paths:
        ledger.track(Owned("occi", path.strip("/"), f"http://localhost{path}", client))
    return ledger


def test_what_a_link_joins_is_deleted_once_the_link_is_gone() -> None:
    clock = FakeClock()
    server = Server(clock)
    # /a holds /b and was created after it: /a is deleted, and gone, before /b is asked.
    ledger = _ledger(server, ["/b", "/a", "/free"])
    problems = ledger.cleanup("occi", Waiter(timeout=60, clock=clock, sleep=clock.sleep))
    assert problems == []
    assert server.left() == {"/stuck"}
    assert ledger.pending("occi") == []
    assert server.deletes == ["/free", "/a", "/b"]


def test_a_refused_deletion_is_asked_again_after_the_others() -> None:
    clock = FakeClock()
    server = Server(clock)
    # Created the other way round: /b comes first, and is refused while /a exists.
    ledger = _ledger(server, ["/a", "/b"])
    problems = ledger.cleanup("occi", Waiter(timeout=60, clock=clock, sleep=clock.sleep))
    assert problems == []
    assert server.left() == {"/free", "/stuck"}
    assert server.deletes == ["/b", "/a", "/b"]


def test_a_server_that_refuses_for_good_costs_one_timeout_in_all() -> None:
    clock = FakeClock()
    server = Server(clock)
    ledger = _ledger(server, ["/stuck", "/free", "/stuck"])
    problems = ledger.cleanup("occi", Waiter(timeout=60, clock=clock, sleep=clock.sleep))
    assert len(problems) == 2
    assert all("DELETE answered 409 until the wait timeout (60 s)" in p for p in problems)
    assert [item.what for item in ledger.pending("occi")] == ["stuck", "stuck"]
    assert 60 <= clock.now < 65  # one timeout, not one per stuck item
    assert server.left() == {"/a", "/b", "/stuck"}


def test_an_item_that_never_goes_is_reported() -> None:
    clock = FakeClock()
    server = Server(clock, lag=10**6)
    ledger = _ledger(server, ["/free", "/a"])
    problems = ledger.cleanup("occi", Waiter(timeout=5, clock=clock, sleep=clock.sleep))
    assert problems == [
        "a at http://localhost/a: gave up after 5 s waiting for http://localhost/a to disappear",
        "free at http://localhost/free: gave up after 0 s waiting for "
        "http://localhost/free to disappear",
    ]
    assert [item.what for item in ledger.pending("occi")] == ["free", "a"]
