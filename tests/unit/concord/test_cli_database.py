"""Which database the CLI opens, and that administration commands never create one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import TEST_SERVER_KEY_FILE

from concord.cli.context import database_name
from concord.cli.main import main


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and no database setting: the default applies."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONCORD_DATABASE_URL", raising=False)
    monkeypatch.delenv("CONCORD_DEMO", raising=False)
    monkeypatch.setenv("CONCORD_SERVER_KEY_FILE", TEST_SERVER_KEY_FILE)
    monkeypatch.setenv("CONCORD_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("CONCORD_PASSWORD_MEMORY_KIB", "1024")
    return tmp_path


@pytest.mark.parametrize(
    "argv", [["domain", "list"], ["host", "list"], ["db", "current"], ["user", "list"]]
)
def test_an_admin_command_names_the_missing_database_and_creates_nothing(
    cwd: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"no database at {cwd / 'var' / 'concord.sqlite'}" in err
    assert "concord db upgrade" in err and "CONCORD_DATABASE_URL" in err
    assert list(cwd.iterdir()) == []


def test_db_upgrade_creates_it_and_then_admin_commands_find_it(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert (cwd / "var" / "concord.sqlite").is_file()
    capsys.readouterr()
    assert main(["domain", "list"]) == 1
    assert "the cloud is not initialised" in capsys.readouterr().err


def test_a_schema_that_is_not_current_is_reported_with_the_database(
    cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cwd / "old.sqlite"
    sqlite3.connect(path).close()  # an empty file: a database with no schema
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{path}")
    assert main(["account", "list"]) == 1
    err = capsys.readouterr().err
    assert f"the database schema is not current in {path}: run 'concord db upgrade'" in err


def test_database_names_never_show_a_password() -> None:
    name = database_name("mysql+pymysql://concord:s3cret@db.example.com/concord")
    assert "s3cret" not in name and "db.example.com/concord" in name
    assert database_name("sqlite:////srv/concord.sqlite") == "/srv/concord.sqlite"


@pytest.fixture
def restore_logging() -> object:
    """Put the root logger back as it was (``CONCORD_LOG_LEVEL=DEBUG`` configures it)."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_host_add_reports_libvirts_own_error_and_logs_it_at_debug(
    cwd: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    restore_logging: object,
) -> None:
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{cwd / 'c.sqlite'}")
    for argv in (
        ["init"],
        ["zone", "create", "z"],
        ["pod", "create", "p", "--zone", "z"],
        ["cluster", "create", "c", "--pod", "p", "--zone", "z"],
    ):
        assert main(argv) == 0
    socket = cwd / "no-libvirtd.sock"
    uri = f"qemu+unix:///system?socket={socket}"
    capsys.readouterr()
    monkeypatch.setenv("CONCORD_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("CONCORD_LOG_FORMAT", "text")
    assert main(["host", "add", uri, "--cluster", "c"]) == 1
    err = capsys.readouterr().err
    (error,) = [line for line in err.splitlines() if line.startswith("concord: error:")]
    # libvirt's own words, naming the socket that is not there.
    assert error.startswith("concord: error: the hypervisor host cannot be reached: ")
    assert str(socket) in error and "No such file or directory" in error
    (debug,) = [line for line in err.splitlines() if " DEBUG engine.drivers.libvirt" in line]
    assert str(socket) in debug and uri in debug
