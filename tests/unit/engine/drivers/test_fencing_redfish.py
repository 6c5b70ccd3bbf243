"""The Redfish fencer against a real Redfish service (sushy-emulator) over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from unit.engine.drivers import bmc_peers
from unit.engine.drivers.bmc_peers import DOMAIN_UUID, PASSWORD, USERNAME, RedfishPeer

from engine.drivers.fencing import Fencer, FenceTarget
from engine.drivers.fencing.redfish import RedfishFencer


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[RedfishPeer]:
    with bmc_peers.sushy_emulator(tmp_path) as running:
        yield running


def _target(bmc: str, **options: str) -> FenceTarget:
    values = {"address": bmc, "username": USERNAME, "password": PASSWORD}
    values.update(options)
    return FenceTarget("h-1", "node-1", "qemu+ssh://node-1/system", values)


def test_it_is_a_fencer() -> None:
    assert isinstance(RedfishFencer(), Fencer)
    assert RedfishFencer.name == "redfish"


def test_forces_off_and_confirms_on_read_back(peer: RedfishPeer) -> None:
    fencer = RedfishFencer(poll_interval=0.1)
    assert peer.power_state() == "On"
    # The only system of the BMC is found through /redfish/v1/Systems.
    result = fencer.fence(_target(peer.url, ca_file=str(peer.certificate)), timeout=20)
    assert result.confirmed, result.detail
    assert f"/redfish/v1/Systems/{DOMAIN_UUID} reads back PowerState Off" in result.detail
    assert peer.power_state() == "Off"
    again = fencer.fence(_target(peer.url, ca_file=str(peer.certificate)), timeout=20)
    assert again.confirmed
    assert "already Off" in again.detail


def test_system_named_by_id_and_tls_verification_off(peer: RedfishPeer) -> None:
    address = peer.url.removeprefix("https://")  # https is the default scheme
    result = RedfishFencer(poll_interval=0.1).fence(
        _target(address, system=DOMAIN_UUID, verify_tls="false"), timeout=20
    )
    assert result.confirmed, result.detail
    assert peer.power_state() == "Off"


def test_an_untrusted_certificate_is_unconfirmed(peer: RedfishPeer) -> None:
    result = RedfishFencer().fence(_target(peer.url), timeout=20)
    assert not result.confirmed
    assert "TLS certificate does not verify" in result.detail
    assert "ca_file" in result.detail
    assert peer.power_state() == "On"


def test_wrong_credentials_are_unconfirmed(peer: RedfishPeer) -> None:
    target = _target(peer.url, ca_file=str(peer.certificate), password="not-it")
    result = RedfishFencer().fence(target, timeout=20)
    assert not result.confirmed
    assert "refused the credentials (HTTP 401)" in result.detail
    assert peer.power_state() == "On"


def test_an_unknown_system_is_unconfirmed(peer: RedfishPeer) -> None:
    target = _target(peer.url, ca_file=str(peer.certificate), system="no-such-system")
    result = RedfishFencer().fence(target, timeout=20)
    assert not result.confirmed
    assert "HTTP 404" in result.detail


def test_an_unreachable_bmc_is_unconfirmed() -> None:
    port = bmc_peers.free_port()
    result = RedfishFencer().fence(_target(f"127.0.0.1:{port}"), timeout=5)
    assert not result.confirmed
    assert "cannot reach the BMC at https://127.0.0.1" in result.detail


def test_a_bmc_that_never_answers_is_unconfirmed_within_the_timeout() -> None:
    with bmc_peers.silent_tcp() as port:
        result = RedfishFencer().fence(_target(f"127.0.0.1:{port}"), timeout=1)
    assert not result.confirmed
    assert "did not answer in time" in result.detail


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"address": ""}, "'address' is required"),
        ({"address": "ftp://bmc"}, "'address' is not a BMC address"),
        ({"username": ""}, "'username' is required"),
        ({"password": ""}, "'password' or 'password_file' is required"),
        ({"verify_tls": "maybe"}, "'verify_tls' must be true or false"),
        ({"ca_file": "/nonexistent/ca.pem"}, "cannot load ca_file"),
        ({"reset_type": "GracefulShutdown"}, "'reset_type' must be ForceOff or Off"),
    ],
)
def test_bad_options_are_unconfirmed_and_named(options: dict[str, str], complaint: str) -> None:
    result = RedfishFencer().fence(_target("127.0.0.1:1", **options), timeout=1)
    assert not result.confirmed
    assert complaint in result.detail


def test_every_declared_option_is_read_and_the_required_are_declared() -> None:
    from engine.drivers.fencing import _options, ipmi, redfish

    shared = Path(_options.__file__).read_text()
    for module in (ipmi, redfish):
        text = Path(module.__file__).read_text()
        start = text.index("OPTIONS = {")
        code = text[:start] + text[text.index("}", start) :] + shared
        assert {key for group in module.REQUIRED for key in group} <= set(module.OPTIONS)
        for key in module.OPTIONS:
            assert f'"{key}"' in code, f"{module.__name__} declares {key} but never reads it"
