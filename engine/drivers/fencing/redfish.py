"""The Redfish fencer: ``ComputerSystem.Reset`` ForceOff over HTTPS, then read ``PowerState`` back.

Out-of-band fencing for hardware whose BMC speaks DMTF Redfish (iDRAC, iLO,
XClarity, OpenBMC...). The fencer reads the ComputerSystem resource, posts
the ``#ComputerSystem.Reset`` action with ``ResetType: ForceOff`` to the
target the resource itself names (Redfish lets BMCs choose the action URI),
and confirms only once ``PowerState`` reads back ``Off``. A system already
``Off`` is not reset again (reference/engine.md §5.1, CloudStack PR #13377).

Per-host options (:attr:`~engine.drivers.fencing.base.FenceTarget.options`):

``address`` (required)
    the BMC: ``host``, ``host:port`` or a full ``https://host:port`` base URL.
``username`` (required), ``password`` or ``password_file``
    the BMC account, sent with HTTP Basic authentication (Redfish §13.3.3).
``system``
    the ComputerSystem to fence: its id or its path
    (``/redfish/v1/Systems/<id>``). Default: the only member of
    ``/redfish/v1/Systems``; a BMC that manages several must be told which.
``verify_tls``
    check the BMC's certificate and name (default ``true``). BMCs often ship
    self-signed certificates: give their CA with ``ca_file`` rather than
    turning verification off, which lets anyone on the path answer for the BMC.
``ca_file``
    a PEM file of the CA certificates (or the BMC's own certificate) to trust.
``reset_type``
    ``ForceOff`` (default) or ``Off`` for a BMC that lacks ForceOff (an
    ACPI power-off which the OS may refuse: then the read-back fails and the
    fence stays unconfirmed).
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from engine.drivers.fencing import _options
from engine.drivers.fencing._options import Deadline, OptionError
from engine.drivers.fencing.base import FenceOutcome, FenceResult, FenceTarget
from engine.drivers.fencing.registry import FencerKind, register_fencer

_SYSTEMS = "/redfish/v1/Systems"
_RESET_TYPES = frozenset({"ForceOff", "Off"})
#: Largest Redfish document read from a BMC (they are a few KiB).
_MAX_DOCUMENT = 1024 * 1024


#: Every option the fencer reads, with what it means (for a fencer registry and its checks).
OPTIONS = {
    "address": "the BMC: host, host:port or https://host:port",
    "username": "the BMC account",
    "password": "its password",
    "password_file": "a file whose first line is the password",
    "system": "the ComputerSystem id or path (default: the only one)",
    "verify_tls": "check the BMC's certificate (default true)",
    "ca_file": "a PEM file of the CA certificates to trust",
    "reset_type": "ForceOff (default) or Off",
}
#: The options a configuration must give (at least one of each tuple).
REQUIRED = (("address",), ("username",), ("password", "password_file"))


class RedfishError(Exception):
    """The BMC could not be reached, refused or answered something unusable."""


@dataclass(frozen=True)
class _Bmc:
    base: str
    authorization: str
    context: ssl.SSLContext | None
    system: str
    reset_type: str


class RedfishFencer:
    """Fences a host by forcing its ComputerSystem off through the BMC's Redfish service.

    :param poll_interval: seconds between two reads of ``PowerState`` while
        waiting for the system to go off.
    """

    name = "redfish"

    def __init__(self, poll_interval: float = 0.5) -> None:
        self.poll_interval = poll_interval

    def fence(self, target: FenceTarget, timeout: float) -> FenceResult:
        """Force ``target``'s system off; confirm only once ``PowerState`` reads ``Off``.

        Never raises: refused credentials, an unreachable BMC, a certificate
        that does not verify, a timeout or a document without ``PowerState``
        is an unconfirmed result that says which.
        """
        deadline = Deadline(timeout)
        try:
            bmc = _configure(target.options)
            path = self._system_path(bmc, deadline)
            system = _get(bmc, path, deadline)
            if _power_state(system) == "Off":
                return FenceResult(
                    FenceOutcome.CONFIRMED,
                    f"host {target.name}: its BMC reports {path} already Off",
                )
            action = _reset_target(system, path)
            _request(bmc, action, deadline, {"ResetType": bmc.reset_type})
            if self._wait_off(bmc, path, deadline):
                return FenceResult(
                    FenceOutcome.CONFIRMED,
                    f"host {target.name}: {bmc.reset_type} through Redfish; "
                    f"{path} reads back PowerState Off",
                )
            raise RedfishError(
                f"the BMC accepted {bmc.reset_type}, but PowerState did not read back "
                f"Off within {timeout:g} s"
            )
        except (OptionError, RedfishError) as exc:
            return FenceResult(
                FenceOutcome.UNCONFIRMED,
                f"host {target.name}: Redfish fencing not confirmed: {exc}",
            )

    def _wait_off(self, bmc: _Bmc, path: str, deadline: Deadline) -> bool:
        return deadline.poll_off(
            lambda: _power_state(_get(bmc, path, deadline)) == "Off",
            self.poll_interval,
            RedfishError,
        )

    def _system_path(self, bmc: _Bmc, deadline: Deadline) -> str:
        if bmc.system.startswith("/"):
            return bmc.system
        if bmc.system:
            return f"{_SYSTEMS}/{quote(bmc.system, safe='')}"
        members = _get(bmc, _SYSTEMS, deadline).get("Members")
        if not isinstance(members, list):
            raise RedfishError(f"{_SYSTEMS} has no Members list")
        paths = [m.get("@odata.id") for m in members if isinstance(m, dict)]
        if len(paths) != 1 or not isinstance(paths[0], str):
            raise RedfishError(
                f"the BMC manages {len(paths)} systems: set the fencing option 'system'"
            )
        return paths[0]


def _configure(options: Mapping[str, str]) -> _Bmc:
    address = _options.required(options, "address")
    base = address if "://" in address else f"https://{address}"
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OptionError(f"fencing option 'address' is not a BMC address: {address!r}")
    credentials = f"{_options.required(options, 'username')}:{_options.password(options)}"
    authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    context = None
    if parts.scheme == "https":
        if _options.flag(options, "verify_tls", True):
            ca_file = options.get("ca_file", "").strip() or None
            try:
                context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise OptionError(f"cannot load ca_file {ca_file!r}: {exc}") from None
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    reset_type = options.get("reset_type", "").strip() or "ForceOff"
    if reset_type not in _RESET_TYPES:
        raise OptionError(
            f"fencing option 'reset_type' must be ForceOff or Off, not {reset_type!r}"
        )
    origin = f"{parts.scheme}://{parts.netloc}"
    return _Bmc(origin, authorization, context, options.get("system", "").strip(), reset_type)


def _power_state(system: Mapping[str, Any]) -> str:
    state = system.get("PowerState")
    if not isinstance(state, str):
        raise RedfishError("the ComputerSystem has no PowerState")
    return state


def _reset_target(system: Mapping[str, Any], path: str) -> str:
    # Redfish: the resource names its action's target; the conventional path
    # is only the fallback for BMCs that omit it.
    action = system.get("Actions", {}).get("#ComputerSystem.Reset", {})
    target = action.get("target") if isinstance(action, dict) else None
    if isinstance(target, str) and target.startswith("/"):
        return target
    return f"{path.rstrip('/')}/Actions/ComputerSystem.Reset"


def _get(bmc: _Bmc, path: str, deadline: Deadline) -> dict[str, Any]:
    document = _request(bmc, path, deadline)
    if not isinstance(document, dict):
        raise RedfishError(f"GET {path}: not a JSON object")
    return document


def _request(
    bmc: _Bmc, path: str, deadline: Deadline, body: Mapping[str, str] | None = None
) -> Any:
    method = "GET" if body is None else "POST"
    if deadline.expired:
        raise RedfishError(f"{method} {path}: no time left")
    request = urllib.request.Request(  # noqa: S310 (scheme checked: http or https)
        urljoin(bmc.base, path),
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": bmc.authorization,
            "Accept": "application/json",
            "OData-Version": "4.0",
            **({} if body is None else {"Content-Type": "application/json"}),
        },
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=deadline.left(), context=bmc.context
        ) as response:
            raw = response.read(_MAX_DOCUMENT + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise RedfishError(
                f"{method} {path}: the BMC refused the credentials (HTTP {exc.code})"
            ) from None
        raise RedfishError(f"{method} {path}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise RedfishError(
                f"the BMC's TLS certificate does not verify ({reason.verify_message}); "
                "give its CA with the fencing option 'ca_file'"
            ) from None
        if isinstance(reason, TimeoutError):
            raise RedfishError(f"{method} {path}: the BMC did not answer in time") from None
        raise RedfishError(f"cannot reach the BMC at {bmc.base}: {reason}") from None
    except TimeoutError:
        raise RedfishError(f"{method} {path}: the BMC did not answer in time") from None
    except (OSError, ssl.SSLError) as exc:
        raise RedfishError(f"{method} {path}: {exc}") from None
    if method == "POST":
        return None  # 200, 202 or 204: the action was accepted; the read-back decides
    if len(raw) > _MAX_DOCUMENT:
        raise RedfishError(f"GET {path}: the document is larger than {_MAX_DOCUMENT} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        raise RedfishError(f"GET {path}: not JSON") from None


__all__ = ["OPTIONS", "REQUIRED", "RedfishError", "RedfishFencer"]


# Out-of-band: the fencer speaks to the host's BMC, not to libvirt, so it
# needs nothing of the process's drivers.
register_fencer(
    FencerKind(
        name=RedfishFencer.name,
        factory=lambda _drivers: RedfishFencer(),
        options=OPTIONS,
        required=REQUIRED,
    )
)
