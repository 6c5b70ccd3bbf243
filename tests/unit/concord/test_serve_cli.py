"""``concord serve`` refuses cleanly, before touching the cloud, when it cannot serve."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from concord.cli.main import main


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{tmp_path / 'c.sqlite'}")
    monkeypatch.setenv("CONCORD_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("CONCORD_LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_busy_port_is_a_one_line_error_and_nothing_is_provisioned(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status = main(["serve", "--demo", "--port", str(port)])
    err = capsys.readouterr().err
    assert status == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err
    # It failed before provisioning the demo zone, whose simulated hosts are
    # written beside the SQLite database.
    assert not (scratch / "demo-hosts").exists()


def test_the_demo_refuses_a_public_address(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--demo", "--host", "0.0.0.0"]) == 1  # noqa: S104
    assert "loopback only" in capsys.readouterr().err
