"""The IPMI fencer against a real BMC (virtualbmc) spoken to by the real ipmitool."""

from __future__ import annotations

from pathlib import Path

import pytest
from unit.engine.drivers import bmc_peers
from unit.engine.drivers.bmc_peers import PASSWORD, USERNAME

from engine.drivers.fencing import Fencer, FenceTarget
from engine.drivers.fencing.ipmi import IpmiFencer


def _target(bmc_port: int, **options: str) -> FenceTarget:
    values = {"address": "127.0.0.1", "port": str(bmc_port), "username": USERNAME}
    values.update(options)
    if "password_file" not in values:
        values.setdefault("password", PASSWORD)
    return FenceTarget("h-1", "node-1", "qemu+ssh://node-1/system", values)


def test_it_is_a_fencer() -> None:
    assert isinstance(IpmiFencer(), Fencer)
    assert IpmiFencer.name == "ipmi"


def test_powers_off_and_confirms_only_on_read_back(tmp_path: Path) -> None:
    fencer = IpmiFencer(poll_interval=0.1)
    with bmc_peers.virtual_bmc(tmp_path) as port:
        assert bmc_peers.ipmitool_status(port) == "on"
        result = fencer.fence(_target(port), timeout=20)
        assert result.confirmed, result.detail
        assert "reads the power back as off" in result.detail
        assert bmc_peers.ipmitool_status(port) == "off"
        # Fencing again sends no second command: the host is already off.
        again = fencer.fence(_target(port), timeout=20)
        assert again.confirmed
        assert "already off" in again.detail


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "bmc-password"
    secret.write_text(PASSWORD + "\n")
    with bmc_peers.virtual_bmc(tmp_path) as port:
        result = IpmiFencer(poll_interval=0.1).fence(
            _target(port, password_file=str(secret)), timeout=20
        )
    assert result.confirmed, result.detail


def test_wrong_credentials_are_unconfirmed(tmp_path: Path) -> None:
    with bmc_peers.virtual_bmc(tmp_path) as port:
        result = IpmiFencer().fence(_target(port, password="not-it"), timeout=20)
        assert not result.confirmed
        assert "Unable to establish IPMI v2 / RMCP+ session" in result.detail
        assert "node-1" in result.detail
        assert bmc_peers.ipmitool_status(port) == "on"  # nothing was powered off


def test_a_power_off_that_does_not_hold_is_unconfirmed(tmp_path: Path) -> None:
    # This BMC accepts the command, but its host reads back as on.
    with bmc_peers.virtual_bmc(tmp_path, keep_state=False) as port:
        result = IpmiFencer(poll_interval=0.2).fence(_target(port), timeout=3)
    assert not result.confirmed
    assert "accepted the power-off, but the power did not read back as off" in result.detail


def test_a_bmc_that_never_answers_is_unconfirmed_within_the_timeout() -> None:
    with bmc_peers.silent_udp() as port:
        result = IpmiFencer().fence(_target(port), timeout=2)
    assert not result.confirmed
    assert "IPMI fencing not confirmed" in result.detail


def test_missing_ipmitool_is_unconfirmed() -> None:
    result = IpmiFencer(command="/nonexistent/ipmitool").fence(_target(623), timeout=2)
    assert not result.confirmed
    assert "is not installed" in result.detail


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"address": ""}, "'address' is required"),
        ({"username": ""}, "'username' is required"),
        ({"port": "70000"}, "'port' must be a port number"),
        ({"port": "x"}, "'port' must be a port number"),
        ({"interface": "serial"}, "'interface' must be lanplus or lan"),
        ({"privilege": "ROOT"}, "'privilege' is not an IPMI level"),
        ({"cipher_suite": "17a"}, "'cipher_suite' must be a number"),
        ({"password": "", "password_file": "/nonexistent/file"}, "cannot read password_file"),
        ({"password": ""}, "'password' or 'password_file' is required"),
    ],
)
def test_bad_options_are_unconfirmed_and_named(options: dict[str, str], complaint: str) -> None:
    target = _target(623, **options)
    result = IpmiFencer(command="/nonexistent/ipmitool").fence(target, timeout=1)
    assert not result.confirmed
    assert complaint in result.detail
