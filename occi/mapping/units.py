"""Unit and vocabulary converters between engine fields and OCCI attribute values.

GFD.224 gives memory and storage sizes as "Float, 10^9 (GiB)"; Concord reads
them as GiB (2^30 bytes), as rOCCI and the CRTP value tables do
(``occi.categories.infrastructure.GIB``). The engine counts memory in MiB and
volume sizes in bytes (allocated in whole GiB). Every converter that reads a
client value raises :class:`engine.errors.InvalidInput` (400) naming the OCCI
attribute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType

from engine.errors import InvalidInput
from engine.resources.checks import check_whole_gib
from occi.model import AttributeValue

MIB_PER_GIB = 1024
BYTES_PER_GIB = 1024**3
#: Engine architectures (libvirt names) -> GFD.224 occi.compute.architecture.
ARCHITECTURES: Mapping[str, str] = MappingProxyType(
    {"x86_64": "x64", "amd64": "x64", "i686": "x86", "i386": "x86", "x86": "x86"}
)
#: occi.storagelink.deviceid is rendered as a device path (rOCCI's ``/dev/vda``).
DEVICE_PREFIX = "/dev/"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _number(name: str, value: AttributeValue) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number", attribute=name)
    return float(value)


def mib_as_gib(mib: int | None) -> float | None:
    """Engine MiB -> OCCI GiB (``512`` -> ``0.5``)."""
    return None if mib is None else mib / MIB_PER_GIB


def gib_as_mib(value: AttributeValue, name: str = "occi.compute.memory") -> int:
    """OCCI GiB -> whole engine MiB, rounded to the nearest MiB.

    :raises InvalidInput: not a number, or below 1 MiB.
    """
    mib = round(_number(name, value) * MIB_PER_GIB)
    if mib < 1:
        raise InvalidInput(
            f"{name} must be at least 1 MiB ({1 / MIB_PER_GIB:g} GiB)", attribute=name
        )
    return mib


def bytes_as_gib(size: int | None) -> float | None:
    """Engine bytes -> OCCI GiB."""
    return None if size is None else size / BYTES_PER_GIB


def gib_as_whole_gib(value: AttributeValue, name: str = "occi.storage.size") -> int:
    """OCCI GiB -> the whole GiB the engine allocates.

    A size that is not a whole number of GiB (``1.5``) is refused by the
    engine's shared check, never rounded: the volume would not be the size
    the client asked for.

    :raises InvalidInput: not a positive number, or not whole.
    """
    size = _number(name, value)
    if size <= 0:
        raise InvalidInput(f"{name} must be more than 0", attribute=name)
    return check_whole_gib(size, name)


def occi_architecture(arch: str | None) -> str | None:
    """Engine (libvirt) architecture -> ``x86`` or ``x64``; None for others (not rendered)."""
    return ARCHITECTURES.get(arch or "")


def device_path(device: str | None) -> str | None:
    """Engine device name (``vdb``) -> occi.storagelink.deviceid (``/dev/vdb``)."""
    return None if device is None else DEVICE_PREFIX + device


def device_name(value: AttributeValue) -> str:
    """occi.storagelink.deviceid (``/dev/vdb`` or ``vdb``) -> engine device name."""
    if not isinstance(value, str):
        raise InvalidInput(
            "occi.storagelink.deviceid must be a string", attribute="occi.storagelink.deviceid"
        )
    return value.removeprefix(DEVICE_PREFIX)


def urn(kind_term: str, resource_id: str) -> str:
    """occi.core.id of an entity: ``urn:uuid:<id>`` (GFD.221 §3.4 RECOMMENDS it).

    An id a client chose with PUT need not be a UUID; it becomes
    ``urn:concord:<kind>:<id>``, a valid URI that never changes either.
    """
    if _UUID.fullmatch(resource_id):
        return f"urn:uuid:{resource_id}"
    return f"urn:concord:{kind_term}:{resource_id}"


def id_of_urn(kind_term: str, value: str) -> str:
    """The id an ``occi.core.id`` names: the inverse of :func:`urn`, or the value itself
    (clients also send bare ids, as IM's OCCI connector does: ``im-<uuid>``)."""
    for prefix in ("urn:uuid:", f"urn:concord:{kind_term}:"):
        if value.startswith(prefix):
            return value.removeprefix(prefix)
    return value


__all__ = [
    "ARCHITECTURES",
    "BYTES_PER_GIB",
    "MIB_PER_GIB",
    "bytes_as_gib",
    "device_name",
    "device_path",
    "gib_as_mib",
    "gib_as_whole_gib",
    "id_of_urn",
    "mib_as_gib",
    "occi_architecture",
    "urn",
]
