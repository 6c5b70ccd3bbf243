"""Per-host fencer options shared by the out-of-band fencers (IPMI, Redfish).

A host's fencing configuration is a flat mapping of strings
(:attr:`~engine.drivers.fencing.base.FenceTarget.options`). The BMC fencers
read the same few keys the same way, so a wrong or missing value is reported
identically by both, as an :class:`OptionError` whose message the fencer
turns into an unconfirmed result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class OptionError(ValueError):
    """A fencing option is missing or malformed; the message names it."""


def required(options: Mapping[str, str], key: str) -> str:
    """The non-empty value of ``key``.

    :raises OptionError: it is missing or empty.
    """
    value = options.get(key, "").strip()
    if not value:
        raise OptionError(f"fencing option {key!r} is required")
    return value


def flag(options: Mapping[str, str], key: str, default: bool) -> bool:
    """A boolean option (true/false, yes/no, on/off, 1/0).

    :raises OptionError: any other value.
    """
    raw = options.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise OptionError(f"fencing option {key!r} must be true or false, not {raw!r}")


def port(options: Mapping[str, str], key: str, default: int) -> int:
    """A TCP or UDP port number.

    :raises OptionError: not a number between 1 and 65535.
    """
    raw = options.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise OptionError(f"fencing option {key!r} must be a port number, not {raw!r}")
    return int(raw)


def password(options: Mapping[str, str]) -> str:
    """The BMC password: ``password``, or the first line of the file ``password_file``.

    A file keeps the secret out of the database's fencing configuration
    (readable by whoever reads the hosts table); it is read at each fencing
    so that a rotated password is picked up without a restart.

    :raises OptionError: neither is set, or the file cannot be read.
    """
    if options.get("password"):
        return options["password"]
    path = options.get("password_file", "").strip()
    if not path:
        raise OptionError("fencing option 'password' or 'password_file' is required")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise OptionError(f"cannot read password_file {path!r}: {exc.strerror}") from None
    if not lines or not lines[0]:
        raise OptionError(f"password_file {path!r} is empty")
    return lines[0]


class Deadline:
    """The time left of a fencing attempt's ``timeout``, measured on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + max(seconds, 0.0)

    def left(self) -> float:
        """Seconds left (0 when past)."""
        return max(self._end - time.monotonic(), 0.0)

    @property
    def expired(self) -> bool:
        """True once no time is left."""
        return self.left() <= 0.0

    def poll_off(
        self,
        is_off: Callable[[], bool],
        interval: float,
        failure: type[Exception],
    ) -> bool:
        """Read the power state every ``interval`` seconds until it is off or time runs out.

        :param is_off: reads the power state once (the BMC call).
        :param failure: the fencer's error type: one raised while time is left is a real
            failure and propagates; one raised once the time has run out means the read
            was cut short by the deadline, and the answer is "not confirmed" (False).
        :returns: True once a read says off; False when the time runs out first.
        """
        while True:
            try:
                if is_off():
                    return True
            except failure:
                if not self.expired:
                    raise
                return False
            if self.left() <= interval:
                return False
            time.sleep(interval)
