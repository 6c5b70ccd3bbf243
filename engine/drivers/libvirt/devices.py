"""Disk hot-plug for :class:`~.driver.LibvirtDriver`, and bringing a restored guest's
devices in line with its definition.

A disk is attached to, or detached from, a guest's persistent definition
always, and from the running guest too when it runs, in one libvirt call so
the two cannot disagree.

libvirt's test driver implements neither call. For it (and only for it: on
a real hypervisor a silent "next boot only" change would be a lie) the
persistent definition is rewritten instead, which is what the change amounts
to on a host that holds no real guests.

A hibernated guest (libvirt managed save) is shut off: a device attached to
it or detached from it changes its persistent definition only, and libvirt
restores the guest from the definition saved with its memory, which a new
device would make ABI-incompatible (``virDomainManagedSaveDefineXML``
refuses such a change). So once it runs again, :func:`plug_missing_devices`
hot-plugs what the persistent definition gained and unplugs what it lost.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import libvirt

from engine.drivers.libvirt import power
from engine.drivers.libvirt.mapping import is_error, translate_error, translating
from engine.drivers.libvirt.xmlbuild import append_disk, disk_xml, find_disk, parse, remove_disk
from engine.drivers.specs import DiskSpec, PowerState
from engine.errors import NotFound

_LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
_CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG


def _rewrite_definition(
    conn: libvirt.virConnect, dom: libvirt.virDomain, edit: Callable[[ET.Element], None]
) -> None:
    with translating("update the guest's definition"):
        root = parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        edit(root)
        conn.defineXML(ET.tostring(root, encoding="unicode"))


def _unsupported(exc: libvirt.libvirtError, rewrite_if_unsupported: bool) -> bool:
    return rewrite_if_unsupported and is_error(exc, libvirt.VIR_ERR_NO_SUPPORT)


def attach_disk(
    conn: libvirt.virConnect,
    dom: libvirt.virDomain,
    disk: DiskSpec,
    *,
    live: bool,
    rewrite_if_unsupported: bool = False,
) -> None:
    """Attach ``disk`` to a guest.

    :param conn: the host connection.
    :param dom: the guest.
    :param disk: the disk.
    :param live: also plug it into the running guest.
    :param rewrite_if_unsupported: fall back to rewriting the persistent
        definition when the hypervisor cannot attach devices (test driver).
    """
    try:
        dom.attachDeviceFlags(disk_xml(disk), _CONFIG | (_LIVE if live else 0))
    except libvirt.libvirtError as exc:
        if not _unsupported(exc, rewrite_if_unsupported):
            raise translate_error(exc, "attach the volume") from exc
        _rewrite_definition(conn, dom, lambda root: append_disk(root, disk))


def detach_disk(
    conn: libvirt.virConnect,
    dom: libvirt.virDomain,
    device: str,
    *,
    live: bool,
    rewrite_if_unsupported: bool = False,
) -> bool:
    """Detach the disk ``device`` from a guest.

    :param conn: the host connection.
    :param dom: the guest.
    :param device: the disk's device name.
    :param live: also unplug it from the running guest.
    :param rewrite_if_unsupported: as for :func:`attach_disk`.
    :returns: ``False`` when the running guest has not released the disk yet
        (virtio unplug waits for the guest OS to acknowledge it).
    :raises NotFound: when the guest has no such disk.
    """
    with translating("read the guest's definition"):
        persistent = find_disk(parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)), device)
        running = find_disk(parse(dom.XMLDesc(0)), device) if live else None
    found = persistent if persistent is not None else running
    if found is None:
        raise NotFound("the guest has no disk with this device name")
    flags = (_CONFIG if persistent is not None else 0) | (_LIVE if running is not None else 0)
    try:
        dom.detachDeviceFlags(ET.tostring(found, encoding="unicode"), flags)
    except libvirt.libvirtError as exc:
        if not _unsupported(exc, rewrite_if_unsupported):
            raise translate_error(exc, "detach the volume") from exc
        _rewrite_definition(conn, dom, lambda root: remove_disk(root, device))
        return True
    if running is None:
        return True
    with translating("read the guest's definition"):
        return find_disk(parse(dom.XMLDesc(0)), device) is None


def _device_keys(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    keys: dict[tuple[str, str], ET.Element] = {}
    for element in root.findall("./devices/disk"):
        target = element.find("target")
        if element.get("device", "disk") == "disk" and target is not None and target.get("dev"):
            keys[("disk", str(target.get("dev")))] = element
    for element in root.findall("./devices/interface"):
        mac = element.find("mac")
        if mac is not None and mac.get("address"):
            keys[("interface", str(mac.get("address")).lower())] = element
    return keys


def plug_missing_devices(dom: libvirt.virDomain) -> None:
    """Make a running guest's disks and interfaces those of its persistent definition.

    Called after a hibernated guest is restored (see the module docstring):
    devices attached while it was saved are plugged in, devices detached
    meanwhile are unplugged. Only disks and interfaces, the devices the engine
    attaches.
    """
    with translating("read the guest's definition"):
        wanted = _device_keys(parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)))
        running = _device_keys(parse(dom.XMLDesc(0)))
    for key in wanted.keys() - running.keys():
        with translating("plug a device attached while the guest was suspended"):
            dom.attachDeviceFlags(ET.tostring(wanted[key], encoding="unicode"), _LIVE)
    for key in running.keys() - wanted.keys():
        with translating("unplug a device detached while the guest was suspended"):
            dom.detachDeviceFlags(ET.tostring(running[key], encoding="unicode"), _LIVE)


def start(dom: libvirt.virDomain, *, hotplug: bool) -> None:
    """Boot a stopped guest, or restore a suspended one from its saved memory.

    A restored guest then gets the disks and interfaces attached or detached
    while it was suspended (:func:`plug_missing_devices`), when the hypervisor
    can hot-plug (``hotplug``; libvirt's test driver boots from its definition).
    """
    restored = power.domain_state(dom) is PowerState.SUSPENDED
    power.start(dom)
    if restored and hotplug:
        plug_missing_devices(dom)
