"""Real Concord processes for integration tests: the CLI, ``concord serve`` and ``concord worker``.

Every process runs ``python -m concord.cli.main`` from the working tree (``PYTHONPATH`` is the
repository root), with its settings in ``CONCORD_*`` environment variables, its output in a log
file, and in a session of its own: the terminal's signals do not reach it, and stopping it
signals its whole process group, so that nothing it started outlives it.
:class:`ProcessGroup` remembers every process it started and stops them all
(:meth:`ProcessGroup.stop_all`), which tests call in ``finally`` blocks; every wait here has a
deadline and fails with the logs of the processes involved.

A small HTTP client (:func:`http`) speaks to the servers with the standard library only.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEY_FILE

#: The repository root: what ``PYTHONPATH`` names for every process.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Seconds a CLI command may take before the test fails.
CLI_TIMEOUT = 60.0
#: Seconds a server has to answer ``/healthz`` after it is started.
START_TIMEOUT = 30.0
#: Seconds a process has to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0
#: Lines of each log shown when a test fails.
LOG_TAIL = 60

T = TypeVar("T")
#: The MariaDB server the multi-process tests make their private databases on.
MARIADB_SERVER = os.environ.get("CONCORD_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306")


@contextlib.contextmanager
def private_mariadb(prefix: str) -> Iterator[str]:
    """A database ``<prefix>_<pid>`` on the MariaDB server, dropped afterwards.

    Skips the calling test (module) with the reason when no server answers.
    """
    name = f"{prefix}_{os.getpid()}"
    try:
        server = sa.create_engine(MARIADB_SERVER)
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except sa.exc.SQLAlchemyError as exc:
        pytest.skip(f"multi-process tests skipped: no MariaDB at {MARIADB_SERVER} ({exc})")
    try:
        yield f"{MARIADB_SERVER}/{name}?charset=utf8mb4"
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        server.dispose()


class ProcessFailure(AssertionError):
    """A process did not do what the test needed; the message carries its output."""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def concord_env(database_url: str, pycache: Path | None = None, **settings: str) -> dict[str, str]:
    """The environment of a Concord process on ``database_url``.

    :param pycache: a directory where the processes share their compiled bytecode
        (``PYTHONPYCACHEPREFIX``), outside the working tree: the many short CLI processes then
        compile Concord once, not once each.
    :param settings: further ``CONCORD_*`` settings, by their names without the prefix
        (``embedded_worker="false"``).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONCORD_") and key != "PYTHONPATH"
    }
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            "CONCORD_DATABASE_URL": database_url,
            # Cheap Argon2 costs: the processes hash the test users' passwords.
            "CONCORD_PASSWORD_MEMORY_KIB": "1024",
            "CONCORD_PASSWORD_TIME_COST": "1",
            # JSON lines (the default) carry the job and request fields the text format drops.
            "CONCORD_LOG_FORMAT": "json",
            "CONCORD_LOG_LEVEL": "INFO",
            # The test run's server key, shared by every process (as production
            # shares one file), never the default var/server.key of the checkout.
            "CONCORD_SERVER_KEY_FILE": TEST_SERVER_KEY_FILE,
        }
    )
    env.update({f"CONCORD_{name.upper()}": value for name, value in settings.items()})
    return env


def concord_argv(*args: str) -> list[str]:
    """The command line of ``concord <args>`` run from the working tree."""
    return [sys.executable, "-m", "concord.cli.main", *args]


def run_cli(
    env: Mapping[str, str], *args: str, stdin: str | None = None, timeout: float = CLI_TIMEOUT
) -> str:
    """Run ``concord <args>`` to completion and return its standard output.

    :raises ProcessFailure: it failed or timed out; the message has its output.
    """
    command = " ".join(["concord", *args])
    try:
        result = subprocess.run(
            concord_argv(*args),
            env=dict(env),
            cwd=REPO_ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ProcessFailure(f"{command!r} did not finish in {timeout}s: {exc.output!r}") from None
    if result.returncode != 0:
        raise ProcessFailure(
            f"{command!r} exited with {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result.stdout


@dataclass
class ManagedProcess:
    """One long-running Concord process and its log file.

    :param name: a label for messages and the log file's name.
    :param argv: its command line.
    :param env: its environment.
    :param log_path: where its standard output and error go.
    """

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    #: The base URL of a server process.
    url: str = ""
    popen: subprocess.Popen[bytes] | None = None
    #: Its working directory.
    cwd: Path = REPO_ROOT

    def start(self) -> ManagedProcess:
        """Start it (in a new session, so that signals reach it and only it)."""
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        """Its process id (it must have been started)."""
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    @property
    def running(self) -> bool:
        """Whether it has been started and has not exited."""
        return self.popen is not None and self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """Its exit status, or None while it runs (or before it starts)."""
        return None if self.popen is None else self.popen.poll()

    def _signal(self, signum: int) -> None:
        # Its session's process group: the process and anything it started. Only while it
        # is unreaped, so that the group id cannot belong to another process by now.
        assert self.popen is not None
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL it, as a crash or an OOM killer would, and reap it."""
        if self.popen is None:
            return
        self._signal(signal.SIGKILL)
        self.popen.wait(timeout=STOP_TIMEOUT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM it; SIGKILL it if it has not exited within ``timeout``; reap it."""
        if self.popen is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(timeout=STOP_TIMEOUT)

    def log(self) -> str:
        """Everything it wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"

    def tail(self, lines: int = LOG_TAIL) -> str:
        """The last ``lines`` lines of its log, headed by its name and status."""
        pid = self.popen.pid if self.popen is not None else "-"
        status = "running" if self.running else f"exited with {self.returncode}"
        text = "\n".join(self.log().splitlines()[-lines:])
        return f"----- {self.name} (pid {pid}, {status}) {self.log_path}\n{text}"


@dataclass
class ProcessGroup:
    """The processes one test module started; stops them all, whatever happened.

    :param log_dir: where their log files go (and, in ``pycache``, their bytecode).
    :param database_url: the database every process shares.
    """

    log_dir: Path
    database_url: str
    processes: list[ManagedProcess] = field(default_factory=list)
    #: ``CONCORD_*`` settings every process of the group gets (names without the prefix).
    settings: dict[str, str] = field(default_factory=dict)

    def env(self, **settings: str) -> dict[str, str]:
        """The environment of a process of this group (see :func:`concord_env`)."""
        return concord_env(
            self.database_url, self.log_dir / "pycache", **{**self.settings, **settings}
        )

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str], url: str = ""
    ) -> ManagedProcess:
        log_path = self.log_dir / f"{name}.log"
        process = ManagedProcess(name, concord_argv(*args), env, log_path, url=url)
        self.processes.append(process)
        return process.start()

    def start_server(self, name: str, threads: int = 4) -> ManagedProcess:
        """Start ``concord serve`` on a free loopback port, without the embedded worker.

        The caller waits for it with :meth:`wait_healthy`.
        """
        port = free_port()
        return self._spawn(
            name,
            ["serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
            self.env(embedded_worker="false"),
            url=f"http://127.0.0.1:{port}",
        )

    def start_demo(self, name: str = "demo", **settings: str) -> ManagedProcess:
        """Start ``concord serve --demo`` on a free loopback port, with its embedded worker.

        The demo provisions its tenant (``demo``/``demo``), its zone of simulated
        libvirt hosts (their files beside an SQLite database) and its networks;
        the caller waits for it with :meth:`wait_healthy`.

        :param settings: further ``CONCORD_*`` settings (see :func:`concord_env`).
        """
        port = free_port()
        return self._spawn(
            name,
            ["serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            self.env(**settings),
            url=f"http://127.0.0.1:{port}",
        )

    def start_worker(
        self,
        name: str,
        threads: int = 1,
        poll: float = 0.2,
        stale_after: float = 3.0,
        reconcile: bool = False,
    ) -> ManagedProcess:
        """Start ``concord worker``; it prints a line once its threads claim jobs.

        :param reconcile: also run reconciliation and the event monitor in it.
        """
        args = ["worker", "--threads", str(threads), "--poll", str(poll)]
        args += ["--stale-after", str(stale_after)] + (["--reconcile"] if reconcile else [])
        return self._spawn(name, args, self.env())

    def wait_healthy(self, server: ManagedProcess, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``server`` answers 200 on ``/healthz``.

        :raises ProcessFailure: it exited, or did not answer in time.
        """

        def healthy() -> bool:
            if not server.running:
                raise ProcessFailure(f"{server.name} exited at start\n{server.tail()}")
            with contextlib.suppress(OSError, HTTPException):
                return http("GET", server.url + "/healthz", timeout=2).status == 200
            return False

        wait_until(healthy, timeout, f"{server.name} to answer /healthz", server.tail)

    def wait_ready(self, worker: ManagedProcess, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``worker`` says its threads claim jobs.

        :raises ProcessFailure: it exited, or did not say so in time.
        """

        def ready() -> bool:
            if not worker.running:
                raise ProcessFailure(f"{worker.name} exited at start\n{worker.tail()}")
            return "claiming jobs" in worker.log()

        wait_until(ready, timeout, f"{worker.name} to claim jobs", worker.tail)

    def logs(self) -> str:
        """The tail of every process's log."""
        return "\n".join(p.tail() for p in self.processes) or "(no processes)"

    def stop_all(self) -> list[str]:
        """Stop every process (SIGTERM, then SIGKILL); return those still alive (none)."""
        for process in self.processes:
            with contextlib.suppress(Exception):
                process.stop()
        return [f"{p.name} (pid {p.pid})" for p in self.processes if p.running]

    @contextlib.contextmanager
    def explain_failure(self) -> Iterator[None]:
        """Print every process's log if the block fails (pytest shows it with the failure)."""
        try:
            yield
        except BaseException:
            print(self.logs())
            raise


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    explain: Callable[[], str] | None = None,
    interval: float = 0.2,
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    :param what: what is waited for, for the failure message.
    :param explain: more to say when time runs out (e.g. process logs).
    :raises ProcessFailure: ``timeout`` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    detail = f"\n{explain()}" if explain is not None else ""
    raise ProcessFailure(f"timed out after {timeout}s waiting for {what} (last: {last!r}){detail}")


@dataclass(frozen=True)
class Reply:
    """An HTTP response: status, headers (lower-case names) and text body."""

    status: int
    headers: dict[str, str]
    text: str

    def attribute(self, name: str) -> str | None:
        """The value of an ``X-OCCI-Attribute`` in a text/plain body, unquoted."""
        prefix = f"X-OCCI-Attribute: {name}="
        for line in self.text.splitlines():
            if line.startswith(prefix):
                return line[len(prefix) :].strip().strip('"')
        return None


def basic_auth(username: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header of HTTP Basic."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def http(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: str | bytes | None = None,
    timeout: float = 10.0,
) -> Reply:
    """One HTTP request over a new connection; any status is returned, none raises."""
    parts = urlsplit(url)
    connection = HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        payload = body.encode("utf-8") if isinstance(body, str) else body
        connection.request(method, path or "/", body=payload, headers=dict(headers or {}))
        response = connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
    finally:
        connection.close()


def demo_env(home: Path) -> dict[str, str]:
    """The environment of a demo and of the commands run beside it, as a user's shell has it.

    The venv's ``bin`` first on ``PATH`` (``concord``, ``python``), no ``CONCORD_*`` setting
    but cheap password hashing, text logs, and ``HOME`` in the test's directory.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        {
            "PATH": f"{venv_bin}:{env.get('PATH', '')}",
            "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            "HOME": str(home),
            "CONCORD_LOG_FORMAT": "text",
            "CONCORD_PASSWORD_MEMORY_KIB": "1024",
            "CONCORD_PASSWORD_TIME_COST": "1",
        }
    )
    return env


def start_demo(
    work: Path, env: Mapping[str, str], log_path: Path, port: int | None = None
) -> ManagedProcess:
    """Start ``concord serve --demo`` in ``work`` (its ``var/`` goes there) and wait for it.

    :raises ProcessFailure: it exited, or did not answer ``/healthz`` in time.
    """
    port = port or free_port()
    server = ManagedProcess(
        "demo",
        concord_argv("serve", "--demo", "--port", str(port)),
        dict(env),
        log_path,
        url=f"http://127.0.0.1:{port}",
        cwd=work,
    ).start()

    def healthy() -> bool:
        if not server.running:
            raise ProcessFailure(f"the demo exited at start\n{server.tail()}")
        with contextlib.suppress(OSError, HTTPException):
            return http("GET", server.url + "/healthz", timeout=2).status == 200
        return False

    try:
        wait_until(healthy, START_TIMEOUT, "the demo to answer /healthz", server.tail)
    except BaseException:
        server.stop()
        raise
    return server
