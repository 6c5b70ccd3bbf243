"""Requests per second through Concord, against the minimal-correct server, side by side.

The reference for every scenario is :mod:`bench.minimal` (issue 15): a
Pyramid app that checks Basic credentials against a verified-password cache
plus one indexed sign-in SELECT, reads exactly what Concord's answer holds
with as few statements as possible through the same SQLAlchemy engine, and
answers the very same bytes. Before measuring, the benchmark asserts that
both answers are byte-identical (Content-Type, the OCCI headers of text/occi,
the body; ids and names normalised for the two writes, which act on
different computes). A ratio is Concord's rate over the minimal server's:
1.0 means Concord costs what the minimum costs.

Scenarios, on a tenant with ``--computes`` (1,000) running computes:

* one compute (with a storage link and a network interface) in each OCCI
  rendering (text/plain, text/occi, application/occi+json), and as a CIMI
  Machine (JSON and XML);
* the whole collection: ``GET /compute/`` in the three OCCI renderings (the
  text ones list locations, GFD.229 §3.1.2) and ``GET /cimi/machines`` in
  JSON and XML;
* POST create a compute (OCCI text/plain, 201);
* an action: ``POST /compute/<id>?action=restart`` on a different running
  compute each time (200, the compute rendered).

Each scenario runs in process (WSGI calls with a prepared environ) and over
HTTP (waitress on loopback, one keep-alive connection per app); the load
average is printed with the table. No number is asserted anywhere.

Usage (``-m``, so that this module does not shadow the ``requests`` library)::

    PYTHONPATH=. .venv/bin/python -m bench.requests [--computes 1000]
        [--seconds 2] [--database URL] [--only wsgi|http] [--match TEXT]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.minimal import Minimal, make_minimal_app
from bench.requests_setup import AUTH, CREATE, RESTART, SERVERS, Call, call, over_http, rate, seed
from concord.app import freeze_after_start_up, make_app
from concord.settings import Settings
from engine.db import Database
from engine.schema import upgrade
from engine.tenancy.passwords import PasswordHasher, PasswordPolicy

#: Headers that carry an OCCI rendering (text/occi) besides the Content-Type.
COMPARED = ("Content-Type", "Category", "Link", "X-OCCI-Attribute", "X-OCCI-Location", "Location")
_IDS = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\bc[0-9]+\b")
WSGIApp = Callable[..., Iterable[bytes]]


@dataclass
class Scenario:
    """One row of the table: what is asked, and how the next request is made."""

    name: str
    requests: Callable[[], Call]
    writes: bool = False
    most: int = 1_000_000


def scenarios(entity: str, others: list[str], computes: int) -> list[Scenario]:
    """The table's rows, reads first (writes change what the listings hold)."""

    def reading(path: str, accept: str) -> Callable[[], Call]:
        request: Call = ("GET", path, {"Authorization": AUTH, "Accept": accept}, b"")
        return lambda: request

    rows = []
    occi = [("text/plain", "text/plain"), ("text/occi", "text/occi")]
    occi.append(("OCCI JSON", "application/occi+json"))
    for label, media in occi:
        rows.append(Scenario(f"GET one compute, {label}", reading(f"/compute/{entity}", media)))
    cimi = [("CIMI JSON", "application/json"), ("CIMI XML", "application/xml")]
    for label, media in cimi:
        machine = reading(f"/cimi/machines/{entity}", media)
        rows.append(Scenario(f"GET one Machine, {label}", machine))
    for label, media in occi:
        rows.append(Scenario(f"GET /compute/ ({computes}), {label}", reading("/compute/", media)))
    for label, media in [("CIMI JSON", "application/json"), ("CIMI XML", "application/xml")]:
        rows.append(
            Scenario(f"GET /cimi/machines ({computes}), {label}", reading("/cimi/machines", media))
        )
    text = {"Authorization": AUTH, "Accept": "text/plain", "Content-Type": "text/plain"}
    creating: Call = ("POST", "/compute/", text, CREATE)
    rows.append(Scenario("POST create a compute, text/plain", lambda: creating, writes=True))
    pending: Iterator[str] = iter(others)
    rows.append(
        Scenario(
            "POST ?action=restart, text/plain",
            lambda: ("POST", f"/compute/{next(pending)}?action=restart", text, RESTART),
            writes=True,
            # One compute for the identity check's two calls, then each app and
            # transport its own: two warm-up calls and the measured ones.
            most=max(1, (len(others) - 2) // 4 - 2),
        )
    )
    return rows


def answer(app: WSGIApp, request: Call) -> tuple[str, dict[str, str], bytes]:
    """The status, compared headers and body of one call (asserting success)."""
    status, headers, body = call(app, request)
    assert status.startswith(("200", "201")), (request[1], status, body[:300])
    return status, {k: v for k, v in headers.items() if k in COMPARED}, body


def check_identical(concord: WSGIApp, minimal: WSGIApp, scenario: Scenario) -> int:
    """Assert both apps answer the same bytes; return the body's length."""
    ours, theirs = answer(concord, scenario.requests()), answer(minimal, scenario.requests())
    if scenario.writes:  # different computes: compare the shapes
        ours = (
            ours[0],
            {k: _IDS.sub(b"#", v.encode()).decode() for k, v in ours[1].items()},
            _IDS.sub(b"#", ours[2]),
        )
        theirs = (
            theirs[0],
            {k: _IDS.sub(b"#", v.encode()).decode() for k, v in theirs[1].items()},
            _IDS.sub(b"#", theirs[2]),
        )
    assert ours == theirs, f"{scenario.name}: the answers differ\n{ours!r}\n{theirs!r}"
    return len(ours[2])


def settings() -> Settings:
    """Concord as deployed, with the benchmark's cheap password hashing and no worker."""
    return Settings.from_mapping(
        {
            "concord.embedded_worker": "false",
            "concord.log_level": "WARNING",
            "concord.password_time_cost": "1",
            "concord.password_memory_kib": "1024",
        },
        environ={},
    )


def run(
    database_url: str | None,
    computes: int,
    seconds: float,
    transports: tuple[str, ...],
    emit: Callable[[str], None] = lambda line: None,
    match: str = "",
) -> list[str]:
    """Seed, check identity, measure; return the table's lines (each also given to *emit*)."""
    if computes < 20:
        raise ValueError("the action scenario needs at least 20 computes")
    lines = _Lines(emit)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        database = Database(database_url or f"sqlite:///{directory / 'bench.sqlite'}")
        upgrade(database)
        entity, others = seed(database, directory, computes)
        concord = make_app(settings(), database)
        hasher = PasswordHasher(PasswordPolicy(time_cost=1, memory_cost_kib=1024, parallelism=1))
        minimal = make_minimal_app(Minimal(database, hasher))
        freeze_after_start_up()  # as `concord serve` does once started (both apps gain)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        lines.append(
            f"python {sys.version.split()[0]}  database {database.dialect}  cpus {os.cpu_count()}"
            f"  computes {computes}  load average {load}"
        )
        lines.append(
            f"{'scenario':44} {'transport':9} {'Concord/s':>10} {'minimal/s':>10} {'ratio':>6}"
        )
        rows = [s for s in scenarios(entity, others, computes) if match in s.name]
        try:
            for phase in (False, True):
                for scenario in (s for s in rows if s.writes is phase):
                    size = check_identical(concord, minimal, scenario)
                    for transport in transports:
                        lines.append(_measure(concord, minimal, scenario, transport, seconds, size))
        finally:
            for server in SERVERS:
                server.shutdown()
            SERVERS.clear()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        lines.append(f"load average at the end {load}")
        database.dispose()
    return lines


class _Lines(list[str]):
    """The table's lines, each passed on as it comes (a long run shows progress)."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        super().__init__()
        self.emit = emit

    def append(self, line: str) -> None:
        """Keep *line* and pass it on."""
        super().append(line)
        self.emit(line)


def _measure(
    concord: WSGIApp,
    minimal: WSGIApp,
    scenario: Scenario,
    transport: str,
    seconds: float,
    size: int,
) -> str:
    def sender(app: WSGIApp) -> Callable[[Call], Any]:
        return over_http(app) if transport == "http" else (lambda request: call(app, request))

    ours = rate(sender(concord), scenario.requests, seconds, scenario.most)
    theirs = rate(sender(minimal), scenario.requests, seconds, scenario.most)
    return (
        f"{scenario.name:44} {transport:9} {ours:10.1f} {theirs:10.1f} {ours / theirs:6.2f}"
        f"  ({size} bytes)"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--computes", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: SQLite)")
    parser.add_argument("--only", choices=("wsgi", "http"), help="one transport only")
    parser.add_argument("--match", default="", help="only the scenarios whose name has this")
    args = parser.parse_args(argv)
    transports = (args.only,) if args.only else ("wsgi", "http")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # one client: not news
    run(
        args.database,
        args.computes,
        args.seconds,
        transports,
        lambda line: print(line, flush=True),
        args.match,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
