"""Throttling of failed sign-ins, per source address and per user name.

A password check is deliberately expensive (Argon2id, tens of milliseconds
and 64 MiB), so anonymous clients sending wrong passwords could otherwise
take the server's CPU from everyone else, and guess passwords as fast as
the server hashes. :class:`SignInThrottle` keeps, for each source and each
user name, how many recent attempts failed; past the limit a Basic request
is answered 429 with ``Retry-After`` *before* any password is hashed.

The rules (docs/security.rst, "Throttling failed sign-ins"):

* Only Basic sign-ins that reach the password hash count: a request with no
  credentials (a client probing ``HEAD /-/``), a malformed header or a bad
  signature costs no more than any other request and counts for nothing.
* Each attempt that will hash a password is charged to its source and its
  user name first, and given back if it succeeds, so that concurrent
  attempts cannot overshoot the limit; a refused attempt is not charged to
  what refused it, so refusals never lengthen the wait.
* A throttled user name is refused whatever the password: letting a
  remembered (cached) password through would tell an attacker, at no cost,
  when a guess is right.
* A throttled source is refused unless the password is one the
  verified-password cache already knows (no hashing needed), so that users
  signed in from behind the same address (a NAT) keep working; such a refusal
  is charged to the user name, so that guessing from a throttled source still
  spends that user's budget.

The counters are a generic cell rate algorithm (a leaky bucket kept as one
timestamp per key), in the memory of each process, bounded in size: see the
documentation for the trade-off against sharing them through the database.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: The most keys each table keeps; the least recently used go first.
TABLE_SIZE = 65536


class FailureCounter:
    """Failures per key, allowing ``limit`` in any ``window`` seconds (a leaky bucket).

    Each key holds one number, its *theoretical arrival time*: a failure moves it
    ``window / limit`` seconds later (from now, if it was in the past), and a key
    waits while that time is more than ``window`` minus one interval ahead.
    Keys are stored as digests, so a long user name costs no more memory than a short one.

    :param limit: failures allowed per window; 0 turns the counter off.
    :param window: the window, in seconds.
    :param size: the most keys kept.
    :param clock: a monotonic clock in seconds (tests pass their own).
    """

    def __init__(
        self,
        limit: int,
        window: float,
        size: int = TABLE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.size = size
        self._clock = clock
        self._interval = window / limit if limit > 0 else 0.0
        self._due: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """The number of keys held."""
        return len(self._due)

    @staticmethod
    def _digest(key: str) -> bytes:
        return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def wait(self, key: str) -> float:
        """Seconds ``key`` must wait before its next attempt (0: it may go on)."""
        if self.limit <= 0:
            return 0.0
        with self._lock:
            return self._wait(self._digest(key), self._clock())

    def _wait(self, digest: bytes, now: float) -> float:
        due = self._due.get(digest)
        if due is None:
            return 0.0
        if due <= now:
            del self._due[digest]  # fully drained: forget it
            return 0.0
        return max(0.0, due - now - (self.window - self._interval))

    def take(self, key: str) -> float:
        """Charge one attempt to ``key`` unless it must wait; return the wait (0: charged).

        Checking and charging under one lock means that attempts running at the
        same time cannot all pass a nearly spent limit; a key that must wait is
        not charged, so refused attempts never lengthen the wait.
        """
        if self.limit <= 0:
            return 0.0
        with self._lock:
            digest = self._digest(key)
            now = self._clock()
            wait = self._wait(digest, now)
            if wait > 0:
                return wait
            self._due[digest] = max(self._due.get(digest, now), now) + self._interval
            self._due.move_to_end(digest)
            while len(self._due) > self.size:
                self._due.popitem(last=False)
            return 0.0

    def refund(self, key: str) -> None:
        """Give back one charge: the attempt succeeded."""
        if self.limit <= 0:
            return
        with self._lock:
            digest = self._digest(key)
            due = self._due.get(digest)
            if due is None:
                return
            if due - self._interval <= self._clock():
                del self._due[digest]
            else:
                self._due[digest] = due - self._interval


def source_of(remote_addr: str | None) -> str:
    """The throttling key of a client address.

    An IPv6 client is keyed by its /64 network, the block a single site or
    subscriber is usually given (it could otherwise take a new address per
    request); an IPv4 client, or an IPv4 address mapped into IPv6, by its address.
    """
    if not remote_addr:
        return "-"
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class SignInThrottle:
    """The per-source and per-user failure counters of one process.

    :param per_source: failed sign-ins allowed per window from one source (0: no limit).
    :param per_user: failed sign-ins allowed per window for one user name (0: no limit).
    :param window: the window, in seconds.
    :param clock: a monotonic clock in seconds.
    """

    def __init__(
        self,
        per_source: int,
        per_user: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources = FailureCounter(per_source, window, clock=clock)
        self.users = FailureCounter(per_user, window, clock=clock)

    def user_wait(self, username: str) -> float:
        """Seconds before ``username`` may try a password again (0: now)."""
        return self.users.wait(username)

    def begin(self, source: str, username: str) -> float:
        """Before hashing a password: charge the attempt, or say how long to wait.

        :returns: 0 when the attempt may go on: it is charged to both the source
            and the user name, and :meth:`succeeded` gives the charges back.
            Otherwise the seconds to wait; a refusal because of the source is
            charged to the user name (when it is under its own limit).
        """
        wait = self.sources.take(source)
        if wait > 0:
            self.users.take(username)
            return wait
        wait = self.users.take(username)
        if wait > 0:
            self.sources.refund(source)
        return wait

    def succeeded(self, source: str, username: str) -> None:
        """The attempt :meth:`begin` let through signed in: give back its charges."""
        self.sources.refund(source)
        self.users.refund(username)


def retry_after(wait: float) -> int:
    """The ``Retry-After`` value for a wait: whole seconds, at least 1."""
    return max(1, math.ceil(wait))
