"""IP address management: addresses of networks, MAC addresses, VXLAN segment ids.

An address is *held* by the network interface row that carries it: the
unique constraint ``(network_id, ip_address)`` of ``network_interfaces`` is
what guarantees that no address is handed out twice, on SQLite and MariaDB
alike and whatever the number of API processes. Allocation therefore reads
the taken addresses, picks the lowest free one and inserts the row inside a
SAVEPOINT; if a concurrent transaction committed the same address first, the
insert fails, only the SAVEPOINT is rolled back, and the next free address
is tried. MAC addresses (unique constraint ``mac``) and VNIs (unique
``(zone_id, vni)`` of ``networks``) are handed out the same way. (The
network service also pins the network row while it attaches an interface,
so on MariaDB attachments to one network queue behind each other; the retry
is what keeps any other caller correct.)

Which addresses are handed out:

* IPv4: every address of the CIDR but the network address, the broadcast
  address and the gateway, lowest first;
* IPv6: sequentially from the first address after the network address (the
  Subnet-Router anycast address, RFC 4291 §2.6.1), skipping the gateway;
  there is no broadcast;
* a requested (static) address must lie inside the CIDR, must not be one of
  the reserved addresses above (:class:`~engine.errors.InvalidInput`) and
  must be free (:class:`~engine.errors.Conflict`).

MAC addresses are ``52:54:00:xx:xx:xx``: the prefix libvirt and QEMU give
their guests, a locally administered unicast range (bit 1 of the first
octet set, bit 0 clear; IEEE 802 §8.2.2).

The pure functions (:func:`first_free`, :func:`check_requested`,
:func:`usable_range`...) know nothing of the database and are what the
property tests exercise.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Callable, Iterable
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import CapacityUnavailable, Conflict, InvalidInput
from engine.lifecycle import Kind
from engine.network.models import Network, NetworkInterface

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: libvirt/QEMU's locally administered prefix for guest NICs.
MAC_PREFIX = "52:54:00"
#: VXLAN Network Identifiers are 24 bits (RFC 7348 §5); 0 is left unused.
VNI_MIN, VNI_MAX = 1, 2**24 - 1
#: How many times a clash with a concurrent transaction is retried.
MAX_ATTEMPTS = 64
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


# -- pure functions ------------------------------------------------------------------


def parse_network(cidr: str, field: str = "cidr") -> IPNetwork:
    """Parse a recorded CIDR such as ``10.0.0.0/24`` (host bits are cleared).

    A client's range goes through :func:`check_cidr`, which refuses host bits.

    :raises InvalidInput: not a CIDR.
    """
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except (ValueError, TypeError):
        raise InvalidInput(f"invalid CIDR {cidr!r}", field=field, reason="cidr") from None


def parse_address(text: str, field: str = "ip_address") -> IPAddress:
    """Parse one IPv4 or IPv6 address.

    An IPv6 zone (``fe80::1%eth0``) is refused: it names an interface of the
    machine that reads it, and Python accepts any text after the ``%``
    (``fd00::1%x;rm``), which would be stored and handed on as it is.

    :raises InvalidInput: not an address.
    """
    try:
        if "%" in text:
            raise ValueError(text)
        return ipaddress.ip_address(text)
    except (ValueError, TypeError):
        raise InvalidInput(f"invalid IP address {text!r}", field=field, reason="address") from None


def usable_range(network: IPNetwork) -> tuple[int, int]:
    """The first and last address (as integers) interfaces may get, before the gateway.

    Empty (first > last) for IPv4 /31 and /32 and IPv6 /128.
    """
    first = int(network.network_address) + 1
    last = int(network.broadcast_address) - (1 if network.version == 4 else 0)
    return first, last


def default_gateway(network: IPNetwork) -> IPAddress:
    """The first usable address: the usual router address of a subnet.

    :raises InvalidInput: the network has no usable address at all.
    """
    first, last = usable_range(network)
    if first > last:
        raise InvalidInput(
            f"{network} has no address for a gateway", field="cidr", reason="no_gateway"
        )
    return _nth(network, first)


def _nth(network: IPNetwork, value: int) -> IPAddress:
    # Not ipaddress.ip_address(value): it reads small integers as IPv4, and
    # ::/120 holds IPv6 addresses whatever their value.
    return network.network_address + (value - int(network.network_address))


def is_reserved(network: IPNetwork, gateway: IPAddress | None, address: IPAddress) -> bool:
    """Whether ``address`` of ``network`` is never handed out (network, broadcast, gateway)."""
    first, last = usable_range(network)
    return not first <= int(address) <= last or address == gateway


def first_free(
    network: IPNetwork, gateway: IPAddress | None, taken: Iterable[str | IPAddress]
) -> IPAddress:
    """The lowest address of ``network`` that is neither reserved nor in ``taken``.

    Linear in the number of taken addresses, whatever the network's size.

    :raises CapacityUnavailable: every address is taken.
    """
    used = {int(ipaddress.ip_address(a)) for a in taken}
    if gateway is not None:
        used.add(int(gateway))
    candidate, last = usable_range(network)
    while candidate <= last and candidate in used:
        candidate += 1
    if candidate > last:
        raise CapacityUnavailable(f"network {network} has no free address left", cidr=str(network))
    return _nth(network, candidate)


def check_requested(network: IPNetwork, gateway: IPAddress | None, text: str) -> IPAddress:
    """A requested static address, if ``network`` may hand it out (freeness is not checked).

    :raises InvalidInput: not an address, outside the CIDR, or reserved.
    """
    address = parse_address(text)
    if address.version != network.version or address not in network:
        raise InvalidInput(
            f"{address} is not inside {network}", field="ip_address", reason="outside"
        )
    if is_reserved(network, gateway, address):
        raise InvalidInput(
            f"{address} is reserved in {network} (network, broadcast or gateway address)",
            field="ip_address",
            reason="reserved",
        )
    return address


def random_mac(token: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A random MAC address under :data:`MAC_PREFIX`."""
    return MAC_PREFIX + "".join(f":{byte:02x}" for byte in token(3))


def check_mac(mac: str) -> str:
    """A client's MAC address, normalised to lower case.

    :raises InvalidInput: malformed, multicast (bit 0 of the first octet
        set) or all zeros: no guest NIC can use those.
    """
    value = mac.lower() if isinstance(mac, str) else ""
    if not _MAC_RE.match(value):
        raise InvalidInput("a MAC address is six hex octets, aa:bb:cc:dd:ee:ff", field="mac")
    if int(value[:2], 16) & 1 or value == "00:00:00:00:00:00":
        raise InvalidInput("a NIC's MAC address must be a unicast address", field="mac")
    return value


def first_free_vni(taken: Iterable[int], maximum: int = VNI_MAX) -> int:
    """The lowest VXLAN segment id from :data:`VNI_MIN` to ``maximum`` not in ``taken``.

    :raises CapacityUnavailable: all are taken.
    """
    used = set(taken)
    candidate = VNI_MIN
    while candidate <= maximum and candidate in used:
        candidate += 1
    if candidate > maximum:
        raise CapacityUnavailable("the zone has no free VXLAN segment id")
    return candidate


# -- the database side ---------------------------------------------------------------


class Tried(NamedTuple):
    """The values one insertion attempt of an interface used."""

    compute_id: str
    ip: str
    mac: str
    interface: str


class IPAM:
    """Hand out and take back the addresses of networks.

    :param session: the unit of work. Allocation writes inside SAVEPOINTs,
        so the caller must already have written in this transaction (on
        SQLite a SAVEPOINT that starts a transaction commits on release).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def taken(self, network_id: str) -> set[str]:
        """The addresses interfaces of a network hold now (committed and this transaction's)."""
        return set(
            self.session.scalars(
                sa.select(NetworkInterface.ip_address).where(
                    NetworkInterface.network_id == network_id,
                    NetworkInterface.ip_address.is_not(None),
                )
            )
        )

    def assign(
        self,
        nic: NetworkInterface,
        network: Network,
        *,
        ip_address: str | None = None,
        mac: str | None = None,
        auto_interface: Callable[[], str] | None = None,
    ) -> None:
        """Give ``nic`` an address of ``network`` and a MAC, and insert it.

        :param ip_address: a requested static address, else the lowest free one.
        :param mac: a requested MAC, else a random one under :data:`MAC_PREFIX`.
        :param auto_interface: when given, picks ``nic.interface`` again after
            a clash on the interface name (a concurrent attachment took it).
        :raises InvalidInput: a requested value is malformed or reserved.
        :raises Conflict: a requested value (or the interface name) is taken.
        :raises CapacityUnavailable: the network has no free address.
        """
        cidr = parse_network(network.cidr)
        gateway = parse_address(network.gateway, "gateway") if network.gateway else None
        static_ip = check_requested(cidr, gateway, ip_address) if ip_address else None
        static_mac = check_mac(mac) if mac else None
        skipped: set[str] = set()
        for _attempt in range(MAX_ATTEMPTS):
            if static_ip is not None:
                nic.ip_address = str(static_ip)
                if nic.ip_address in self.taken(network.id):
                    raise Conflict(
                        f"{static_ip} is already in use on the network",
                        field="ip_address",
                        subject="address",
                        reason="taken",
                        other=Kind.NETWORK.value,
                    )
            else:
                nic.ip_address = str(first_free(cidr, gateway, self.taken(network.id) | skipped))
            nic.mac = static_mac or random_mac()
            if auto_interface is not None:
                nic.interface = auto_interface()
            # Kept aside: a rolled-back SAVEPOINT expunges the row it inserted.
            tried = Tried(nic.compute_id, nic.ip_address, nic.mac, nic.interface)
            try:
                with self.session.begin_nested():
                    self.session.add(nic)
                    self.session.flush()
                return
            except IntegrityError:
                clash = self._clash(network.id, tried)
            if "ip" in clash and static_ip is not None:
                raise Conflict(
                    f"{tried.ip} is already in use on the network",
                    field="ip_address",
                    subject="address",
                    reason="taken",
                    other=Kind.NETWORK.value,
                )
            if "mac" in clash and static_mac is not None:
                raise Conflict(
                    f"MAC address {tried.mac} is already in use",
                    field="mac",
                    subject="mac",
                    reason="taken",
                    other=Kind.NETWORK.value,
                )
            if "interface" in clash and auto_interface is None:
                raise Conflict(
                    f"the compute already has an interface {tried.interface!r}",
                    field="interface",
                    subject="interface_name",
                    reason="taken",
                    other=Kind.COMPUTE.value,
                )
            if "ip" in clash or not clash:
                # Taken, or a clash no longer visible (a concurrent row that
                # rolled back since): move on rather than retry the same value.
                skipped.add(tried.ip)
        raise Conflict(
            "the network is too busy to assign an address now; retry",
            subject=Kind.NETWORK.value,
            reason="busy",
        )

    def _clash(self, network_id: str, tried: Tried) -> set[str]:
        # The SAVEPOINT was rolled back: a row still holding one of the values
        # belongs to a transaction that committed first.
        NI = NetworkInterface
        checks = {
            "ip": (NI.network_id == network_id, NI.ip_address == tried.ip),
            "mac": (NI.mac == tried.mac,),
            "interface": (NI.compute_id == tried.compute_id, NI.interface == tried.interface),
        }
        return {name for name, conditions in checks.items() if self._exists(*conditions)}

    def _exists(self, *conditions: sa.ColumnElement[bool]) -> bool:
        query = sa.select(NetworkInterface.id).where(*conditions).limit(1)
        return self.session.scalar(query) is not None

    def release(self, nic: NetworkInterface) -> None:
        """Give ``nic``'s address back to its network (the row stays, without address)."""
        nic.ip_address = None
        self.session.flush()

    def assign_vni(self, network: Network) -> None:
        """Give a VXLAN ``network`` (already flushed) the lowest free VNI of its zone.

        :raises CapacityUnavailable: the zone has no free VNI.
        """
        for _attempt in range(MAX_ATTEMPTS):
            taken = self.session.scalars(
                sa.select(Network.vni).where(
                    Network.zone_id == network.zone_id, Network.vni.is_not(None)
                )
            )
            vni = network.vni = first_free_vni(v for v in taken if v is not None)
            try:
                with self.session.begin_nested():
                    self.session.add(network)
                    self.session.flush()
                return
            except IntegrityError:
                clash = sa.select(Network.id).where(
                    Network.zone_id == network.zone_id, Network.vni == vni
                )
                if self.session.scalar(clash.limit(1)) is None:
                    raise  # not a VNI clash: a bug to report, not to retry
                # A concurrent network took it: read again.
        raise Conflict(
            "the zone is too busy to assign a VXLAN segment now; retry",
            subject="zone",
            reason="busy",
        )


__all__ = [
    "IPAM",
    "MAC_PREFIX",
    "VNI_MAX",
    "VNI_MIN",
    "IPAddress",
    "IPNetwork",
    "check_mac",
    "check_requested",
    "default_gateway",
    "first_free",
    "first_free_vni",
    "is_reserved",
    "parse_address",
    "parse_network",
    "random_mac",
    "usable_range",
]
