"""Simulated hosts for libvirt's ``test`` driver.

libvirt's test driver reads a *node file* describing a host (CPUs, memory,
storage pools, preloaded domains) and keeps everything else in memory. Each
connection that opens ``test:///abs/path/node.xml`` gets a private host
built from that file, which makes a node file per host a cheap, real-libvirt
stand-in for a cluster (the demo zone and most tests use it).

The test driver reports the *machine's* hostname from ``getHostname()``,
whatever the node file says, so the file also carries a
``<concord:host hostname='...'/>`` element (the test driver ignores elements
it does not know) and :func:`declared_hostname` reads it back for
:class:`~engine.drivers.specs.HostInfo`.
"""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.errors import InvalidInput

#: Namespace of the engine's own element in a node file.
TESTHOST_NS = "urn:concord:testhost:1"
_KIB_PER_MIB = 1024
_BYTES_PER_GIB = 1024**3

ET.register_namespace("concord", TESTHOST_NS)
ET.register_namespace("test", "http://libvirt.org/schemas/domain/test/1.0")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _pool_element(parent: ET.Element, name: str, capacity_gib: int, target_path: str) -> None:
    pool = _sub(parent, "pool", type="dir")
    _sub(pool, "name", name)
    # A stable UUID per pool name keeps the host identical across rewrites.
    _sub(pool, "uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"concord-test-pool:{name}")))
    capacity = str(capacity_gib * _BYTES_PER_GIB)
    _sub(pool, "capacity", capacity, unit="bytes")
    _sub(pool, "allocation", "0", unit="bytes")
    _sub(pool, "available", capacity, unit="bytes")
    _sub(pool, "source")
    _sub(_sub(pool, "target"), "path", target_path)


def write_test_host(
    path: str | os.PathLike[str],
    *,
    hostname: str,
    cpu_cores: int,
    cpu_mhz: int,
    memory_mib: int,
    pools: Sequence[tuple[str, int, str]] = (),
) -> str:
    """Write a node file for a simulated host and return its URI.

    :param path: where to write the file (made absolute).
    :param hostname: the name :func:`declared_hostname` reports.
    :param cpu_cores: logical CPUs (one NUMA node, one socket, one thread per core).
    :param cpu_mhz: CPU frequency.
    :param memory_mib: memory.
    :param pools: ``(name, capacity_gib, target_path)`` for each directory
        pool. Nothing is created on disk: the test driver only simulates them.
        Note that libvirt's test driver (9.0) reports every pool as 100 GiB
        whatever the file says; the capacity is written for readers of the
        file and for newer libvirt releases.
    :returns: the ``test:///abs/path`` URI to open the host with.
    :raises InvalidInput: for non-positive sizes or duplicate pool names.
    """
    if min(cpu_cores, cpu_mhz, memory_mib) < 1:
        raise InvalidInput("test host sizes must be positive")
    names = [name for name, _capacity, _target in pools]
    if len(names) != len(set(names)):
        raise InvalidInput("test host pool names must be unique")
    node = ET.Element("node")
    _sub(node, f"{{{TESTHOST_NS}}}host", hostname=hostname)
    cpu = _sub(node, "cpu")
    _sub(cpu, "mhz", str(cpu_mhz))
    # The test driver reports the model as the host's architecture.
    _sub(cpu, "model", "x86_64")
    _sub(cpu, "nodes", "1")
    _sub(cpu, "sockets", "1")
    _sub(cpu, "cores", str(cpu_cores))
    _sub(cpu, "threads", "1")
    _sub(node, "memory", str(memory_mib * _KIB_PER_MIB))
    for name, capacity_gib, target_path in pools:
        _pool_element(node, name, capacity_gib, target_path)
    target = Path(path).absolute()
    ET.ElementTree(node).write(target, encoding="unicode", xml_declaration=False)
    return f"test://{target.as_posix()}"


def node_file(uri: str) -> Path | None:
    """Return the node file of a ``test:///path`` URI.

    :param uri: a libvirt URI.
    :returns: the file, or ``None`` for other URIs and for ``test:///default``
        (libvirt's built-in host, which has no file).
    """
    parts = urlsplit(uri)
    if parts.scheme != "test" or parts.netloc or parts.path in ("", "/default"):
        return None
    return Path(parts.path)


def declared_hostname(uri: str) -> str | None:
    """Return the hostname a test host's node file declares.

    :param uri: a libvirt URI.
    :returns: the name, or ``None`` when the URI is not a file-backed test
        host or its file does not declare one.
    """
    path = node_file(uri)
    if path is None:
        return None
    try:
        # The node file is the engine's own (written by write_test_host or
        # an operator), not client input.
        root = ET.parse(path).getroot()  # noqa: S314
    except (OSError, ET.ParseError):
        return None
    element = root.find(f"{{{TESTHOST_NS}}}host")
    return None if element is None else element.get("hostname")


#: libvirt's namespace for test-driver metadata in a node file's domains (the run state).
TEST_DOMAIN_NS = "http://libvirt.org/schemas/domain/test/1.0"


def save_test_host(conn: Any, uri: str) -> int:
    """Write a simulated host's guests and volumes back into its node file.

    libvirt's test driver keeps a host's state in the memory of the process that opened
    it; written back, the next process that opens the URI finds the same guests, in the
    same run state (``<test:runstate>``), and the same volumes in its pools: a restart of
    the process is then not a reboot of the host. The file keeps everything else it said.

    :param conn: an open libvirt connection to ``uri``.
    :param uri: a ``test:///path`` URI.
    :returns: the number of guests written.
    :raises InvalidInput: the URI has no node file.
    """
    import libvirt

    path = node_file(uri)
    if path is None:
        raise InvalidInput(f"{uri} is not a file-backed test host", field="uri", reason="unknown")
    # The engine's own file (see declared_hostname).
    root = ET.parse(path).getroot()  # noqa: S314
    for old in root.findall("domain"):
        root.remove(old)
    domains = conn.listAllDomains()
    for domain in domains:
        state, _reason = domain.state()
        element = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))  # noqa: S314
        _sub(element, f"{{{TEST_DOMAIN_NS}}}runstate", str(int(state)))
        root.append(element)
    for pool_element in root.findall("pool"):
        for old in pool_element.findall("volume"):
            pool_element.remove(old)
        name = pool_element.findtext("name")
        try:
            pool = conn.storagePoolLookupByName(name)
            volumes = pool.listAllVolumes()
        except libvirt.libvirtError:
            continue
        for volume in volumes:
            pool_element.append(ET.fromstring(volume.XMLDesc()))  # noqa: S314
    partial = path.with_name(path.name + ".saving")
    ET.ElementTree(root).write(partial, encoding="unicode", xml_declaration=False)
    # Replaced at once: a crash while writing leaves the previous file.
    partial.replace(path)
    return len(domains)


__all__ = ["declared_hostname", "node_file", "save_test_host", "write_test_host"]
