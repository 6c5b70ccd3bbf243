"""The parameters a launch template may hold, per kind, and their checks.

A template's ``parameters`` are the keyword arguments of the engine call that
creates its resource (:mod:`engine.templates.models`). This module checks
their *form* (known keys, types, sizes); :class:`~engine.templates.service.
TemplateService` then checks that the ids they name are visible to the owner.
Every refusal is :class:`~engine.errors.InvalidInput` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import InvalidInput
from engine.network import addressing
from engine.network.state import ALLOCATIONS
from engine.resources import checks
from engine.storage.state import check_size_gib
from engine.templates.models import TemplateKind

Check = Callable[[str, Any], Any]

#: Templates are small: a compute has at most this many volumes or interfaces.
MAX_ITEMS = 16


def _text(limit: int, *, multiline: bool = False) -> Check:
    def check(field: str, value: Any) -> Any:
        checks.check_text(field, value, limit, required=True, multiline=multiline)
        return value

    return check


def _integer(low: int, high: int, unit: str = "") -> Check:
    def check(field: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"{field} must be a whole number from {low} to {high}",
                field=field,
                reason="range",
                minimum=low,
                maximum=high,
                unit=unit,
            )
        return value

    return check


def _boolean(field: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field} must be true or false", field=field, reason="boolean")
    return value


def _ssh_key(field: str, value: Any) -> Any:
    try:
        checks.check_ssh_key(value)
    except InvalidInput:
        raise InvalidInput(
            f"{field} must be one OpenSSH public key line", field=field, reason="public_key"
        ) from None
    if value is None:
        raise InvalidInput(
            f"{field} must be one OpenSSH public key line", field=field, reason="public_key"
        )
    return value


_ID = _text(36)
_DEVICE = _text(32)


def _items(spec: Mapping[str, Check], required: frozenset[str]) -> Check:
    def check(field: str, value: Any) -> Any:
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise InvalidInput(
                f"{field} must be a list of at most {MAX_ITEMS} items",
                field=field,
                reason="too_many",
                maximum=MAX_ITEMS,
            )
        return [_record(f"{field}[{i}]", item, spec, required) for i, item in enumerate(value)]

    return check


def _record(
    field: str, value: Any, spec: Mapping[str, Check], required: frozenset[str]
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{field} must be a map", field=field, reason="map")
    unknown = sorted(set(value) - set(spec))
    if unknown:
        raise InvalidInput(
            f"{field} has unknown parameter(s) {', '.join(unknown)}",
            field=field,
            reason="unknown_parameters",
        )
    missing = sorted(required - set(value))
    if missing:
        raise InvalidInput(
            f"{field} needs {', '.join(missing)}", field=field, reason="missing_parameters"
        )
    return {
        key: spec[key](f"{field}.{key}" if field else key, item)
        for key, item in value.items()
        if item is not None
    }


def _size_gib(field: str, value: Any) -> Any:
    # A whole number of GiB, never rounded (the storage capability's rule).
    return check_size_gib(value, field)


VOLUME: dict[str, Check] = {
    "offering_id": _ID,
    "size_gib": _size_gib,
    "image_id": _ID,
}

NETWORK: dict[str, Check] = {
    "offering_id": _ID,
    "cidr": _text(64),
    "gateway": _text(64),
    "vlan": _integer(0, 4095),
    "label": _text(255),
    "allocation": _text(16),
    "start": _boolean,
}

COMPUTE: dict[str, Check] = {
    "offering_id": _ID,
    "vcpus": _integer(1, checks.MAX_VCPUS),
    "memory_mib": _integer(1, checks.MAX_MEMORY_MIB, "MiB"),
    "image_id": _ID,
    "credential_id": _ID,
    "ssh_public_key": _ssh_key,
    "user_data": _text(checks.MAX_USER_DATA, multiline=True),
    "hostname": _text(253),
    "start": _boolean,
    # The HA flag (engine.compute); absent: the offering's.
    "ha_enabled": _boolean,
    "volumes": _items({"volume_id": _ID, "device": _DEVICE}, frozenset({"volume_id"})),
    "volume_templates": _items(
        {
            "template_id": _ID,
            "parameters": lambda f, v: _record(f, v, VOLUME, frozenset()),
            "device": _DEVICE,
        },
        frozenset(),
    ),
    "networks": _items(
        {"network_id": _ID, "ip_address": _text(64), "mac": _text(17)},
        frozenset({"network_id"}),
    ),
}


def _checked(check: Callable[[object, str], object]) -> Check:
    """A validator of another capability's, as a Check: the value is kept as given."""

    def run(field: str, value: Any) -> Any:
        check(value, field)
        return value

    return run


def _one_of(*allowed: str) -> Check:
    def check(field: str, value: Any) -> Any:
        if value not in allowed:
            raise InvalidInput(
                f"{field} must be {' or '.join(allowed)}, not {value!r:.80}",
                field=field,
                reason="unknown",
                value=repr(value)[:80],
            )
        return value

    return check


def _hostname(field: str, value: Any) -> Any:
    try:
        checks.check_hostname(value)
    except InvalidInput:
        raise InvalidInput(
            f"{field} must be letters, digits and hyphens in dot-separated labels, "
            f"not {value!r:.80}",
            field=field,
            reason="hostname",
            value=repr(value)[:80],
        ) from None
    return value


#: An address is stored as the client wrote it, once the network capability's
#: address checks have read each value as what it claims to be (issue 16: ``999.1.1.1``
#: or ``10.0.0.1/8; rm`` is a 400, not a template).
ADDRESS: dict[str, Check] = {
    "ip": _checked(addressing.check_address),
    "gateway": _checked(addressing.check_address),
    "dns": _checked(addressing.check_addresses),
    "mask": _checked(addressing.check_netmask),
    "protocol": _one_of("IPv4", "IPv6"),
    "allocation": _one_of(*sorted(ALLOCATIONS)),
    "hostname": _hostname,
    "network_id": _ID,
}

CREDENTIAL: dict[str, Check] = {"public_key": _ssh_key}

SPECS: Mapping[TemplateKind, Mapping[str, Check]] = {
    TemplateKind.COMPUTE: COMPUTE,
    TemplateKind.VOLUME: VOLUME,
    TemplateKind.NETWORK: NETWORK,
    TemplateKind.ADDRESS: ADDRESS,
    TemplateKind.CREDENTIAL: CREDENTIAL,
}


def check_parameters(kind: TemplateKind, parameters: object) -> dict[str, Any]:
    """The parameters of a template of *kind*, checked for form; None values dropped.

    :raises InvalidInput: an unknown key or a malformed value.
    """
    if parameters is None:
        return {}
    return _record("", parameters, SPECS[kind], frozenset())


__all__ = ["MAX_ITEMS", "SPECS", "check_parameters"]
