"""Single-GET rate of a real ``concord serve --workers N`` over HTTP, for each N asked.

Issue 15: with MariaDB, two server processes should serve about twice the
single-GET rate of one, and connections must not pile onto one worker. For
each worker count, the benchmark starts ``concord serve --workers N`` (no
embedded worker, WARNING logs) on a free loopback port over one seeded
database (bench/requests_setup.py's tenant), then ``--clients`` client
processes each send ``GET /compute/<id>`` (OCCI text/plain, Basic
credentials) on a keep-alive connection of their own, or on a new connection
per request with ``--new-connections``, for ``--seconds`` after a warm-up.
It prints requests per second, the ratio to the first worker count, the CPU
seconds each worker used while measured (how evenly the connections were
spread), the share of the machine's CPU time that was busy (the clients,
the database server and anyone else's work share the CPUs with the
workers: a machine already busy cannot gain from another worker), and the
load average before and after.

Usage::

    PYTHONPATH=. .venv/bin/python -m bench.serve_workers [--workers 1,2]
        [--clients 8] [--seconds 10] [--threads 8] [--database URL] [--new-connections]

``--database`` names an EMPTY database (default: SQLite in a temporary directory).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.requests_setup import AUTH, seed
from engine.db import Database
from engine.schema import upgrade
from engine.tenancy.server_keys import ServerKeys

REPO = Path(__file__).resolve().parents[1]
#: Seconds a server has to answer /healthz.
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(url: str, key_file: Path, workers: int, threads: int, log: Path) -> tuple[Any, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "CONCORD_DATABASE_URL": url,
            "CONCORD_SERVER_KEY_FILE": str(key_file),
            "CONCORD_EMBEDDED_WORKER": "false",
            "CONCORD_LOG_LEVEL": "WARNING",
            "CONCORD_PASSWORD_TIME_COST": "1",
            "CONCORD_PASSWORD_MEMORY_KIB": "1024",
        }
    )
    argv = [sys.executable, "-m", "concord.cli.main", "serve", "--port", str(port)]
    argv += ["--workers", str(workers), "--threads", str(threads)]
    with open(log, "ab") as out:
        server = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited at start: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"the server did not answer in {START_TIMEOUT} s")


def _client(port: int, path: str, start_at: float, seconds: float, fresh: bool) -> int:
    """One client process: requests answered between ``start_at`` and ``start_at + seconds``."""
    headers = {"Authorization": AUTH, "Accept": "text/plain"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get() -> None:
        nonlocal connection
        if fresh:
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")

    while time.time() < start_at:  # warm-up: the password cache, the statement caches
        get()
    count, end = 0, start_at + seconds
    while time.time() < end:
        get()
        count += 1
    connection.close()
    return count


@dataclass
class Measure:
    """What one worker count did: its rate, each worker's CPU, the machine's."""

    per_second: float
    #: CPU seconds each worker process used while measured (the balance).
    worker_cpu: list[float]
    #: The share of the machine's CPU time that was busy (anyone's work).
    machine_busy: float


def _workers_of(server: int) -> list[int]:
    """The worker processes of ``concord serve`` (itself when it forks none)."""
    children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
    return [int(pid) for pid in children] or [server]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine so far."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def measure(
    server: int, port: int, path: str, clients: int, seconds: float, fresh: bool
) -> Measure:
    """Requests per second of ``clients`` client processes for ``seconds``, and the CPU used."""
    start_at = time.time() + 1.0 + 0.1 * clients
    context = multiprocessing.get_context("fork")
    with context.Pool(clients) as pool:
        pending = pool.starmap_async(_client, [(port, path, start_at, seconds, fresh)] * clients)
        time.sleep(max(0.0, start_at - time.time()))
        workers = _workers_of(server)
        before = [_cpu_seconds(pid) for pid in workers]
        busy, total = _machine()
        time.sleep(seconds)
        after = [_cpu_seconds(pid) for pid in workers]
        busy_after, total_after = _machine()
        counts = pending.get()
    return Measure(
        sum(counts) / seconds,
        [b - a for a, b in zip(before, after, strict=True)],
        (busy_after - busy) / max(1, total_after - total),
    )


def run(
    database_url: str | None,
    workers: list[int],
    clients: int,
    seconds: float,
    threads: int,
    fresh: bool = False,
    emit: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Seed, then measure each worker count; return the lines (each also given to ``emit``)."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        emit(line)

    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        url = database_url or f"sqlite:///{directory / 'bench.sqlite'}"
        database = Database(url)
        upgrade(database)
        entity, _others = seed(database, directory, 20)
        database.dispose()
        key_file = directory / "server.key"
        ServerKeys.load(key_file, create=True)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        connections = "a new connection per request" if fresh else "one keep-alive connection each"
        say(
            f"python {sys.version.split()[0]}  database {database.dialect}  cpus {os.cpu_count()}"
            f"  clients {clients} ({connections})  threads {threads}  load average {load}"
        )
        head = f"{'workers':>7} {'GET/s':>9} {'ratio':>6}   {'worker CPU s':>16}   machine busy"
        say(head)
        first = 0.0
        for count in workers:
            server, port = _start(url, key_file, count, threads, directory / f"serve-{count}.log")
            try:
                got = measure(server.pid, port, f"/compute/{entity}", clients, seconds, fresh)
            finally:
                server.terminate()
                server.wait(timeout=90)
            first = first or got.per_second
            cpu = " ".join(f"{each:.1f}" for each in got.worker_cpu)
            say(
                f"{count:7d} {got.per_second:9.1f} {got.per_second / first:6.2f}"
                f"   {cpu:>16}   {got.machine_busy:6.0%}"
            )
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        say(f"load average at the end {load}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--clients", type=int, default=8, help="client processes")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8, help="request threads per worker")
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: SQLite)")
    parser.add_argument(
        "--new-connections", action="store_true", help="a new connection for every request"
    )
    args = parser.parse_args(argv)
    run(
        args.database,
        [int(n) for n in args.workers.split(",")],
        args.clients,
        args.seconds,
        args.threads,
        args.new_connections,
        lambda line: print(line, flush=True),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
