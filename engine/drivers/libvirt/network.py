"""Guest networks and network interfaces for :class:`~.driver.LibvirtDriver`.

What a Concord network is on a host (the engine's decision, see
:mod:`engine.network.service`): one persistent libvirt network per engine
network, named ``concord-<network id>``, created on a host the first time a
guest there needs it. It is an *isolated* layer-2 segment: a bridge with no
``<forward>`` (nothing routed or NATed to the host's uplinks) and no
``<ip>`` (the host takes no address on it and runs no DHCP server). The
engine owns addressing (its IPAM), so two tenants may use the same CIDR
without the host noticing, which a libvirt network with an ``<ip>`` would
refuse ("network is already in use"). An inactive libvirt network is the
hypervisor side of an OCCI ``inactive`` network (GFD.224 §3.2): guests on
it have no link.

Bridge names are derived from the network name (a Linux interface name has
at most 15 characters), because libvirt's test driver does not pick one
itself, and so that a bridge always belongs to the same network.

Interfaces are hot-plugged like disks (:mod:`.devices`): into the persistent
definition always, into the running guest too when it runs; libvirt's test
driver implements neither call, so for it alone the persistent definition is
rewritten.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import libvirt

from engine.drivers.libvirt.mapping import is_error, translate_error, translating
from engine.drivers.libvirt.xmlbuild import _nic_element, parse
from engine.drivers.specs import NicSpec
from engine.errors import InvalidInput

#: Engine networks are named ``concord-<id>``; other networks on a host
#: (libvirt's ``default``, an operator's) are never touched.
NETWORK_PREFIX = "concord-"
_NAME_RE = re.compile(r"^concord-[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
_CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG


def check_network_name(name: str) -> None:
    """Refuse a name that is not an engine network's.

    :raises InvalidInput: when ``name`` does not start with ``concord-`` or
        holds other characters than letters, digits, ``.``, ``_`` and ``-``.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput("invalid engine network name", field="network_name", reason="format")


def bridge_name(name: str) -> str:
    """The host bridge of network ``name``: ``ccbr`` and 11 hex digits (15 characters)."""
    return "ccbr" + hashlib.blake2s(name.encode(), digest_size=6).hexdigest()[:11]


def network_xml(name: str) -> str:
    """The definition of an isolated network without host address: bridge only."""
    root = ET.Element("network")
    ET.SubElement(root, "name").text = name
    # STP on: a guest that bridges two of its interfaces must not loop the segment.
    ET.SubElement(root, "bridge", {"name": bridge_name(name), "stp": "on", "delay": "0"})
    return ET.tostring(root, encoding="unicode")


def _find(conn: libvirt.virConnect, name: str) -> libvirt.virNetwork | None:
    try:
        return conn.networkLookupByName(name)
    except libvirt.libvirtError as exc:
        if is_error(exc, libvirt.VIR_ERR_NO_NETWORK):
            return None
        raise translate_error(exc, "find the network") from exc


def ensure_network(conn: libvirt.virConnect, name: str, active: bool) -> bool:
    """Define network ``name`` unless it exists, then make it (in)active.

    Safe to run twice and concurrently: a definition or start that another
    caller made first counts as done.

    :returns: ``True`` when the network was defined by this call.
    """
    check_network_name(name)
    network = _find(conn, name)
    created = False
    if network is None:
        try:
            network = conn.networkDefineXML(network_xml(name))
            created = True
        except libvirt.libvirtError as exc:
            network = _find(conn, name)
            if network is None:
                raise translate_error(exc, "define the network") from exc
    with translating("read the network"):
        is_active = bool(network.isActive())
    if active and not is_active:
        try:
            network.create()
        except libvirt.libvirtError as exc:
            with translating("start the network"):
                if not network.isActive():
                    raise translate_error(exc, "start the network") from exc
    elif not active and is_active:
        try:
            network.destroy()
        except libvirt.libvirtError as exc:
            with translating("stop the network"):
                if network.isActive():
                    raise translate_error(exc, "stop the network") from exc
    with translating("set the network's autostart"):
        # A host that reboots brings active networks back before their guests.
        if network.isPersistent():
            network.setAutostart(1 if active else 0)
    return created


def delete_network(conn: libvirt.virConnect, name: str) -> bool:
    """Stop and undefine network ``name``.

    :returns: ``False`` when the host had no such network.
    """
    check_network_name(name)
    network = _find(conn, name)
    if network is None:
        return False
    try:
        if network.isActive():
            network.destroy()
        if network.isPersistent():
            network.undefine()
    except libvirt.libvirtError as exc:
        if is_error(exc, libvirt.VIR_ERR_NO_NETWORK):
            return True  # removed meanwhile: the goal is met
        raise translate_error(exc, "delete the network") from exc
    return True


def list_networks(conn: libvirt.virConnect) -> dict[str, bool]:
    """Whether each engine network of the host is active, by name."""
    with translating("list the networks"):
        networks = conn.listAllNetworks(0)
        return {
            n.name(): bool(n.isActive()) for n in networks if n.name().startswith(NETWORK_PREFIX)
        }


# -- interfaces --------------------------------------------------------------------


def nic_xml(nic: NicSpec) -> str:
    """The ``<interface>`` XML for attaching ``nic`` (the same as in a guest's definition)."""
    holder = ET.Element("devices")
    _nic_element(holder, nic)
    return ET.tostring(holder[0], encoding="unicode")


def _mac_of(element: ET.Element) -> str | None:
    mac = element.find("mac")
    address = None if mac is None else mac.get("address")
    return None if address is None else address.lower()


def find_nic(domain: ET.Element, mac: str) -> ET.Element | None:
    """The ``<interface>`` element of a parsed domain with MAC ``mac``, if any."""
    for element in domain.findall("./devices/interface"):
        if _mac_of(element) == mac.lower():
            return element
    return None


def nic_specs(domain: ET.Element) -> tuple[NicSpec, ...]:
    """The interfaces of a parsed domain, in definition order (those with a MAC)."""
    nics: list[NicSpec] = []
    for element in domain.findall("./devices/interface"):
        mac = _mac_of(element)
        if mac is None:
            continue
        source = element.find("source")
        attrs = source.attrib if source is not None else {}
        model = element.find("model")
        kind = element.get("type")
        try:
            nics.append(
                NicSpec(
                    mac,
                    network_name=attrs.get("network") if kind == "network" else None,
                    bridge=attrs.get("bridge") if kind == "bridge" else None,
                    model=model.get("type", "virtio") if model is not None else "virtio",
                )
            )
        except InvalidInput:
            continue  # a MAC the engine would not write: not one of ours to report
    return tuple(nics)


def _rewrite(
    conn: libvirt.virConnect, dom: libvirt.virDomain, edit: Callable[[ET.Element], None]
) -> None:
    with translating("update the guest's definition"):
        root = parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        edit(root)
        conn.defineXML(ET.tostring(root, encoding="unicode"))


def _append(root: ET.Element, nic: NicSpec) -> None:
    devices = root.find("devices")
    if devices is None:
        devices = ET.SubElement(root, "devices")
    _nic_element(devices, nic)


def _remove(root: ET.Element, mac: str) -> None:
    devices = root.find("devices")
    element = find_nic(root, mac)
    if devices is not None and element is not None:
        devices.remove(element)


def attach_nic(
    conn: libvirt.virConnect,
    dom: libvirt.virDomain,
    nic: NicSpec,
    *,
    live: bool,
    rewrite_if_unsupported: bool = False,
) -> None:
    """Attach ``nic`` to a guest's definition, and to the running guest when ``live``.

    :param rewrite_if_unsupported: fall back to rewriting the persistent
        definition when the hypervisor cannot attach devices (test driver).
    """
    try:
        dom.attachDeviceFlags(nic_xml(nic), _CONFIG | (_LIVE if live else 0))
    except libvirt.libvirtError as exc:
        if not (rewrite_if_unsupported and is_error(exc, libvirt.VIR_ERR_NO_SUPPORT)):
            raise translate_error(exc, "attach the network interface") from exc
        _rewrite(conn, dom, lambda root: _append(root, nic))


def detach_nic(
    conn: libvirt.virConnect,
    dom: libvirt.virDomain,
    mac: str,
    *,
    live: bool,
    rewrite_if_unsupported: bool = False,
) -> bool:
    """Detach the interface with MAC ``mac`` from a guest.

    :returns: ``False`` when the guest has no such interface (nothing to do).
    """
    with translating("read the guest's definition"):
        persistent = find_nic(parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)), mac)
        running = find_nic(parse(dom.XMLDesc(0)), mac) if live else None
    found = persistent if persistent is not None else running
    if found is None:
        return False
    flags = (_CONFIG if persistent is not None else 0) | (_LIVE if running is not None else 0)
    try:
        dom.detachDeviceFlags(ET.tostring(found, encoding="unicode"), flags)
    except libvirt.libvirtError as exc:
        if not (rewrite_if_unsupported and is_error(exc, libvirt.VIR_ERR_NO_SUPPORT)):
            raise translate_error(exc, "detach the network interface") from exc
        # The test driver's running guest keeps its boot-time devices whatever
        # happens; only its persistent definition says whether there was work.
        _rewrite(conn, dom, lambda root: _remove(root, mac))
        return persistent is not None
    return True


__all__ = [
    "NETWORK_PREFIX",
    "attach_nic",
    "bridge_name",
    "check_network_name",
    "delete_network",
    "detach_nic",
    "ensure_network",
    "find_nic",
    "list_networks",
    "network_xml",
    "nic_specs",
    "nic_xml",
]
