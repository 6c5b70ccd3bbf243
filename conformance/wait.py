"""Waiting for slow and asynchronous servers: poll until a condition holds or time runs out.

The clock and the sleep are injectable, so the test suite drives a simulated
server through its states without waiting for real.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class _Answer(Protocol):
    @property
    def status(self) -> int:
        """The HTTP status of the answer."""
        ...


R = TypeVar("R", bound=_Answer)


class WaitTimeout(Exception):
    """The condition did not hold within the wait timeout."""


@dataclass
class Waiter:
    """Polls with a growing interval (``first``, times 1.5, at most ``longest``)."""

    timeout: float = 60.0
    first: float = 0.1
    longest: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(self, probe: Callable[[], T | None], what: str) -> T:
        """Call ``probe`` until it returns something other than None, and return that.

        :raises WaitTimeout: ``probe`` kept returning None for ``timeout`` seconds;
            the message says what was awaited.
        """
        deadline = self.clock() + self.timeout
        interval = self.first
        while True:
            value = probe()
            if value is not None:
                return value
            if self.clock() >= deadline:
                raise WaitTimeout(f"gave up after {self.timeout:g} s waiting for {what}")
            self.sleep(min(interval, max(0.0, deadline - self.clock())))
            interval = min(interval * 1.5, self.longest)


def settled(waiter: Waiter, send: Callable[[], R], what: str) -> R:
    """Send a request again while the server answers 409, up to the wait deadline.

    An asynchronous server may refuse an operation on something still being
    created, changed or deleted (409, "conflict with the current state": an
    action while another runs, a volume whose compute's deletion has not yet
    detached it); a client waits for it to settle. Any other answer, or the
    last 409 at the deadline, is returned for the caller to judge.
    """
    last: list[R] = []

    def probe() -> R | None:
        answer = send()
        last[:] = [answer]
        return answer if answer.status != 409 else None

    try:
        return waiter.until(probe, what)
    except WaitTimeout:
        return last[0]
