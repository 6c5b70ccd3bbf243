"""An accounting repository takes trusted sites' APEL records over the whole WSGI app.

The repository is a Concord application with ``accounting_repository`` on;
the site ``site-b`` is trusted with a token made by the repository's engine,
and pushes APEL Cloud Usage Record v0.4 messages written by the usage
export's own writer. A trusted push is stored; a push without a known token
is 401, one naming another site 403, a malformed one 400, and none of those
stores anything; pushing again replaces; the summary's figures are each
guest's growth since its record of the month before, summed exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CliRun, basic
from webtest import TestApp

from concord.accounting_push import push_messages, queue_messages
from concord.app import make_app
from concord.settings import Settings
from engine.db import Database
from engine.federation.accounting import AccountingRepository
from engine.federation.models import AccountingRecord
from engine.usage.export import apel_cloud_message

ADMIN = basic("admin", "admin-password")
RECORDS = "/federation/accounting/records"
SUMMARY = "/federation/accounting/summary"
NOV = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC).timestamp())
DEC = int(dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC).timestamp())
START = int(dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC).timestamp())
IMAGE = "https://site-a.example/federation/image-list#0f1e2d3c"


def guest(vm: str, measured: int, wall: int, **more: Any) -> dict[str, Any]:
    """An APEL record of a running guest of site-b, measured at ``measured``."""
    return {
        "RecordCreateTime": measured,
        "VMUUID": vm,
        "SiteName": "site-b",
        "CloudComputeService": "concord",
        "MachineName": vm,
        "LocalUserId": "acct-1",
        "LocalGroupId": "proj-1",
        "FQAN": "/demo",
        "Status": "started",
        "StartTime": START,
        "WallDuration": wall,
        "CpuDuration": 2 * wall,
        "CpuCount": 2,
        "Memory": 2048,
        "Disk": 10,
        "ImageId": IMAGE,
        "CloudType": "Concord",
        **more,
    }


def message(*records: dict[str, Any]) -> str:
    (text,) = apel_cloud_message(list(records))
    return text


@pytest.fixture
def repository(database: Database, settings: Settings, tenancy: Any) -> tuple[TestApp, str]:
    """The repository app and site-b's token."""
    on = Settings.from_mapping(
        {**settings.as_pyramid(), "concord.accounting_repository": "true"}, environ={}
    )
    with database.transaction() as session:
        token = AccountingRepository(session).add_site(tenancy.root, "site-b")
    return TestApp(make_app(on, database)), token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}


def stored(database: Database) -> list[tuple[str, str, int, int]]:
    with database.session() as session:
        rows = session.execute(
            sa.select(
                AccountingRecord.site,
                AccountingRecord.vmuuid,
                AccountingRecord.month,
                AccountingRecord.wall_duration,
            ).order_by(AccountingRecord.vmuuid, AccountingRecord.month)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_trusted_push_is_stored_and_a_second_push_replaces(
    repository: tuple[TestApp, str], database: Database
) -> None:
    app, token = repository
    body = message(guest("vm-1", NOV, 3600), guest("vm-2", NOV, 7200))
    answer = app.post(RECORDS, body, headers=bearer(token), status=200).json
    assert answer == {"site": "site-b", "stored": 2, "replaced": 0, "unchanged": 0}
    again = app.post(RECORDS, body, headers=bearer(token), status=200).json
    assert again == {"site": "site-b", "stored": 0, "replaced": 2, "unchanged": 0}
    assert stored(database) == [
        ("site-b", "vm-1", 202611, 3600),
        ("site-b", "vm-2", 202611, 7200),
    ]
    # A later snapshot of the same month replaces; an older one does not.
    later = message(guest("vm-1", NOV + 60, 3660))
    assert app.post(RECORDS, later, headers=bearer(token)).json["replaced"] == 1
    older = message(guest("vm-1", NOV - 60, 3540))
    assert app.post(RECORDS, older, headers=bearer(token)).json["unchanged"] == 1
    assert stored(database)[0] == ("site-b", "vm-1", 202611, 3660)


def test_pushes_without_trust_are_refused_and_store_nothing(
    repository: tuple[TestApp, str], database: Database
) -> None:
    app, token = repository
    body = message(guest("vm-1", NOV, 3600))
    app.post(RECORDS, body, headers={"Content-Type": "text/plain"}, status=401)
    app.post(RECORDS, body, headers=bearer(token + "x"), status=401)
    app.post(RECORDS, body, headers=bearer(""), status=401)
    app.post(RECORDS, body, headers={**ADMIN, "Content-Type": "text/plain"}, status=401)
    # Trusted, but one record is another site's: the whole message is refused.
    mixed = message(guest("vm-1", NOV, 3600), guest("vm-9", NOV, 60, SiteName="site-c"))
    refused = app.post(RECORDS, mixed, headers=bearer(token), status=403)
    assert "site-c" in refused.text
    assert stored(database) == []


#: The start of a second record, after a good first one.
SECOND = "APEL-cloud-message: v0.4\nVMUUID: a\nSiteName: site-b\n"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("VMUUID: vm-1\nSiteName: site-b\nStartTime: 1\n", "first line"),
        ("APEL-cloud-message: v0.2\nVMUUID: vm-1\n", "first line"),
        ("APEL-cloud-message: v0.4\n", "no record"),
        ("APEL-cloud-message: v0.4\n%%\n%%\n", "no record"),
        ("APEL-cloud-message: v0.4\nSiteName: site-b\nStartTime: 1\n", "VMUUID missing"),
        (SECOND + "StartTime: 1\nColour: red\n", "'Colour'"),
        (SECOND + "StartTime: soon\n", "StartTime"),
        (SECOND + "StartTime: 1\nMemory: -5\n", "Memory"),
        (SECOND + "VMUUID: b\nStartTime: 1\n", "twice"),
        (SECOND + "StartTime: 1\nStatus: gone\n", "Status"),
        (SECOND + "no colon here\n", "Key: value"),
    ],
)
def test_malformed_messages_are_400_and_store_nothing(
    repository: tuple[TestApp, str], database: Database, body: str, says: str
) -> None:
    app, token = repository
    # A good record first: nothing of the message may be stored.
    good = message(guest("vm-1", NOV, 3600)).rstrip("\n")
    text = body
    if body.startswith("APEL-cloud-message: v0.4") and "no record" not in says:
        text = good + "\n%%\n" + body.split("\n", 1)[1]
    answer = app.post(RECORDS, text, headers=bearer(token), status=400)
    assert says in answer.text, answer.text
    assert stored(database) == []


def test_oversized_and_undecodable_messages_are_400(
    repository: tuple[TestApp, str], database: Database
) -> None:
    app, token = repository
    many = "APEL-cloud-message: v0.4\n" + "\n%%\n".join(
        f"VMUUID: vm-{n}\nSiteName: site-b\nStartTime: {START}" for n in range(101)
    )
    assert "at most 100" in app.post(RECORDS, many, headers=bearer(token), status=400).text
    app.post(RECORDS, b"APEL-cloud-message: v0.4\n\xff\xfe", headers=bearer(token), status=400)
    assert stored(database) == []


def test_the_summary_counts_each_guests_growth_in_the_month(
    repository: tuple[TestApp, str], database: Database, tenancy: Any
) -> None:
    app, token = repository
    other = dict(ImageId="local-image", LocalGroupId="proj-2")
    november = message(guest("vm-1", NOV, 3600), guest("vm-2", NOV, 1000))
    december = message(
        guest("vm-1", DEC, 3600 + 500),  # ran 500 s more in December
        guest("vm-2", DEC, 1000 + 40),
        guest("vm-3", DEC, 777, **other),  # new in December
    )
    for body in (november, december):
        app.post(RECORDS, body, headers=bearer(token), status=200)
    rows = app.get(SUMMARY, {"month": "2026-12"}, headers=ADMIN).json["summary"]
    assert rows == [
        {
            "site": "site-b",
            "month": "2026-12",
            "vo": "demo",
            "project": "proj-1",
            "image_id": IMAGE,
            "vms": 2,
            "wall_duration": 540,
            "cpu_duration": 1080,
            "earliest_start": "2026-11-20T08:00:00Z",
            "latest_start": "2026-11-20T08:00:00Z",
        },
        {
            "site": "site-b",
            "month": "2026-12",
            "vo": "demo",
            "project": "proj-2",
            "image_id": "local-image",
            "vms": 1,
            "wall_duration": 777,
            "cpu_duration": 1554,
            "earliest_start": "2026-11-20T08:00:00Z",
            "latest_start": "2026-11-20T08:00:00Z",
        },
    ]
    every = app.get(SUMMARY, headers=ADMIN).json["summary"]
    assert [(r["month"], r["vms"], r["wall_duration"]) for r in every] == [
        ("2026-11", 2, 4600),
        ("2026-12", 2, 540),
        ("2026-12", 1, 777),
    ]
    assert app.get(SUMMARY, {"site": "site-c"}, headers=ADMIN).json == {"summary": []}
    app.get(SUMMARY, {"month": "2026-13"}, headers=ADMIN, status=400)
    app.get(SUMMARY, {"month": "12/2026"}, headers=ADMIN, status=400)
    # Tenants do not read other sites' projects; strangers are not signed in.
    app.get(SUMMARY, headers=basic("alice", "alice-password"), status=403)
    app.get(SUMMARY, status=401)


def test_a_site_that_is_no_repository_answers_404(
    app: TestApp, database: Database, tenancy: Any
) -> None:
    app.post(RECORDS, message(guest("vm-1", NOV, 1)), headers=bearer("any"), status=404)
    app.get(SUMMARY, headers=ADMIN, status=404)
    assert stored(database) == []


def test_a_site_pushes_over_http_and_queues_for_ssm(
    repository: tuple[TestApp, str], database: Database, tmp_path: Path
) -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from dirq.QueueSimple import QueueSimple  # type: ignore[import-untyped]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    app, token = repository
    server = make_server("127.0.0.1", 0, app.app, handler_class=Quiet)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}{RECORDS}"
    try:
        records = [guest(f"vm-{n}", NOV, n) for n in range(150)]
        messages = apel_cloud_message(records)
        assert len(messages) == 2  # at most 100 records per message
        push_messages(url, token, messages, timeout=10)
        assert len(stored(database)) == 150
        with pytest.raises(ValueError, match="401"):
            push_messages(url, "not-the-token", messages, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    # The directory queue reads back, element by element, as ssmsend reads it.
    names = queue_messages(str(tmp_path / "outgoing"), messages)
    queue = QueueSimple(str(tmp_path / "outgoing"))
    assert queue.count() == 2
    read = []
    for name in queue:
        assert queue.lock(name)
        read.append(queue.get(name).decode("utf-8"))
        queue.remove(name)
    assert sorted(read) == sorted(messages) and len(names) == 2


def test_the_cli_trusts_sites_and_prints_the_summary(
    tmp_path: Path, sqlite_template: Path, concord_cli: Callable[[str], CliRun]
) -> None:
    import shutil

    path = tmp_path / "repository.sqlite"
    shutil.copy(sqlite_template, path)
    run = concord_cli(f"sqlite:///{path}")

    assert run("init")[0] == 0
    status, out = run("federation", "accounting", "site", "add", "site-b")
    assert status == 0
    token = out.splitlines()[1]
    assert run("federation", "accounting", "site", "add", "site-b")[0] == 1
    with Database(f"sqlite:///{path}").transaction() as session:
        repository = AccountingRepository(session)
        assert repository.site_of_token(token) == "site-b"
        repository.ingest("site-b", message(guest("vm-1", DEC, 90)))
    status, out = run("federation", "accounting", "summary", "--month", "2026-12")
    assert status == 0
    header, row = out.splitlines()
    assert header.split()[:6] == ["SITE", "MONTH", "VO", "PROJECT", "IMAGE_ID", "VMS"]
    assert row.split()[:8] == ["site-b", "2026-12", "demo", "proj-1", IMAGE, "1", "90", "180"]
    assert run("federation", "accounting", "summary", "--month", "2026")[0] == 1
    assert run("federation", "accounting", "site", "list")[1].splitlines()[1].startswith("site-b")
    assert run("federation", "accounting", "site", "remove", "site-b")[0] == 0
    with Database(f"sqlite:///{path}").transaction() as session:
        assert AccountingRepository(session).site_of_token(token) is None
