"""An independent look at a host: a connection of its own, opened, asked and closed.

HA's monitor checks a host through the shared connection (its keepalive plus
an active call). Before it declares a host down it asks again through this
*second* path, so that a stuck shared connection (a call that never returns,
a socket wedged by a slow answer) is not mistaken for a dead host: a new
connection is a new socket and a new libvirtd client, and answers if the
daemon does.

For a ``test:///`` host a new connection reads the host's node file again
(a new private host, discarded at once): it answers while the file exists,
which is what a simulated host's life is.
"""

from __future__ import annotations

import contextlib

import libvirt

from engine.errors import DriverUnavailable


def probe_fresh_connection(uri: str) -> None:
    """Open a new connection to ``uri``, ask its version, list its domains, close it.

    Blocks as long as libvirt does: call it with a deadline
    (:func:`engine.drivers.timed.call_with_timeout` does).

    :raises DriverUnavailable: the host did not answer.
    """
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise DriverUnavailable("the hypervisor host cannot be reached") from exc
    try:
        conn.getLibVersion()
        conn.listAllDomains(0)
    except libvirt.libvirtError as exc:
        raise DriverUnavailable("the hypervisor host does not answer") from exc
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()


__all__ = ["probe_fresh_connection"]
