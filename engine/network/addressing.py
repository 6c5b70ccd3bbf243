"""What clients send as addresses, ranges and masks, checked before the engine keeps them.

A value is refused (:class:`~engine.errors.InvalidInput` naming the field the
caller gives, with the value) when it is not exactly what it claims to be,
never read into something else (issue 16): ``999.1.1.1`` or ``10.0.0.1/8;
rm`` is not an address, ``10.0.0.1/24`` is not a network range (its host
bits are set), ``255.0.255.0`` is not a mask. The network service checks a
network's range with :func:`check_cidr`; the templates capability checks a
CIMI AddressTemplate's values with the others, so that OCCI and CIMI refuse
the same values alike.
"""

from __future__ import annotations

import ipaddress

from engine.errors import InvalidInput
from engine.network.ipam import IPAddress, IPNetwork, parse_address

#: What one address or netmask may be: refused beyond, before any parsing.
_MAX_ADDRESS_TEXT = 64
#: A list of addresses (DNS servers) holds at most this many.
MAX_ADDRESSES = 16


def _shown(value: object) -> str:
    """A client's value for a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_cidr(text: object, field: str = "cidr") -> IPNetwork:
    """A client's network range: an address and prefix with no host bits set.

    ``10.0.0.1/24`` is refused, not read as ``10.0.0.0/24``: it may mean the
    network, an address on it (the gateway?) or a typo, and whichever the
    engine picked would not be what the client sees it sent. The message
    names the network the prefix covers.

    :raises InvalidInput: naming ``field``.
    """
    if not isinstance(text, str) or len(text) > _MAX_ADDRESS_TEXT or "%" in text:
        raise InvalidInput(
            f"{field} must be a CIDR such as 10.1.0.0/24", field=field, reason="cidr"
        )
    try:
        interface = ipaddress.ip_interface(text)
    except ValueError:
        raise InvalidInput(
            f"{field} must be a CIDR such as 10.1.0.0/24, not {_shown(text)}",
            field=field,
            reason="cidr",
            value=_shown(text),
        ) from None
    network = interface.network
    if "/" not in text:
        raise InvalidInput(
            f"{field} must be a CIDR with its prefix length, such as {network.network_address}/24",
            field=field,
            reason="cidr",
            value=_shown(text),
        )
    if interface.ip != network.network_address:
        raise InvalidInput(
            f"{field} {text} has host bits set: the network is {network} (give an address "
            f"on it, such as the gateway, on its own)",
            field=field,
            reason="host_bits",
            value=_shown(text),
            suggestion=str(network),
        )
    return network


def check_address(text: object, field: str) -> IPAddress:
    """A client's IP address (an address only: no prefix, port or anything after it).

    :raises InvalidInput: naming ``field``: ``999.1.1.1``, ``10.0.0.1/8``,
        ``10.0.0.1; rm`` and anything else that is not one address.
    """
    if isinstance(text, str) and len(text) <= _MAX_ADDRESS_TEXT:
        try:
            return parse_address(text, field)
        except InvalidInput:
            pass
    raise InvalidInput(
        f"{field} must be one IPv4 or IPv6 address, such as 10.1.0.5 or fd00::5, "
        f"not {_shown(text)}",
        field=field,
        reason="address",
        value=_shown(text),
    )


def check_addresses(text: object, field: str) -> list[IPAddress]:
    """A client's comma-separated list of IP addresses (``10.1.0.2, 2001:db8::53``).

    :raises InvalidInput: naming ``field``: an item is not one address, or
        there are none or more than :data:`MAX_ADDRESSES`.
    """
    items = text.split(",") if isinstance(text, str) else []
    if not 1 <= len(items) <= MAX_ADDRESSES:
        raise InvalidInput(
            f"{field} must be 1 to {MAX_ADDRESSES} IP addresses separated by commas, "
            f"not {_shown(text)}",
            field=field,
            reason="addresses",
            value=_shown(text),
        )
    found = []
    for item in items:
        try:
            found.append(check_address(item.strip(), field))
        except InvalidInput:
            raise InvalidInput(
                f"{field} must be IP addresses separated by commas; {_shown(item.strip())} "
                f"is not one (in {_shown(text)})",
                field=field,
                reason="addresses",
                value=_shown(text),
            ) from None
    return found


def check_netmask(text: object, field: str) -> int:
    """A client's network mask: ``255.255.255.0``, or a prefix length ``24`` or ``/64``.

    :returns: the prefix length.
    :raises InvalidInput: naming ``field``: not a mask whose one bits are contiguous
        (``255.0.255.0``), a length above 128, or anything else.
    """
    if isinstance(text, str) and len(text) <= _MAX_ADDRESS_TEXT:
        digits = text.removeprefix("/")
        if digits.isascii() and digits.isdigit() and int(digits) <= 128:
            return int(digits)
        try:
            mask = int(ipaddress.IPv4Address(text))
        except ValueError:
            pass
        else:
            length = bin(mask).count("1")
            if mask == (2**32 - 1) ^ (2 ** (32 - length) - 1):
                return length
    raise InvalidInput(
        f"{field} must be a network mask such as 255.255.255.0, or a prefix length such "
        f"as 24, not {_shown(text)}",
        field=field,
        reason="netmask",
        value=_shown(text),
    )


__all__ = ["MAX_ADDRESSES", "check_address", "check_addresses", "check_cidr", "check_netmask"]
