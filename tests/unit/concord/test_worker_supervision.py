"""``concord serve --workers``: the worker sockets, the restart back-off, the refusals.

The processes themselves (fork, restart, stop) are tested with a real server in
tests/integration/test_serve_workers.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.cli.main import main
from concord.serving import FIRST_DELAY, MAX_DELAY, STABLE_AFTER, bind_worker_sockets, restart_delay


def _close(slots: list[list[socket.socket]]) -> None:
    for slot in slots:
        for sock in slot:
            sock.close()


def test_each_worker_gets_its_own_socket_on_one_port() -> None:
    slots = bind_worker_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for slot in slots for sock in slot}
        assert len(slots) == 3
        assert all(len(slot) == 1 for slot in slots)
        assert len(ports) == 1
        assert len({id(slot[0]) for slot in slots}) == 3
    finally:
        _close(slots)


def test_the_kernel_spreads_new_connections_over_the_workers_sockets() -> None:
    slots = bind_worker_sockets("127.0.0.1", 0, 2)
    port = slots[0][0].getsockname()[1]
    accepted = [0, 0]
    clients = []
    try:
        for slot in slots:
            slot[0].setblocking(False)
        for _ in range(40):
            clients.append(socket.create_connection(("127.0.0.1", port)))
        for number, slot in enumerate(slots):
            while True:
                try:
                    connection, _ = slot[0].accept()
                except BlockingIOError:
                    break
                connection.close()
                accepted[number] += 1
        # Each connection is queued on exactly one worker's socket, and both get some
        # (by a hash of the client's port: all 40 on one side is a 1 in 2**39 chance).
        assert sum(accepted) == 40
        assert min(accepted) > 0
    finally:
        for client in clients:
            client.close()
        _close(slots)


def test_a_port_anything_listens_on_is_busy_even_for_reuse_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            bind_worker_sockets("127.0.0.1", busy.getsockname()[1], 2)


def test_a_second_server_of_workers_cannot_join_the_first() -> None:
    slots = bind_worker_sockets("127.0.0.1", 0, 2)
    try:
        with pytest.raises(OSError):
            bind_worker_sockets("127.0.0.1", slots[0][0].getsockname()[1], 2)
    finally:
        _close(slots)


@given(st.floats(min_value=0, max_value=1e6), st.integers(min_value=0, max_value=100))
def test_the_restart_delay_backs_off_only_for_workers_that_die_young(
    lived: float, early_deaths: int
) -> None:
    delay = restart_delay(lived, early_deaths)
    assert 0 <= delay <= MAX_DELAY
    if lived >= STABLE_AFTER or early_deaths == 0:
        assert delay == 0
    else:
        assert delay >= FIRST_DELAY
        assert restart_delay(lived, early_deaths + 1) >= delay


def test_the_restart_delay_doubles() -> None:
    assert [restart_delay(0.1, n) for n in (1, 2, 3)] == [
        FIRST_DELAY,
        2 * FIRST_DELAY,
        4 * FIRST_DELAY,
    ]


@pytest.mark.parametrize(
    ("args", "url", "message"),
    [
        (["--workers", "0"], "sqlite:///{tmp}/c.sqlite", "--workers must be 1 or more"),
        (["--workers", "2", "--demo"], "sqlite:///{tmp}/c.sqlite", "--demo runs in one process"),
        (["--workers", "2"], "sqlite://", "not an in-memory SQLite"),
    ],
)
def test_worker_counts_that_cannot_serve_are_refused_before_anything_starts(
    args: list[str],
    url: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CONCORD_DATABASE_URL", url.format(tmp=tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["serve", *args]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "c.sqlite").exists()  # refused before the schema


def test_a_busy_port_is_refused_with_workers_as_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{tmp_path / 'c.sqlite'}")
    monkeypatch.setenv("CONCORD_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("CONCORD_LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--workers", "2", "--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
