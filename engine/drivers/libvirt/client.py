"""One libvirt connection per host URI, shared by the whole process.

Sharing is not only an economy. Each ``libvirt.open("test:///path/node.xml")``
parses the node file into a *private* in-memory host, so two opens of the same
URI are two different hosts: every driver of a simulated host must go through
the same connection. For real daemons one connection per host also means one
socket, one keepalive and one event registration.

:class:`ConnectionPool` hands out that connection, reopens it when it died
(libvirtd restarted, network cut), and re-attaches the host's
:class:`~.events.LifecycleHub` to each new connection. Closing a driver does
not close the connection; :meth:`ConnectionPool.close` does, and for a test
host that discards the host's state.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import libvirt

from engine.drivers.libvirt.events import LifecycleHub, ensure_event_loop
from engine.drivers.libvirt.testhost import node_file
from engine.drivers.specs import LifecycleCallback
from engine.errors import DriverUnavailable

log = logging.getLogger(__name__)

#: Keepalive: probe every 5 s, give up after 3 unanswered probes, so a dead
#: host is noticed in about 20 s even when no call is in flight.
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3


def uri_driver(uri: str) -> str:
    """Return the hypervisor driver a URI names: ``test``, ``qemu``, ...

    :param uri: a libvirt URI such as ``qemu+ssh://host/system``.
    """
    return urlsplit(uri).scheme.split("+", 1)[0].lower()


@dataclass
class _Host:
    uri: str
    hub: LifecycleHub
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: libvirt.virConnect | None = None
    event_id: int | None = None
    opens: int = 0


class ConnectionPool:
    """Process-wide libvirt connections, keyed by URI. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}

    def _host(self, uri: str) -> _Host:
        with self._lock:
            host = self._hosts.get(uri)
            if host is None:
                host = self._hosts[uri] = _Host(uri, LifecycleHub(uri))
            return host

    def get(self, uri: str) -> libvirt.virConnect:
        """Return the live connection to ``uri``, opening or reopening it.

        :param uri: a libvirt URI.
        :raises DriverUnavailable: when the host cannot be reached.
        """
        host = self._host(uri)
        # A per-host lock: opening a connection to an unreachable host can
        # block for a while and must not hold up the other hosts.
        with host.lock:
            if host.conn is not None:
                if _alive(host.conn):
                    return host.conn
                log.warning("connection to %s is dead; reconnecting", uri)
                self._discard(host)
            return self._open(host)

    def hub(self, uri: str) -> LifecycleHub:
        """Return the lifecycle event hub of ``uri``.

        :param uri: a libvirt URI.
        """
        return self._host(uri).hub

    def subscribe(self, uri: str, callback: LifecycleCallback) -> Callable[[], None]:
        """Subscribe to the lifecycle events of a host, connecting if needed.

        :param uri: a libvirt URI.
        :param callback: called with each event on the event loop thread.
        :returns: a function that cancels the subscription.
        :raises DriverUnavailable: when the host cannot be reached.
        """
        cancel = self.hub(uri).add(callback)
        try:
            self.get(uri)
        except Exception:
            cancel()
            raise
        return cancel

    def opens(self, uri: str) -> int:
        """Return how many times a connection to ``uri`` was opened.

        :param uri: a libvirt URI.
        """
        return self._host(uri).opens

    def uris(self) -> list[str]:
        """Return the URIs that currently have an open connection."""
        with self._lock:
            return [uri for uri, host in self._hosts.items() if host.conn is not None]

    def close(self, uri: str) -> None:
        """Close the connection to ``uri``, if open.

        The next :meth:`get` opens a new one; for a ``test:///`` host that is a
        fresh host, in the state its node file describes.

        :param uri: a libvirt URI.
        """
        with self._lock:
            host = self._hosts.get(uri)
        if host is not None:
            with host.lock:
                self._discard(host)

    def close_all(self) -> None:
        """Close every connection of the pool."""
        with self._lock:
            uris = list(self._hosts)
        for uri in uris:
            self.close(uri)

    def _open(self, host: _Host) -> libvirt.virConnect:
        ensure_event_loop()
        uri = host.uri
        node_path = node_file(uri)
        if node_path is not None and not node_path.is_file():
            # libvirt would report an XML parse error; for the engine a test
            # host whose node file is gone is a host that is down.
            raise DriverUnavailable(
                "the hypervisor host cannot be reached", f"no node file at {node_path}"
            )
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            log.debug("cannot open %s: %s", uri, exc)
            raise DriverUnavailable(
                "the hypervisor host cannot be reached", str(exc).strip()
            ) from exc
        if uri_driver(uri) != "test":
            # The test driver does not implement keepalive; remote ones do.
            try:
                conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
            except libvirt.libvirtError:
                log.debug("keepalive not supported on %s", uri, exc_info=True)
        try:
            conn.registerCloseCallback(_on_close, uri)
        except libvirt.libvirtError:
            log.debug("close callback not supported on %s", uri, exc_info=True)
        host.event_id = host.hub.attach(conn)
        host.conn = conn
        host.opens += 1
        return conn

    @staticmethod
    def _discard(host: _Host) -> None:
        conn, host.conn = host.conn, None
        if conn is None:
            return
        if host.event_id is not None:
            LifecycleHub.detach(conn, host.event_id)
            host.event_id = None
        # Every step may fail on a dead connection; closing is best effort.
        with contextlib.suppress(libvirt.libvirtError):
            conn.unregisterCloseCallback()
        try:
            conn.close()
        except libvirt.libvirtError:
            log.debug("error closing connection to %s", host.uri, exc_info=True)


def _alive(conn: libvirt.virConnect) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False


def _on_close(_conn: libvirt.virConnect, reason: int, uri: str) -> None:
    # Runs on the event loop thread, so it only reports: the next get()
    # sees isAlive() fail and reconnects.
    log.warning("connection to %s closed by libvirt (reason %s)", uri, reason)


_default_lock = threading.Lock()
_default_pool: ConnectionPool | None = None


def default_pool() -> ConnectionPool:
    """Return the process-wide pool that drivers use unless given another."""
    global _default_pool
    with _default_lock:
        if _default_pool is None:
            _default_pool = ConnectionPool()
        return _default_pool


__all__ = ["ConnectionPool", "default_pool", "ensure_event_loop", "uri_driver"]
