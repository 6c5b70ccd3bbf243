"""The usage types and what each event says a resource holds.

Every usage type follows one of CloudStack's (``UsageTypes.java``; its number
is kept as ``cloudstack_id``), except the CPU and memory types, which
CloudStack reports as fields of its running-VM records and Concord meters on
their own so that a tariff can price them.

A record's ``quantity`` is an exact integer of unit-seconds: the resource's
rate (vCPUs, MiB, GiB or 1) times the seconds it held it. ``divisor`` turns
it into the display unit (hours, core-hours, GiB-hours) without rounding
anything away: :func:`amount` is a :class:`~decimal.Decimal`.

:func:`holdings` reads one event's payload (the facts every ``<kind>.*``
event carries, see :mod:`engine.compute.state`) and says what the resource
holds from then on.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.lifecycle import State

MIB = 1024 * 1024


class UsageType(enum.StrEnum):
    """The kinds of usage Concord meters."""

    RUNNING_VM = "running_vm"
    ALLOCATED_VM = "allocated_vm"
    CPU = "cpu"
    MEMORY = "memory"
    IP_ADDRESS = "ip_address"
    VOLUME = "volume"
    TEMPLATE = "template"
    SNAPSHOT = "snapshot"
    NETWORK = "network"


@dataclass(frozen=True)
class TypeInfo:
    """How a usage type is counted and shown.

    :param cloudstack_id: CloudStack's number for it, if it has one.
    :param rate_unit: what the rate counts (per second).
    :param unit: the display (and tariff) unit.
    :param divisor: unit-seconds per display unit.
    :param description: one line for people.
    """

    cloudstack_id: int | None
    rate_unit: str
    unit: str
    divisor: int
    description: str


TYPES: Mapping[UsageType, TypeInfo] = {
    UsageType.RUNNING_VM: TypeInfo(1, "guest", "hour", 3600, "guest running time"),
    UsageType.ALLOCATED_VM: TypeInfo(2, "guest", "hour", 3600, "guest allocated time"),
    UsageType.CPU: TypeInfo(None, "vCPU", "core-hour", 3600, "vCPUs of running guests"),
    UsageType.MEMORY: TypeInfo(None, "MiB", "GiB-hour", 1024 * 3600, "memory of running guests"),
    UsageType.IP_ADDRESS: TypeInfo(3, "address", "hour", 3600, "IP address held"),
    UsageType.VOLUME: TypeInfo(6, "GiB", "GiB-hour", 3600, "volume size"),
    UsageType.TEMPLATE: TypeInfo(7, "MiB", "GiB-hour", 1024 * 3600, "registered image size"),
    UsageType.SNAPSHOT: TypeInfo(9, "MiB", "GiB-hour", 1024 * 3600, "captured image size"),
    UsageType.NETWORK: TypeInfo(13, "network", "hour", 3600, "network time"),
}

#: The compute states in which its guest is up (and billed as running):
#: from the ``started`` event until the ``stopped`` one, paused included,
#: as CloudStack bills from VM.START to VM.STOP.
RUNNING_STATES = frozenset(
    {
        State.RUNNING,
        State.STOPPING,
        State.RESTARTING,
        State.PAUSING,
        State.PAUSED,
        State.RESUMING,
        State.SUSPENDING,
    }
)


def amount(usage_type: str, quantity: int) -> Decimal:
    """``quantity`` unit-seconds in the type's display unit, exactly."""
    return Decimal(quantity) / Decimal(TYPES[UsageType(usage_type)].divisor)


@dataclass(frozen=True, order=True)
class Holding:
    """One usage a resource holds: its type, offering and rate."""

    usage_type: str
    offering_id: str
    rate: int


#: :func:`holdings`' answer when an event changes nothing the resource holds.
UNCHANGED = None


def _ended(event_type: str, state: str | None) -> bool:
    return state == State.DELETED or event_type.endswith((".deleted", ".create.failed"))


def _compute(event_type: str, facts: Mapping[str, Any]) -> frozenset[Holding]:
    # A guest is allocated while it holds a placement (host_id): from its
    # creation until its deletion, or until its failed creation gives the
    # placement back.
    state = facts.get("state")
    if _ended(event_type, state) or not facts.get("host_id"):
        return frozenset()
    offering = facts.get("offering_id") or ""
    held = {Holding(UsageType.ALLOCATED_VM, offering, 1)}
    if state in RUNNING_STATES:
        held |= {
            Holding(UsageType.RUNNING_VM, offering, 1),
            Holding(UsageType.CPU, offering, int(facts.get("vcpus") or 0)),
            Holding(UsageType.MEMORY, offering, int(facts.get("memory_mib") or 0)),
        }
    return frozenset(h for h in held if h.rate > 0)


def _volume(event_type: str, facts: Mapping[str, Any]) -> frozenset[Holding] | None:
    state = facts.get("state")
    if _ended(event_type, state):
        return frozenset()
    if state == State.ERROR:
        return UNCHANGED  # a failed action leaves what the volume held
    size = int(facts.get("size_gib") or 0)
    offering = facts.get("offering_id") or ""
    return frozenset({Holding(UsageType.VOLUME, offering, size)} if size > 0 else ())


def _network(event_type: str, facts: Mapping[str, Any]) -> frozenset[Holding] | None:
    state = facts.get("state")
    if _ended(event_type, state):
        return frozenset()
    if state == State.ERROR:
        return UNCHANGED
    return frozenset({Holding(UsageType.NETWORK, facts.get("offering_id") or "", 1)})


def _interface(event_type: str, facts: Mapping[str, Any]) -> frozenset[Holding]:
    # The address is held as long as the interface row keeps it, whatever
    # the link's state: IPAM frees it only when the interface is deleted.
    address = facts.get("ip_address")
    if _ended(event_type, facts.get("state")) or not address:
        return frozenset()
    # An address has no offering: its "offering" is its family, which the
    # APEL public IP record reports.
    family = "ipv6" if ":" in str(address) else "ipv4"
    return frozenset({Holding(UsageType.IP_ADDRESS, family, 1)})


def _image(event_type: str, facts: Mapping[str, Any]) -> frozenset[Holding] | None:
    state = facts.get("state")
    if _ended(event_type, state):
        return frozenset()
    if state == State.ERROR:
        return UNCHANGED
    size_mib = math.ceil(int(facts.get("size_bytes") or 0) / MIB)
    kind = UsageType.SNAPSHOT if facts.get("source_compute_id") else UsageType.TEMPLATE
    return frozenset({Holding(kind, "", size_mib)} if size_mib > 0 else ())


_DERIVERS = {
    "compute": _compute,
    "volume": _volume,
    "network": _network,
    "network_interface": _interface,
    "image": _image,
}

#: The resource types whose events usage reads.
METERED = frozenset(_DERIVERS)


def holdings(
    resource_type: str, event_type: str, account_id: str | None, facts: Mapping[str, Any]
) -> frozenset[Holding] | None:
    """What the resource holds after an event, or :data:`UNCHANGED`.

    Resources owned by no account (public images, hosts) hold nothing
    billable.
    """
    derive = _DERIVERS.get(resource_type)
    if derive is None or account_id is None:
        return frozenset()
    return derive(event_type, facts)
