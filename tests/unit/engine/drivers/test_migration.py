"""Which pairs of libvirt hosts move guests live (the rest move cold)."""

from __future__ import annotations

import pytest

from engine.drivers.libvirt import LibvirtDriver
from engine.drivers.libvirt.migration import can_migrate_live


@pytest.mark.parametrize(
    ("source", "destination", "live"),
    [
        ("qemu:///system", "qemu+ssh://node2/system", True),
        ("qemu+tls://node1/system", "qemu+tcp://node2/system", True),
        ("qemu+unix:///session?socket=/a", "qemu+unix:///session?socket=/b", True),
        ("qemu:///system", "qemu:///system", False),  # one host
        ("test:///tmp/a.xml", "test:///tmp/b.xml", False),  # the test driver cannot
        ("qemu:///system", "test:///tmp/b.xml", False),
        ("xen:///system", "xen+ssh://node2/system", False),
    ],
)
def test_live_between_two_qemu_hosts_only(source: str, destination: str, live: bool) -> None:
    assert can_migrate_live(source, destination) is live
    assert LibvirtDriver(source).can_migrate_live(destination) is live
