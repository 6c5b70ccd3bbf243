"""``concord usage``: aggregate, report, tariff, bill and export, run in-process.

Events are recorded at chosen moments (as the services record them, with
:func:`engine.events.service.emit`) in the CLI's SQLite file; the commands
then aggregate them and print exactly the figures the timeline implies. The
APEL messages are checked against cASO's record model (the EGI extractor's,
installed from PyPI), the public IP message too.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from caso.record import CloudRecord, IPRecord
from helpers import TEST_SERVER_KEY_FILE

from concord.cli.main import main
from engine.catalog.models import Image
from engine.db import Database
from engine.events.service import DomainEvent, emit
from engine.scope import Owner, Scope
from engine.tenancy.models import AccountType
from engine.tenancy.service import TenancyService

Run = Callable[..., tuple[int, str, str]]
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Run]:
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{tmp_path / 'concord.sqlite'}")
    monkeypatch.setenv("CONCORD_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("CONCORD_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("CONCORD_SERVER_KEY_FILE", TEST_SERVER_KEY_FILE)
    monkeypatch.setenv("CONCORD_SITE_NAME", "TEST-SITE")

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    assert run("init")[0] == 0
    yield run


def ok(run: Run, *argv: str) -> str:
    status, out, err = run(*argv)
    assert status == 0, err
    return out


@pytest.fixture
def owners(run: Run) -> dict[str, Owner]:
    """acme (dev) and acme/lab (research) and globex (sales): the owners of the usage."""
    database = Database(os.environ["CONCORD_DATABASE_URL"])
    found: dict[str, Owner] = {}
    with database.transaction() as session:
        tenancy = TenancyService(session)
        system = Scope.system(tenancy.root())
        acme = tenancy.create_domain(system, "acme")
        lab = tenancy.create_domain(system, "lab", acme.id)
        globex = tenancy.create_domain(system, "globex")
        for name, domain in (("dev", acme), ("research", lab), ("sales", globex)):
            account = tenancy.create_account(system, name, domain.id, AccountType.USER)
            found[name] = Owner(account.id, None, domain.id)
    database.dispose()
    return found


def record(owner: Owner, minutes: float, etype: str, rid: str, **facts: Any) -> None:
    database = Database(os.environ["CONCORD_DATABASE_URL"])
    kind = etype.rsplit(".", 1)[0]
    with database.transaction() as session:
        row = emit(session, DomainEvent(etype, kind, rid, owner, {"name": rid, **facts}))
        row.occurred = T0 + dt.timedelta(minutes=minutes)
    database.dispose()


IMAGE = "5a0c1e2d-0000-4000-8000-0000000000aa"
#: The image's marketplace URI, as an image list subscription records it.
MPURI = "https://appdb.egi.eu/store/vo/image/5a0c1e2d:1234/"
GUEST = {
    "host_id": "h1",
    "offering_id": "small",
    "vcpus": 2,
    "memory_mib": 1024,
    "image_id": IMAGE,
}
VM1 = "6f1c3a52-0000-4000-8000-000000000001"
#: The root disk the guest was given when it was provisioned: 10 GiB and a byte.
ROOT_DISK_BYTES = 10 * 1024**3 + 1


def register_image() -> None:
    """The guest's image, from an image list: it has a marketplace URI."""
    database = Database(os.environ["CONCORD_DATABASE_URL"])
    with database.transaction() as session:
        session.add(Image(id=IMAGE, name="centos", properties={"mpuri": MPURI}))
    database.dispose()


@pytest.fixture
def timeline(owners: dict[str, Owner], run: Run) -> dict[str, Owner]:
    dev, research, sales = owners["dev"], owners["research"], owners["sales"]
    # dev: a guest created at 08:00, running 08:30-09:45, deleted at 09:55.
    register_image()
    record(dev, 0, "compute.created", VM1, state="creating", **GUEST)
    provisioned = {"root_disk_bytes": ROOT_DISK_BYTES}
    record(dev, 30, "compute.provisioned", VM1, state="running", **GUEST, **provisioned)
    record(dev, 30, "compute.started", VM1, state="running", **GUEST)
    record(dev, 105, "compute.stopped", VM1, state="stopped", **GUEST)
    record(dev, 115, "compute.deleted", VM1, state="deleted", **GUEST)
    # research (acme/lab): a 10 GiB volume for the two hours.
    record(research, 0, "volume.created", "vol-1", state="creating", size_gib=10)
    # sales: an address from 08:15 on.
    record(sales, 15, "network_interface.created", "nic-1", state="attached", ip_address="10.0.0.9")
    out = ok(run, "usage", "aggregate", "--settle", "0", "--until", "2026-11-02T10:00:00Z")
    assert "2 period(s)" in out
    return owners


RANGE = ("--from", "2026-11-02T08:00:00Z", "--to", "2026-11-02T10:00:00Z")


def report(run: Run, *argv: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        ok(run, "usage", "report", *argv, *RANGE, "--format", "json")
    )
    return rows


def test_report_gives_the_exact_figures_per_account(run: Run, timeline: dict[str, Owner]) -> None:
    rows = {r["type"]: r for r in report(run, "--account", "dev", "--account-domain", "ROOT/acme")}
    assert set(rows) == {"allocated_vm", "running_vm", "cpu", "memory"}
    assert rows["allocated_vm"]["seconds"] == 115 * 60
    assert rows["allocated_vm"]["amount"] == "1.916667"
    assert rows["running_vm"]["seconds"] == 75 * 60
    assert rows["running_vm"]["amount"] == "1.250000"
    assert rows["cpu"]["quantity"] == 2 * 75 * 60 and rows["cpu"]["unit"] == "core-hour"
    assert rows["memory"]["amount"] == "1.250000" and rows["memory"]["unit"] == "GiB-hour"
    assert {r["offering"] for r in rows.values()} == {"small"}


def test_a_domain_report_rolls_up_its_subtree(run: Run, timeline: dict[str, Owner]) -> None:
    acme = report(run, "--domain", "ROOT/acme")
    assert {r["account"] for r in acme} == {"dev", "research"}
    volume = next(r for r in acme if r["type"] == "volume")
    assert (volume["quantity"], volume["amount"]) == (10 * 7200, "20.000000")
    assert {r["account"] for r in report(run, "--domain", "ROOT/acme/lab")} == {"research"}
    everyone = report(run)
    assert {r["account"] for r in everyone} == {"dev", "research", "sales"}
    table = ok(run, "usage", "report", "--domain", "ROOT/globex", *RANGE)
    assert "ip_address" in table and "1.750000" in table and "aggregated until" in table
    rows = list(csv.DictReader(io.StringIO(ok(run, "usage", "report", *RANGE, "--format", "csv"))))
    assert len(rows) == len(everyone)


def test_aggregating_again_changes_nothing(run: Run, timeline: dict[str, Owner]) -> None:
    before = report(run)
    out = ok(run, "usage", "aggregate", "--settle", "0", "--until", "2026-11-02T10:00:00Z")
    assert "0 period(s)" in out
    assert report(run) == before


def test_bill_prices_each_type_by_its_tariff(run: Run, timeline: dict[str, Owner]) -> None:
    ok(
        run,
        "usage",
        "tariff",
        "set",
        "running_vm",
        "0.10",
        "--currency",
        "EUR",
        "--from",
        "2026-01-01",
    )
    ok(
        run,
        "usage",
        "tariff",
        "set",
        "cpu",
        "0.015",
        "--currency",
        "EUR",
        "--from",
        "2026-01-01",
        "--to",
        "2026-11-02T09:00:00Z",
    )
    ok(
        run,
        "usage",
        "tariff",
        "set",
        "cpu",
        "0.02",
        "--currency",
        "EUR",
        "--from",
        "2026-11-02T09:00:00Z",
    )
    ok(
        run,
        "usage",
        "tariff",
        "set",
        "memory",
        "0.005",
        "--currency",
        "EUR",
        "--offering",
        "small",
        "--from",
        "2026-01-01",
    )
    listed = ok(run, "usage", "tariff", "list")
    assert listed.count("EUR") == 4 and "(any)" in listed
    out = ok(
        run,
        "usage",
        "bill",
        "--account",
        "dev",
        "--account-domain",
        "ROOT/acme",
        *RANGE,
        "--format",
        "json",
    )
    bill = json.loads(out)
    charges = {
        (line["type"], line["price"]): Decimal(line["charge"])
        for line in bill["lines"]
        if line["price"]
    }
    # running 08:30-09:45: 0.5 h in the first hour, 0.75 h in the second.
    assert charges[("running_vm", "0.10")] == Decimal("0.125")
    assert charges[("cpu", "0.015")] == Decimal("0.015")  # 1 core-hour at 0.015
    assert charges[("cpu", "0.02")] == Decimal("0.03")  # 1.5 core-hours at 0.02
    assert charges[("memory", "0.005")] == Decimal("0.00625")
    assert bill["totals"] == {"EUR": "0.18"}  # 0.17625, half up to cents
    unpriced = [line for line in bill["lines"] if not line["price"]]
    assert [line["type"] for line in unpriced] == ["allocated_vm"]
    status, _, err = run(
        "usage", "tariff", "set", "cpu", "-1", "--currency", "EUR", "--from", "2026-01-01"
    )
    assert status == 1 and "non-negative" in err
    status, _, err = run(
        "usage", "tariff", "set", "cpu", "1", "--currency", "euro", "--from", "2026-01-01"
    )
    assert status == 1 and "ISO 4217" in err


def test_export_csv_and_json_carry_stable_ids(run: Run, timeline: dict[str, Owner]) -> None:
    first = ok(run, "usage", "export", *RANGE, "--format", "csv")
    assert ok(run, "usage", "export", *RANGE, "--format", "csv") == first
    rows = list(csv.DictReader(io.StringIO(first)))
    assert len({r["id"] for r in rows}) == len(rows) == 2 * 4 + 2 + 2
    running = [r for r in rows if r["usagetypename"] == "running_vm"]
    assert [(r["usagetype"], r["startdate"], r["rawusage"]) for r in running] == [
        ("1", "2026-11-02T08:00:00Z", "0.5"),
        ("1", "2026-11-02T09:00:00Z", "0.75"),
    ]
    as_json = json.loads(ok(run, "usage", "export", *RANGE, "--format", "json"))
    assert [r["id"] for r in as_json] == [r["id"] for r in rows]


def test_apel_cloud_records_are_valid_for_caso(run: Run, timeline: dict[str, Owner]) -> None:
    message = ok(run, "usage", "export", *RANGE, "--format", "apel")
    assert message == ok(run, "usage", "export", *RANGE, "--format", "apel")
    header, body = message.split("\n", 1)
    assert header == "APEL-cloud-message: v0.4"
    records = [
        dict(line.split(": ", 1) for line in chunk.strip().splitlines())
        for chunk in body.split("%%\n")
    ]
    assert len(records) == 1
    fields = records[0]
    assert fields["VMUUID"] == VM1 and fields["SiteName"] == "TEST-SITE"
    assert fields["Status"] == "completed"
    assert int(fields["EndTime"]) - int(fields["StartTime"]) == 115 * 60
    assert (fields["WallDuration"], fields["CpuDuration"], fields["CpuCount"]) == (
        str(75 * 60),
        str(2 * 75 * 60),
        "2",
    )
    # cASO's model takes every field (it forbids unknown ones) with its types.
    start = dt.datetime.fromtimestamp(int(fields.pop("StartTime")), dt.UTC)
    end = dt.datetime.fromtimestamp(int(fields.pop("EndTime")), dt.UTC)
    wall, cpu = int(fields.pop("WallDuration")), int(fields.pop("CpuDuration"))
    caso = CloudRecord(start, end, **fields)
    caso.wall_duration, caso.cpu_duration = wall, cpu
    rendered = dict(line.split(": ", 1) for line in caso.ssm_message().splitlines())
    assert rendered["VMUUID"] == VM1 and rendered["WallDuration"] == str(wall)
    assert rendered["Memory"] == "1024" and rendered["Status"] == "completed"
    # The root disk in whole GiB (rounded up), the image by its marketplace URI.
    assert (rendered["Disk"], rendered["ImageId"]) == ("11", MPURI)


def test_apel_public_ip_records_are_valid_for_caso(run: Run, timeline: dict[str, Owner]) -> None:
    message = json.loads(ok(run, "usage", "export", *RANGE, "--format", "apel-ip"))
    assert (message["Type"], message["Version"]) == ("APEL Public IP message", "0.2")
    [ip] = message["UsageRecords"]
    assert (ip["IPCount"], ip["IPVersion"], ip["LocalUser"]) == (1, 4, timeline["sales"].account_id)
    measured = dt.datetime.fromtimestamp(ip.pop("MeasurementTime"), dt.UTC)
    caso = IPRecord(measured, user_dn=None, **ip)
    assert json.loads(caso.ssm_message())["IPCount"] == 1
    again = json.loads(ok(run, "usage", "export", *RANGE, "--format", "apel-ip"))
    assert again["UsageRecords"][0]["uuid"] == ip["uuid"]


def test_bad_ranges_and_names_are_one_line_errors(run: Run, timeline: dict[str, Owner]) -> None:
    status, _, err = run("usage", "report", "--from", "2026-11-02", "--to", "2026-11-01")
    assert status == 1 and "after its start" in err
    status, _, err = run("usage", "report", "--domain", "ROOT/nowhere", *RANGE)
    assert status == 1 and "nowhere" in err
    with pytest.raises(SystemExit):
        main(["usage", "report", "--from", "yesterday", "--to", "2026-11-01"])


def test_apel_messages_are_queued_for_ssm_and_pushed_to_a_repository(
    run: Run, timeline: dict[str, Owner], tmp_path: Path
) -> None:
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from dirq.QueueSimple import QueueSimple  # type: ignore[import-untyped]

    from concord.app import make_app
    from concord.settings import Settings
    from engine.federation.accounting import AccountingRepository
    from engine.usage.apel import parse_cloud_message

    printed = ok(run, "usage", "export", *RANGE, "--format", "apel")
    # Into a directory queue, exactly as printed, where ssmsend reads it.
    outgoing = tmp_path / "outgoing"
    out = ok(run, "usage", "export", *RANGE, "--format", "apel", "--queue", str(outgoing))
    assert out == f"1 record(s) in 1 message(s) queued in {outgoing}\n"
    queue = QueueSimple(str(outgoing))
    (name,) = list(queue)
    assert queue.lock(name) and queue.get(name).decode("utf-8") == printed
    # The repository's reader gets back the exported figures, typed.
    (parsed,) = parse_cloud_message(printed)
    assert (parsed["VMUUID"], parsed["WallDuration"], parsed["CpuDuration"]) == (
        VM1,
        75 * 60,
        2 * 75 * 60,
    )
    assert parsed["EndTime"] - parsed["StartTime"] == 115 * 60

    # Pushed to a repository (this very site, trusting itself), then summarised.
    url = os.environ["CONCORD_DATABASE_URL"]
    database = Database(url)
    with database.transaction() as session:
        system = Scope.system(TenancyService(session).root())
        token = AccountingRepository(session).add_site(system, "TEST-SITE")
    settings = Settings.from_mapping(
        {"concord.accounting_repository": "true", "concord.embedded_worker": "false"},
        environ={"CONCORD_SERVER_KEY_FILE": TEST_SERVER_KEY_FILE},
    )

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, make_app(settings, database), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    intake = f"http://127.0.0.1:{server.server_port}/federation/accounting/records"
    try:
        status, _, err = run("usage", "export", *RANGE, "--format", "apel", "--push", intake)
        assert status == 1 and "--token" in err
        status, _, err = run(
            "usage", "export", *RANGE, "--format", "apel", "--push", intake, "--token", "wrong"
        )
        assert status == 1 and "401" in err
        pushed = ok(
            run, "usage", "export", *RANGE, "--format", "apel", "--push", intake, "--token", token
        )
        assert pushed == f"1 record(s) in 1 message(s) pushed to {intake}\n"
        ok(run, "usage", "export", *RANGE, "--format", "apel", "--push", intake, "--token", token)
    finally:
        server.shutdown()
        server.server_close()
        database.dispose()
    summary = json.loads(ok(run, "federation", "accounting", "summary", "--format", "json"))
    assert [
        (r["site"], r["month"], r["image_id"], r["vms"], r["wall_duration"], r["cpu_duration"])
        for r in summary["summary"]
    ] == [("TEST-SITE", "2026-11", MPURI, 1, 75 * 60, 2 * 75 * 60)]
    status, _, err = run("usage", "export", *RANGE, "--format", "csv", "--queue", str(outgoing))
    assert status == 1 and "--format apel" in err
