"""Disk hot-plug for :class:`~.driver.LibvirtDriver`.

A disk is attached to, or detached from, a guest's persistent definition
always, and from the running guest too when it runs, in one libvirt call so
the two cannot disagree.

libvirt's test driver implements neither call. For it (and only for it: on
a real hypervisor a silent "next boot only" change would be a lie) the
persistent definition is rewritten instead, which is what the change amounts
to on a host that holds no real guests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import libvirt

from engine.drivers.libvirt.mapping import is_error, translate_error, translating
from engine.drivers.libvirt.xmlbuild import append_disk, disk_xml, find_disk, parse, remove_disk
from engine.drivers.specs import DiskSpec
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
