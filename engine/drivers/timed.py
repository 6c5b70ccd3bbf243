"""Run a blocking call with a deadline, in a daemon thread that may outlive it.

A libvirt call to a host that stopped answering blocks until the
connection's keepalive gives up; a fencer (or a health check) must answer in
its own time regardless, so the call runs in a thread of its own and is
abandoned (left to finish or fail on its own) when the deadline passes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TimedOut(Exception):
    """The call did not return before its deadline."""


def call_with_timeout(function: Callable[[], T], timeout: float, name: str = "concord-timed") -> T:
    """Return ``function()``, or raise :class:`TimedOut` after ``timeout`` seconds.

    Exceptions of ``function`` are raised in the caller.
    """
    box: dict[str, object] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = function()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=name, daemon=True).start()
    if not done.wait(timeout):
        raise TimedOut(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
