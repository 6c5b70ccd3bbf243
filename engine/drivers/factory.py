"""The default :data:`~engine.jobs.worker.DriverFactory`: one libvirt driver per host URI.

Workers, reconciliation and the HA monitor ask for "the driver of this host"
by its URI. :class:`DriverCache` answers with one
:class:`~engine.drivers.libvirt.LibvirtDriver` per URI, built on first use and
reused afterwards, all sharing one
:class:`~engine.drivers.libvirt.ConnectionPool` (the process-wide one by
default). Sharing the pool is what makes simulated hosts work: each
``libvirt.open("test:///path")`` is a *new, private* host, so every driver of
one test host must go through the same connection.
"""

from __future__ import annotations

import threading

from engine.drivers.base import HypervisorDriver
from engine.drivers.libvirt import ConnectionPool, LibvirtDriver, default_pool


class DriverCache:
    """A driver factory that builds one :class:`LibvirtDriver` per URI and keeps it.

    Instances are callables, usable wherever a
    :data:`~engine.jobs.worker.DriverFactory` is expected. Thread-safe.

    :param pool: the connection pool every driver shares; the process-wide
        :func:`~engine.drivers.libvirt.default_pool` by default. Tests pass a
        private pool so that closing it discards their simulated hosts.
    """

    def __init__(self, pool: ConnectionPool | None = None) -> None:
        self.pool = pool if pool is not None else default_pool()
        self._drivers: dict[str, LibvirtDriver] = {}
        self._lock = threading.Lock()

    def __call__(self, uri: str) -> HypervisorDriver:
        """Return the driver of the host at ``uri``, creating it on first use.

        Building a driver does not connect: the connection is opened (and
        :class:`~engine.errors.DriverUnavailable` raised) by its first call.
        """
        with self._lock:
            driver = self._drivers.get(uri)
            if driver is None:
                driver = self._drivers[uri] = LibvirtDriver(uri, self.pool)
            return driver

    def uris(self) -> list[str]:
        """The URIs a driver was built for, sorted."""
        with self._lock:
            return sorted(self._drivers)

    def close(self) -> None:
        """Close every cached driver (cancelling its event subscriptions) and forget them.

        The pool's connections stay open: they belong to the pool, and for a
        simulated host closing its connection would discard the host.
        """
        with self._lock:
            drivers, self._drivers = list(self._drivers.values()), {}
        for driver in drivers:
            driver.close()


_default_lock = threading.Lock()
_default: DriverCache | None = None


def default_drivers() -> DriverCache:
    """The process-wide driver cache over the process-wide connection pool.

    ``concord serve`` and ``concord worker`` hand it to their
    :class:`~engine.jobs.worker.Worker` and to reconciliation.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = DriverCache()
        return _default


__all__ = ["DriverCache", "default_drivers"]
