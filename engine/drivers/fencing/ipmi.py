"""The IPMI fencer: power a host off through its BMC with ``ipmitool``, then read it back.

Out-of-band fencing for real hardware (reference/engine.md §1.4: CloudStack's
Host-HA fences with an IPMI power-off). The fencer runs the ``ipmitool``
command (Debian package ``ipmitool``) over IPMI v2.0 RMCP+ (``-I lanplus``) and
confirms a fence only when the BMC *reads back* ``off``: a power-off command
that was accepted proves nothing by itself (a BMC may queue it, or lose it).

The power state is read first, and a host already off is not sent a command:
CloudStack's fencer power-cycled hosts that were already off (PR #13377,
reference/engine.md §5.1), and a host that is off is fenced.

Per-host options (:attr:`~engine.drivers.fencing.base.FenceTarget.options`):

``address`` (required)
    the BMC's address or name.
``port``
    its UDP port (default 623).
``username`` (required), ``password`` or ``password_file``
    the BMC account; the password reaches ``ipmitool`` through its
    environment (``-E``), never its command line, which any local user can read.
``interface``
    ``lanplus`` (default, IPMI v2.0) or ``lan`` (IPMI v1.5).
``privilege``
    the session's privilege level (``OPERATOR`` is enough to power off;
    default: ipmitool's own, ``ADMINISTRATOR``).
``cipher_suite``
    the RMCP+ cipher suite number (default: ipmitool's own).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping

from engine.drivers.fencing import _options
from engine.drivers.fencing._options import Deadline, OptionError
from engine.drivers.fencing.base import FenceOutcome, FenceResult, FenceTarget
from engine.drivers.fencing.registry import FencerKind, register_fencer

_INTERFACES = frozenset({"lanplus", "lan"})
_PRIVILEGES = frozenset({"CALLBACK", "USER", "OPERATOR", "ADMINISTRATOR"})
#: ``chassis power status`` prints "Chassis Power is on" or "... is off".
_STATUS = re.compile(r"Chassis Power is (on|off)", re.IGNORECASE)
_LONGEST_DETAIL = 300


#: Every option the fencer reads, with what it means (for a fencer registry and its checks).
OPTIONS = {
    "address": "the BMC's address or name",
    "port": "its UDP port (default 623)",
    "username": "the BMC account",
    "password": "its password",
    "password_file": "a file whose first line is the password",
    "interface": "lanplus (IPMI v2.0, default) or lan (IPMI v1.5)",
    "privilege": "CALLBACK, USER, OPERATOR or ADMINISTRATOR (default: ipmitool's)",
    "cipher_suite": "the RMCP+ cipher suite number (default: ipmitool's)",
}
#: The options a configuration must give (at least one of each tuple).
REQUIRED = (("address",), ("username",), ("password", "password_file"))


class IpmiError(Exception):
    """ipmitool failed or said something unexpected; the message says what."""


class IpmiFencer:
    """Fences a host by powering it off through its BMC with ``ipmitool``.

    :param command: the ipmitool executable.
    :param poll_interval: seconds between two reads of the power state while
        waiting for the host to go off.
    """

    name = "ipmi"

    def __init__(self, command: str = "ipmitool", poll_interval: float = 0.5) -> None:
        self.command = command
        self.poll_interval = poll_interval

    def fence(self, target: FenceTarget, timeout: float) -> FenceResult:
        """Power ``target`` off and confirm only once its BMC reads back ``off``.

        Never raises: a refused login, an unreachable BMC, a timeout or an
        unreadable answer is an unconfirmed result that says which.
        """
        deadline = Deadline(timeout)
        try:
            argv, environ = self._session(target.options)
        except OptionError as exc:
            return _unconfirmed(target, str(exc))
        try:
            if self._power(argv, environ, deadline) == "off":
                return FenceResult(
                    FenceOutcome.CONFIRMED,
                    f"host {target.name}: its BMC reports the power already off",
                )
            self._run([*argv, "chassis", "power", "off"], environ, deadline)
            if self._wait_off(argv, environ, deadline):
                return FenceResult(
                    FenceOutcome.CONFIRMED,
                    f"host {target.name}: powered off through IPMI; "
                    "its BMC reads the power back as off",
                )
            raise IpmiError(
                "the BMC accepted the power-off, but the power did not read back "
                f"as off within {timeout:g} s"
            )
        except IpmiError as exc:
            return _unconfirmed(target, str(exc))

    def _wait_off(self, argv: list[str], environ: dict[str, str], deadline: Deadline) -> bool:
        return deadline.poll_off(
            lambda: self._power(argv, environ, deadline) == "off", self.poll_interval, IpmiError
        )

    def _session(self, options: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
        interface = options.get("interface", "lanplus").strip() or "lanplus"
        if interface not in _INTERFACES:
            raise OptionError(
                f"fencing option 'interface' must be lanplus or lan, not {interface!r}"
            )
        argv = [
            self.command,
            "-I",
            interface,
            "-H",
            _options.required(options, "address"),
            "-p",
            str(_options.port(options, "port", 623)),
            "-U",
            _options.required(options, "username"),
            "-E",  # the password comes from IPMI_PASSWORD, not from argv
        ]
        privilege = options.get("privilege", "").strip().upper()
        if privilege:
            if privilege not in _PRIVILEGES:
                raise OptionError(f"fencing option 'privilege' is not an IPMI level: {privilege!r}")
            argv += ["-L", privilege]
        cipher = options.get("cipher_suite", "").strip()
        if cipher:
            if not cipher.isdigit() or int(cipher) > 255:
                raise OptionError(f"fencing option 'cipher_suite' must be a number, not {cipher!r}")
            argv += ["-C", cipher]
        environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        environ["IPMI_PASSWORD"] = _options.password(options)
        return argv, environ

    def _power(self, argv: list[str], environ: dict[str, str], deadline: Deadline) -> str:
        output = self._run([*argv, "chassis", "power", "status"], environ, deadline)
        match = _STATUS.search(output)
        if match is None:
            raise IpmiError(f"unexpected answer to 'chassis power status': {_clip(output)!r}")
        return match.group(1).lower()

    def _run(self, argv: list[str], environ: dict[str, str], deadline: Deadline) -> str:
        if deadline.expired:
            raise IpmiError("no time left")
        action = " ".join(argv[-3:])
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=environ,
                timeout=deadline.left(),
                check=False,
            )
        except FileNotFoundError:
            raise IpmiError(
                f"{self.command!r} is not installed (Debian package ipmitool)"
            ) from None
        except subprocess.TimeoutExpired:
            raise IpmiError(f"the BMC did not answer '{action}' in time") from None
        if done.returncode != 0:
            said = _clip(done.stderr.strip() or done.stdout.strip()) or f"exit {done.returncode}"
            raise IpmiError(f"'{action}' failed: {said}")
        return done.stdout


def _clip(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = "; ".join(lines)
    return joined if len(joined) <= _LONGEST_DETAIL else joined[: _LONGEST_DETAIL - 3] + "..."


def _unconfirmed(target: FenceTarget, why: str) -> FenceResult:
    return FenceResult(
        FenceOutcome.UNCONFIRMED, f"host {target.name}: IPMI fencing not confirmed: {why}"
    )


__all__ = ["OPTIONS", "REQUIRED", "IpmiError", "IpmiFencer"]


# Out-of-band: the fencer speaks to the host's BMC, not to libvirt, so it
# needs nothing of the process's drivers.
register_fencer(
    FencerKind(
        name=IpmiFencer.name,
        factory=lambda _drivers: IpmiFencer(),
        options=OPTIONS,
        required=REQUIRED,
    )
)
