"""libvirt's event loop and the fan-out of lifecycle events.

libvirt delivers events (and runs connection keepalives) only from an event
loop the application provides. :func:`ensure_event_loop` registers libvirt's
default implementation and runs it on one daemon thread for the whole
process. It must run before the first connection is opened: a connection
opened earlier never delivers events. :class:`~.client.ConnectionPool` calls
it before every open, so callers need not.

Each host (URI) has one :class:`LifecycleHub`: one libvirt callback per
connection that translates events for engine guests into
:class:`~engine.drivers.specs.LifecycleEvent` and hands them to every
subscriber of that host. When the connection is replaced after a failure, the
pool attaches the hub to the new connection and subscribers carry on.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable

import libvirt

from engine.drivers.libvirt.mapping import event_power_state, event_reason
from engine.drivers.libvirt.xmlbuild import guest_id_of
from engine.drivers.specs import LifecycleCallback, LifecycleEvent

log = logging.getLogger(__name__)

_loop_lock = threading.Lock()
_loop_thread: threading.Thread | None = None


def _run_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:  # pragma: no cover - the loop must outlive any failure
            log.exception("libvirt event loop iteration failed")


def _discard_error(_ctx: object, _error: object) -> None:
    # libvirt prints every error to stderr by default. The driver turns errors
    # into engine exceptions and logs them itself, so the printout is noise.
    return None


def ensure_event_loop() -> None:
    """Start libvirt's event loop thread, once per process.

    Safe to call from any thread, any number of times. It also silences
    libvirt's default printing of errors to standard error.
    """
    global _loop_thread
    with _loop_lock:
        if _loop_thread is not None:
            return
        libvirt.registerErrorHandler(_discard_error, None)
        libvirt.virEventRegisterDefaultImpl()
        _loop_thread = threading.Thread(target=_run_loop, name="libvirt-events", daemon=True)
        _loop_thread.start()


class LifecycleHub:
    """Subscribers to the guest lifecycle events of one host.

    :param uri: the host's URI, copied into every event.
    """

    def __init__(self, uri: str) -> None:
        self._uri = uri
        # Reentrant: the lock is held while callbacks run (so that a cancel
        # returns only once no delivery can still reach the callback), and a
        # callback may subscribe or cancel from inside a delivery.
        self._lock = threading.RLock()
        self._subscribers: dict[int, LifecycleCallback] = {}
        self._ids = itertools.count(1)

    def add(self, callback: LifecycleCallback) -> Callable[[], None]:
        """Subscribe ``callback``.

        :param callback: called with each event, on the event loop thread.
        :returns: a function that unsubscribes it (idempotent). Once it has
            returned, ``callback`` is never called again: a delivery already
            under way finishes first.
        """
        with self._lock:
            token = next(self._ids)
            self._subscribers[token] = callback

        def cancel() -> None:
            with self._lock:
                self._subscribers.pop(token, None)

        return cancel

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def attach(self, conn: libvirt.virConnect) -> int:
        """Register this hub's lifecycle callback on a connection.

        :param conn: a freshly opened connection to the hub's host.
        :returns: the callback id, for :meth:`detach`.
        """
        return int(
            conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_event, None
            )
        )

    @staticmethod
    def detach(conn: libvirt.virConnect, callback_id: int) -> None:
        """Remove the callback :meth:`attach` registered; ignore a dead connection.

        :param conn: the connection it was registered on.
        :param callback_id: what :meth:`attach` returned.
        """
        try:
            conn.domainEventDeregisterAny(callback_id)
        except libvirt.libvirtError:
            log.debug("could not deregister lifecycle callback on %s", conn, exc_info=True)

    def _on_event(
        self,
        _conn: libvirt.virConnect,
        dom: libvirt.virDomain,
        event: int,
        detail: int,
        _opaque: object,
    ) -> None:
        # Runs on the event loop thread: no libvirt calls that go to the
        # daemon here (a virDomain knows its name locally).
        guest_id = guest_id_of(dom.name())
        power_state = event_power_state(event, detail)
        if guest_id is None or power_state is None:
            return
        lifecycle = LifecycleEvent(self._uri, guest_id, power_state, event_reason(event, detail))
        with self._lock:
            for token, callback in list(self._subscribers.items()):
                # A callback may have cancelled a later one during this delivery.
                if token not in self._subscribers:
                    continue
                try:
                    callback(lifecycle)
                except Exception:
                    # One faulty subscriber must not starve the others or kill the loop.
                    log.exception("lifecycle subscriber failed on %s", lifecycle)
