"""The libvirt hypervisor driver.

* :mod:`.driver` — :class:`LibvirtDriver`, the implementation of
  :class:`~engine.drivers.base.HypervisorDriver`;
* :mod:`.client` — :class:`ConnectionPool`, one connection per host URI;
* :mod:`.events` — libvirt's event loop thread and lifecycle event fan-out;
* :mod:`.mapping` — libvirt states, events and errors to engine terms;
* :mod:`.xmlbuild` — domain, disk, volume and pool XML;
* :mod:`.storage` — pools and volumes;
* :mod:`.devices` — disk hot-plug;
* :mod:`.testhost` — node files for simulated ``test:///`` hosts.
"""

from engine.drivers.libvirt.client import ConnectionPool, default_pool
from engine.drivers.libvirt.driver import LibvirtDriver
from engine.drivers.libvirt.events import ensure_event_loop
from engine.drivers.libvirt.testhost import save_test_host, write_test_host

__all__ = [
    "ConnectionPool",
    "LibvirtDriver",
    "default_pool",
    "ensure_event_loop",
    "save_test_host",
    "write_test_host",
]
