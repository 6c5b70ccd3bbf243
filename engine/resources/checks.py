"""Validation of what clients send to the resource services (compute, storage, network).

Kept apart from the services so that each reads as the sequence of steps it
is, and so that the three validate names, properties and zones alike. Every
check raises :class:`~engine.errors.InvalidInput` with the offending
``field``, which the renderings turn into a 400.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from engine.errors import InvalidInput
from engine.lifecycle import Action

#: Sizes no single guest of a libvirt host reaches; larger values are typos or attacks.
MAX_VCPUS = 256
MAX_MEMORY_MIB = 4 * 1024 * 1024
#: Contextualisation data is kept in the guest's libvirt definition: bounded.
MAX_USER_DATA = 64 * 1024
MAX_SSH_KEY = 16 * 1024
MAX_PROPERTIES = 64
#: A graceful stop waits at most an hour before it powers the guest off.
MAX_STOP_TIMEOUT = 3600.0

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")
# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SSH_KEY = re.compile(
    r"(?:ssh-[a-z0-9-]+|ecdsa-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}(?: .*)?"
)


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = "unset"


#: "Not given": distinguishes leaving a field alone from setting it to None.
UNSET = Unset.UNSET


def check_text(
    field: str, value: object, max_length: int, *, required: bool = False, multiline: bool = False
) -> None:
    """Refuse a value that is not a string of at most ``max_length`` printable characters.

    :param required: refuse None and the empty string too.
    :param multiline: allow tabs and line breaks (user data, descriptions of scripts).
    """
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{field} must be a non-empty string", field=field, reason="empty")
    if len(value) > max_length:
        raise InvalidInput(
            f"{field} is longer than {max_length} characters",
            field=field,
            reason="too_long",
            maximum=max_length,
        )
    control = _CONTROL if multiline else _CONTROL_OR_NEWLINE
    if control.search(value):
        raise InvalidInput(f"{field} contains control characters", field=field, reason="control")


def check_hostname(hostname: object) -> None:
    """Refuse a host name that is not an RFC 1123 name of at most 253 characters."""
    if hostname is None:
        return
    if (
        not isinstance(hostname, str)
        or not 0 < len(hostname) <= 253
        or not all(_LABEL.fullmatch(label) for label in hostname.split("."))
    ):
        raise InvalidInput(
            "hostname must be letters, digits and hyphens in dot-separated labels",
            field="hostname",
        )


def check_properties(properties: object) -> None:
    """Refuse properties that are not a small map of short strings to strings."""
    if properties is None:
        return
    if not isinstance(properties, Mapping) or len(properties) > MAX_PROPERTIES:
        raise InvalidInput(
            f"properties must be a map of at most {MAX_PROPERTIES} entries",
            field="properties",
            reason="too_many",
            maximum=MAX_PROPERTIES,
        )
    for key, value in properties.items():
        check_text("properties", key, 255, required=True)
        check_text("properties", value, 4096)
        if value is None:
            raise InvalidInput("property values are strings", field="properties")


def check_ssh_key(key: object) -> None:
    """Refuse something that is not one OpenSSH public key line."""
    if key is None:
        return
    if not isinstance(key, str) or len(key) > MAX_SSH_KEY or not _SSH_KEY.fullmatch(key.strip()):
        raise InvalidInput("ssh_public_key must be one OpenSSH public key", field="ssh_public_key")


def check_size(vcpus: object, memory_mib: object) -> None:
    """Refuse sizes that are not whole numbers in range (booleans are not numbers here)."""
    for field, value, maximum, unit in (
        ("vcpus", vcpus, MAX_VCPUS, ""),
        ("memory_mib", memory_mib, MAX_MEMORY_MIB, "MiB"),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise InvalidInput(
                f"{field} must be a whole number from 1 to {maximum}",
                field=field,
                reason="range",
                minimum=1,
                maximum=maximum,
                unit=unit,
            )


def check_whole_gib(
    value: object,
    field: str,
    low: int | None = None,
    high: int | None = None,
    *,
    hint: str = "",
) -> int:
    """A storage size in GiB, which must be a whole number: it is never rounded.

    Volumes, disk offerings and root disks are allocated and charged in whole
    GiB. A rendering converts the size its client gave exactly into GiB
    (OCCI's float, CIMI's KiB as a :class:`~fractions.Fraction`) and passes it
    here with the name the client used, so that ``1.5`` GiB is refused rather
    than silently made 2 GiB (or 1); the services check again with their own
    names.

    :param low: the smallest size allowed, if any; ``high`` the largest.
    :param hint: added to the message, in the rendering's words
        (``a multiple of 1048576 KiB``).
    :returns: the size as an int.
    :raises InvalidInput: not a number, not whole, or outside ``[low, high]``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        raise InvalidInput(
            f"{field} must be a whole number of GiB", field=field, reason="whole", unit="GiB"
        )
    if (isinstance(value, float) and not math.isfinite(value)) or value != math.floor(value):
        try:
            shown = f"{float(value):.10g}"
        except OverflowError:
            shown = str(value)[:40] + "..."
        raise InvalidInput(
            f"{field} must be a whole number of GiB{f' ({hint})' if hint else ''}, "
            f"not {shown} GiB: sizes are not rounded",
            field=field,
            reason="whole",
            unit="GiB",
        )
    size = int(value)  # whole: exact for int, float and Fraction alike
    if (low is not None and size < low) or (high is not None and size > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise InvalidInput(
            f"{field} must be {bounds} GiB",
            field=field,
            reason="range",
            unit="GiB",
            **({"minimum": low} if low is not None else {}),
            **({"maximum": high} if high is not None else {}),
        )
    return size


def parse_action(action: object) -> Action:
    """The :class:`~engine.lifecycle.Action` named by ``action``."""
    try:
        return Action(str(action))
    except ValueError:
        raise InvalidInput(f"unknown action {action!r}", field="action", reason="unknown") from None


def action_parameters(action: Action, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check an action's parameters and return them as a job stores them (JSON values)."""
    allowed = {
        Action.STOP: {"timeout"},
        Action.CAPTURE: {"image_name", "image_description"},
    }.get(action, set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidInput(
            f"'{action}' does not take {', '.join(unknown)}",
            field=unknown[0],
            reason="not_taken",
            allowed=sorted(allowed),
        )
    result: dict[str, Any] = {}
    if action is Action.STOP and params.get("timeout") is not None:
        timeout = params["timeout"]
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or not 0 <= timeout <= MAX_STOP_TIMEOUT
        ):
            raise InvalidInput(
                f"timeout is a number of seconds from 0 to {MAX_STOP_TIMEOUT:g}",
                field="timeout",
                reason="range",
                minimum=0,
                maximum=int(MAX_STOP_TIMEOUT),
            )
        result["timeout"] = float(timeout)
    if action is Action.CAPTURE:
        check_text("image_name", params.get("image_name"), 255, required=True)
        check_text("image_description", params.get("image_description"), 1024)
        result["image_name"] = params["image_name"]
        if params.get("image_description") is not None:
            result["image_description"] = params["image_description"]
    return result
