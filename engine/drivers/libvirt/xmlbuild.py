"""libvirt XML documents the driver writes, and the few it reads back.

Built with :mod:`xml.etree.ElementTree` from the standard library: the
engine does not depend on lxml. Every value is set through the element API,
never pasted into a string, so names and paths cannot inject markup.

The XML read back here comes from libvirt itself (a trusted peer that
produced it), which is why plain ``ElementTree.fromstring`` is acceptable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.drivers.specs import DiskSpec, GuestSpec, NicSpec
from engine.errors import InvalidInput

#: Every domain the engine defines is named ``concord-<guest id>``; anything
#: else on a host belongs to someone else and is left alone.
DOMAIN_PREFIX = "concord-"
#: Namespace of the engine's entry in a domain's ``<metadata>``.
METADATA_NS = "urn:concord:guest:1"

ET.register_namespace("concord", METADATA_NS)


def domain_name(guest_id: str) -> str:
    """Return the libvirt domain name of a guest.

    :param guest_id: the engine UUID.
    """
    return DOMAIN_PREFIX + guest_id


def guest_id_of(name: str) -> str | None:
    """Return the guest id a domain name carries, or ``None`` if not an engine domain.

    :param name: a libvirt domain name.
    """
    if name.startswith(DOMAIN_PREFIX) and len(name) > len(DOMAIN_PREFIX):
        return name[len(DOMAIN_PREFIX) :]
    return None


def owner_of(root: ET.Element) -> str:
    """The owner the engine recorded in a domain definition; ``""`` if none.

    :param root: a parsed ``<domain>`` document.
    """
    guest = root.find(f"metadata/{{{METADATA_NS}}}guest")
    return "" if guest is None else guest.get("owner", "")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def disk_element(disk: DiskSpec) -> ET.Element:
    """Build a ``<disk>`` element for a file-backed disk.

    :param disk: the disk.
    """
    element = ET.Element("disk", {"type": "file", "device": "disk"})
    # The format is stated so that the hypervisor never probes it.
    _sub(element, "driver", name="qemu", type=disk.format)
    _sub(element, "source", file=disk.path)
    _sub(element, "target", dev=disk.device, bus=disk.bus)
    if disk.read_only:
        _sub(element, "readonly")
    return element


def disk_xml(disk: DiskSpec) -> str:
    """Return the ``<disk>`` XML for attaching ``disk``.

    :param disk: the disk.
    """
    return ET.tostring(disk_element(disk), encoding="unicode")


def _nic_element(parent: ET.Element, nic: NicSpec) -> None:
    if nic.network_name is not None:
        element = _sub(parent, "interface", type="network")
        _sub(element, "source", network=nic.network_name)
    elif nic.bridge is not None:
        element = _sub(parent, "interface", type="bridge")
        _sub(element, "source", bridge=nic.bridge)
    else:
        # User-mode networking needs no host set-up, on qemu:///system as
        # well as on session daemons.
        element = _sub(parent, "interface", type="user")
    _sub(element, "mac", address=nic.mac)
    _sub(element, "model", type=nic.model)


def _metadata_element(parent: ET.Element, spec: GuestSpec) -> None:
    # Kept in the definition so that the guest's boot data survives a
    # reconciliation that only has the host to go by; the owner says the
    # engine defined this domain (guest_owner).
    if spec.user_data is None and not spec.ssh_keys and not spec.owner:
        return
    metadata = _sub(parent, "metadata")
    guest = _sub(metadata, f"{{{METADATA_NS}}}guest")
    if spec.owner:
        guest.set("owner", spec.owner)
    if spec.user_data is not None:
        _sub(guest, f"{{{METADATA_NS}}}user-data", spec.user_data)
    for key in spec.ssh_keys:
        _sub(guest, f"{{{METADATA_NS}}}ssh-key", key)


def domain_xml(spec: GuestSpec, domain_type: str, machine: str | None = None) -> str:
    """Build the persistent definition of a guest.

    :param spec: the guest.
    :param domain_type: ``test``, ``qemu`` or ``kvm``.
    :param machine: the machine type (``pc`` for QEMU), or ``None`` to let the
        hypervisor choose.
    :returns: the ``<domain>`` document.
    """
    root = ET.Element("domain", {"type": domain_type})
    _sub(root, "name", domain_name(spec.guest_id))
    _sub(root, "uuid", spec.guest_id)
    _metadata_element(root, spec)
    _sub(root, "memory", str(spec.memory_mib), unit="MiB")
    _sub(root, "vcpu", str(spec.vcpus))
    os_element = _sub(root, "os")
    os_type = _sub(os_element, "type", "hvm", arch="x86_64")
    if machine is not None:
        os_type.set("machine", machine)
    _sub(os_element, "boot", dev="hd")
    if domain_type != "test":
        # Without ACPI a graceful shutdown request has nothing to deliver to.
        _sub(_sub(root, "features"), "acpi")
    _sub(root, "clock", offset="utc")
    _sub(root, "on_poweroff", "destroy")
    _sub(root, "on_reboot", "restart")
    # A crashed guest is stopped and reported; HA decides what happens next.
    _sub(root, "on_crash", "destroy")
    devices = _sub(root, "devices")
    for disk in spec.all_disks():
        devices.append(disk_element(disk))
    for nic in spec.nics:
        _nic_element(devices, nic)
    if domain_type != "test":
        # No balloon: guests get exactly the memory they were sized with.
        _sub(devices, "memballoon", model="none")
    return ET.tostring(root, encoding="unicode")


def volume_xml(name: str, capacity_bytes: int, fmt: str = "raw") -> str:
    """Build a ``<volume>`` document for a sparse volume.

    :param name: the volume's name in its pool.
    :param capacity_bytes: its size.
    :param fmt: its format.
    """
    root = ET.Element("volume")
    _sub(root, "name", name)
    _sub(root, "capacity", str(capacity_bytes), unit="bytes")
    # Zero allocation: space is taken as the guest writes.
    _sub(root, "allocation", "0", unit="bytes")
    _sub(_sub(root, "target"), "format", type=fmt)
    return ET.tostring(root, encoding="unicode")


def dir_pool_xml(name: str, path: str) -> str:
    """Build a ``<pool type='dir'>`` document.

    :param name: the pool's name.
    :param path: the directory holding its volumes.
    """
    root = ET.Element("pool", {"type": "dir"})
    _sub(root, "name", name)
    _sub(_sub(root, "target"), "path", path)
    return ET.tostring(root, encoding="unicode")


def parse(document: str) -> ET.Element:
    """Parse XML that libvirt produced.

    :param document: the XML text.
    """
    return ET.fromstring(document)  # noqa: S314 - produced by libvirt, not a client


def hvm_domain_types(capabilities: str, arch: str) -> set[str]:
    """Return the domain types (``kvm``, ``qemu``...) a host offers for ``arch`` guests.

    :param capabilities: the host's ``virConnectGetCapabilities`` document.
    :param arch: a guest architecture such as ``x86_64``.
    """
    types: set[str] = set()
    for guest in parse(capabilities).findall("guest"):
        arch_element = guest.find("arch")
        if guest.findtext("os_type") != "hvm" or arch_element is None:
            continue
        if arch_element.get("name") == arch:
            types.update(d.get("type", "") for d in arch_element.findall("domain"))
    types.discard("")
    return types


def disk_elements(domain: ET.Element) -> list[ET.Element]:
    """Return the ``<disk device='disk'>`` elements of a parsed domain, in order.

    :param domain: a parsed ``<domain>``.
    """
    return [d for d in domain.findall("./devices/disk") if d.get("device", "disk") == "disk"]


def disk_spec_of(element: ET.Element) -> DiskSpec | None:
    """Read a ``<disk>`` element back into a :class:`DiskSpec`.

    :param element: a ``<disk>`` element.
    :returns: the disk, or ``None`` for one without a file or block source
        (an empty drive, a network disk) or with a bus or format the engine
        does not manage.
    """
    source = element.find("source")
    target = element.find("target")
    if source is None or target is None:
        return None
    path = source.get("file") or source.get("dev")
    device = target.get("dev")
    if not path or not device:
        return None
    driver = element.find("driver")
    fmt = driver.get("type", "raw") if driver is not None else "raw"
    try:
        return DiskSpec(
            path=path,
            device=device,
            bus=target.get("bus", "virtio"),
            read_only=element.find("readonly") is not None,
            format=fmt,
        )
    except InvalidInput:
        # A disk someone else attached with a bus or format the engine does
        # not manage (a floppy, a vmdk): not one of ours to report.
        return None


def find_disk(domain: ET.Element, device: str) -> ET.Element | None:
    """Return the disk element whose target is ``device``.

    :param domain: a parsed ``<domain>``.
    :param device: a device name such as ``vdb``.
    """
    for element in disk_elements(domain):
        target = element.find("target")
        if target is not None and target.get("dev") == device:
            return element
    return None


def disk_paths(domain: ET.Element) -> set[str]:
    """Return the source paths of every disk of a parsed domain.

    :param domain: a parsed ``<domain>``.
    """
    paths: set[str] = set()
    for source in domain.findall("./devices/disk/source"):
        path = source.get("file") or source.get("dev")
        if path:
            paths.add(path)
    return paths


def append_disk(domain: ET.Element, disk: DiskSpec) -> None:
    """Add a disk to a parsed domain definition.

    :param domain: a parsed ``<domain>``.
    :param disk: the disk to add.
    """
    devices = domain.find("devices")
    if devices is None:
        devices = ET.SubElement(domain, "devices")
    devices.append(disk_element(disk))


def remove_disk(domain: ET.Element, device: str) -> None:
    """Remove the disk with target ``device`` from a parsed domain, if present.

    :param domain: a parsed ``<domain>``.
    :param device: a device name such as ``vdb``.
    """
    devices = domain.find("devices")
    element = find_disk(domain, device)
    if devices is not None and element is not None:
        devices.remove(element)
