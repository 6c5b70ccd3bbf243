"""``concord serve`` refuses cleanly, before touching the cloud, when it cannot serve."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from concord.cli import serve
from concord.cli.main import main
from concord.settings import Settings


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


# -- the demo's database and credentials ---------------------------------------------


def _busy_port() -> socket.socket:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    return busy


def test_the_demo_keeps_its_own_database_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CONCORD_DATABASE_URL", raising=False)
    monkeypatch.setenv("CONCORD_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("CONCORD_LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    with _busy_port() as busy:
        # The schema is applied before the port is bound: the file shows which database.
        assert main(["serve", "--demo", "--port", str(busy.getsockname()[1])]) == 1
    assert "cannot listen" in capsys.readouterr().err
    assert (tmp_path / "var" / "demo.sqlite").is_file()
    assert not (tmp_path / "var" / "concord.sqlite").exists()


def _with_demo_tenant(url: str) -> None:
    from concord.demo import provision_demo_tenant
    from engine.db import Database
    from engine.schema import upgrade
    from engine.tenancy.passwords import PasswordHasher, PasswordPolicy

    database = Database(url)
    try:
        upgrade(database)
        with database.transaction() as session:
            provision_demo_tenant(
                session, PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024))
            )
    finally:
        database.dispose()


def test_a_server_without_demo_refuses_a_database_holding_demo_credentials(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_demo_tenant(f"sqlite:///{scratch / 'c.sqlite'}")
    # A busy port: without the check the server would fail to bind, not run.
    with _busy_port() as busy:
        status = main(["serve", "--port", str(busy.getsockname()[1])])
    err = capsys.readouterr().err
    assert status == 1
    assert "demo" in err and "--remove-demo-credentials" in err, err
    assert "cannot listen" not in err  # refused before binding
    assert len(err.splitlines()) == 1 and "Traceback" not in err


class _Served:
    """A stand-in for waitress that returns at once (nothing listens)."""

    def __init__(self) -> None:
        self.ran = False

    def run(self) -> None:
        self.ran = True

    def close(self) -> None:
        pass


def test_told_to_it_a_server_removes_the_demo_credentials_and_serves(
    scratch: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa
    from helpers import TEST_SERVER_KEY_FILE, TEST_SERVER_KEYS

    from concord.cli import serve
    from concord.demo import DEMO_USER
    from engine.db import Database
    from engine.tenancy.credentials import CredentialService
    from engine.tenancy.models import ApiKey, User

    url = f"sqlite:///{scratch / 'c.sqlite'}"
    _with_demo_tenant(url)
    database = Database(url)
    with database.transaction() as session:
        user = session.scalar(sa.select(User).where(User.username == DEMO_USER))
        credentials = CredentialService(session, server_keys=TEST_SERVER_KEYS)
        credentials.create_api_key(credentials.scope_for(user), user.id, "made during the demo")
    servers: list[_Served] = []
    monkeypatch.setattr(serve, "_bind", lambda *a: servers.append(_Served()) or servers[-1])
    monkeypatch.setenv("CONCORD_EMBEDDED_WORKER", "false")
    monkeypatch.setenv("CONCORD_SERVER_KEY_FILE", TEST_SERVER_KEY_FILE)  # the key's own

    assert main(["serve", "--remove-demo-credentials"]) == 0
    assert servers[-1].ran
    assert "removed the demo credentials" in capsys.readouterr().out
    with database.session() as session:
        user = session.scalar(sa.select(User).where(User.username == DEMO_USER))
        assert user.password_hash is None  # the user and what it owns stay; nobody signs in
        assert all(k.revoked is not None for k in session.scalars(sa.select(ApiKey)))
    database.dispose()
    # Nothing is left to refuse.
    assert main(["serve"]) == 0 and servers[-1].ran


def test_the_paste_deploy_application_refuses_demo_credentials_too(scratch: Path) -> None:
    from concord.app import main as paste_main
    from concord.demo import DemoCredentialsFound

    url = f"sqlite:///{scratch / 'c.sqlite'}"
    _with_demo_tenant(url)
    with pytest.raises(DemoCredentialsFound, match="remove_demo_credentials"):
        paste_main({}, **{"concord.database_url": url})


def test_the_demo_is_not_told_to_remove_its_own_credentials(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--demo", "--remove-demo-credentials"]) == 1
    assert "not the demo" in capsys.readouterr().err


def test_waitress_takes_its_limits_from_the_settings() -> None:
    from waitress.adjustments import Adjustments

    settings = Settings.from_mapping(
        {
            "concord.connection_limit": "42",
            "concord.channel_timeout": "7",
            "concord.max_body_bytes": "1000",
            "concord.max_header_bytes": "2048",
        },
        environ={},
    )
    options = serve.waitress_options(settings)
    adjustments = Adjustments(**options)  # waitress accepts every one of them
    assert (adjustments.connection_limit, adjustments.channel_timeout) == (42, 7)
    assert adjustments.cleanup_interval <= 7
    # waitress refuses only past twice Concord's limits: below, Concord answers
    # in the client's rendering.
    assert adjustments.max_request_body_size == 2000
    assert adjustments.max_request_header_size > 2 * 2048
    defaults = serve.waitress_options(Settings.from_mapping({}, environ={}))
    assert defaults["channel_timeout"] < Adjustments.channel_timeout  # 30 s, not 120
    assert defaults["connection_limit"] > Adjustments.connection_limit
