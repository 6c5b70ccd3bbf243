"""A simulated host written back to its node file reopens with the same guests and volumes."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from engine.drivers.libvirt import save_test_host, write_test_host
from engine.errors import InvalidInput

GUEST = (
    "<domain type='test'><name>{}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    "<os><type>hvm</type></os></domain>"
)


def test_guests_keep_their_run_state_and_pools_their_volumes(tmp_path: Path) -> None:
    uri = write_test_host(
        tmp_path / "node.xml",
        hostname="node1",
        cpu_cores=4,
        cpu_mhz=2000,
        memory_mib=8192,
        pools=[("local", 10, str(tmp_path / "pool"))],
    )
    conn = libvirt.open(uri)
    try:
        running = conn.defineXML(GUEST.format("running"))
        running.create()
        conn.defineXML(GUEST.format("defined"))
        paused = conn.defineXML(GUEST.format("paused"))
        paused.create()
        paused.suspend()
        pool = conn.storagePoolLookupByName("local")
        pool.createXML("<volume><name>v1</name><capacity unit='MiB'>10</capacity></volume>", 0)
        expected = {d.UUIDString(): (d.name(), d.state()[0]) for d in conn.listAllDomains()}
        assert save_test_host(conn, uri) == 3
    finally:
        conn.close()
    again = libvirt.open(uri)
    try:
        found = {d.UUIDString(): (d.name(), d.state()[0]) for d in again.listAllDomains()}
        assert found == expected
        assert {s for _n, s in found.values()} == {
            libvirt.VIR_DOMAIN_RUNNING,
            libvirt.VIR_DOMAIN_SHUTOFF,
            libvirt.VIR_DOMAIN_PAUSED,
        }
        volumes = again.storagePoolLookupByName("local").listAllVolumes()
        assert [v.name() for v in volumes] == ["v1"]
        # Saving again replaces what the file held rather than adding to it.
        again.lookupByName("defined").undefine()
        assert save_test_host(again, uri) == 2
    finally:
        again.close()
    third = libvirt.open(uri)
    try:
        assert sorted(d.name() for d in third.listAllDomains()) == ["paused", "running"]
        assert third.getInfo()[1] == 8192  # the host itself is what the file said
    finally:
        third.close()


def test_only_file_backed_test_hosts_can_be_saved() -> None:
    with pytest.raises(InvalidInput):
        save_test_host(None, "qemu:///system")
