"""Monitoring's records: health derived from probes, bounded history, health over documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import TEST_SERVER_KEYS

from engine.db import Database
from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.federation.models import EndpointCheck, FederationMember
from engine.federation.monitoring import (
    HISTORY,
    MonitorService,
    ProbeOutcome,
    derive_health,
    protocol_of,
)
from engine.federation.registry import RegistryService
from engine.tenancy.credentials import CredentialService

OCCI = "eu.egi.cloud.vm-management.occi"
CIMI = "org.dmtf.cimi"
T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)

DOCUMENT = {
    "CloudComputingService": [{"ID": "s", "Name": "alpha"}],
    "CloudComputingEndpoint": [
        {"ID": "o", "InterfaceName": OCCI, "URL": "https://alpha/", "HealthState": "ok"},
        {"ID": "c", "InterfaceName": CIMI, "URL": "https://alpha/cimi/cloudEntryPoint"},
        {"ID": "k", "InterfaceName": "org.openstack.identity", "URL": "https://alpha/keystone"},
        {"ID": "x", "InterfaceName": "eu.example.occi", "URL": "file:///etc/passwd"},
    ],
}


@pytest.mark.parametrize(
    ("outcome", "health", "reason"),
    [
        (ProbeOutcome(error="boom"), "unknown", "the probe could not run: boom"),
        (
            ProbeOutcome(unreachable="connection refused", must_failed=1),
            "critical",
            "the endpoint does not answer: connection refused",
        ),
        (
            ProbeOutcome(must_passed=5, must_failed=2, must_failures=("A (x)", "B (y)", "C")),
            "critical",
            "2 MUST requirement(s) failed: A (x); B (y)",
        ),
        (
            ProbeOutcome(must_skipped=9, skip_reason="the server requires credentials"),
            "unknown",
            "no MUST requirement could be checked: the server requires credentials",
        ),
        (
            ProbeOutcome(must_passed=3, should_failed=1, should_failures=("S (no os_tpl)",)),
            "warning",
            "1 SHOULD requirement(s) failed: S (no os_tpl)",
        ),
        (
            ProbeOutcome(must_passed=3, must_skipped=4),
            "ok",
            "3 MUST requirement(s) passed, 4 skipped (read-only profile)",
        ),
    ],
)
def test_health_is_derived_from_the_requirements_judged(
    outcome: ProbeOutcome, health: str, reason: str
) -> None:
    assert derive_health(outcome) == (health, reason)


def test_only_occi_and_cimi_interfaces_are_probed() -> None:
    assert [protocol_of(n) for n in (OCCI, CIMI, "OCCI", "org.openstack.nova", "occix")] == [
        "occi",
        "cimi",
        "occi",
        None,
        None,
    ]


def _member(session: Any, root: Any, document: Any = DOCUMENT) -> MonitorService:
    registry = RegistryService(session, TEST_SERVER_KEYS)
    registry.add_member(root, "alpha", "https://alpha/federation/glue")
    if document is not None:
        registry.record("alpha", document)
    return MonitorService(session, TEST_SERVER_KEYS)


def test_probe_credentials_are_sealed_and_given_only_to_the_probe(
    database: Database, tenancy: Any
) -> None:
    with database.transaction() as session:
        monitor = _member(session, tenancy.root)
        monitor.set_credentials(tenancy.root, "alpha", "basic", "probe", "s3cret")
        stored = session.scalars(sa.select(FederationMember)).one()
        assert stored.sealed_monitor_secret and "s3cret" not in stored.sealed_monitor_secret
        targets = monitor.targets()
        # Only OCCI and CIMI endpoints with http(s) URLs are probed.
        assert [(t.interface, t.protocol, t.url) for t in targets] == [
            (OCCI, "occi", "https://alpha/"),
            (CIMI, "cimi", "https://alpha/cimi/cloudEntryPoint"),
        ]
        assert {(t.auth, t.user, t.secret) for t in targets} == {("basic", "probe", "s3cret")}
        assert "s3cret" not in repr(targets)
        monitor.set_credentials(tenancy.root, "alpha", None, None, None)
        assert {(t.auth, t.secret) for t in monitor.targets(["alpha"])} == {(None, None)}
        with pytest.raises(InvalidInput):
            monitor.set_credentials(tenancy.root, "alpha", "kerberos", "probe", "x")
        with pytest.raises(InvalidInput):
            monitor.set_credentials(tenancy.root, "alpha", "basic", "probe", "")
        with pytest.raises(NotFound):
            monitor.targets(["nobody"])
        alice = CredentialService(session).scope_for_user_id(tenancy.ids["alice"])
        with pytest.raises(PermissionDenied):
            monitor.set_credentials(alice, "alpha", "basic", "alice", "alice-password")
        with pytest.raises(PermissionDenied):
            monitor.status(alice)
        with pytest.raises(PermissionDenied):
            monitor.documents_with_health(alice)


def test_history_is_bounded_per_endpoint_and_the_latest_wins(
    database: Database, tenancy: Any
) -> None:
    with database.transaction() as session:
        monitor = _member(session, tenancy.root)
        occi, cimi = monitor.targets()
        monitor.record(cimi, ProbeOutcome(must_passed=1), T0)
        last = HISTORY + 4
        for minute in range(last + 1):  # only the last probe finds a MUST failing
            outcome = ProbeOutcome(must_passed=1, must_failed=int(minute == last))
            monitor.record(occi, outcome, T0 + dt.timedelta(minutes=minute))
    with database.transaction() as session:
        counts = dict(
            session.execute(
                sa.select(EndpointCheck.interface, sa.func.count()).group_by(
                    EndpointCheck.interface
                )
            ).all()
        )
        assert counts == {OCCI: HISTORY, CIMI: 1}
        oldest = session.scalar(
            sa.select(sa.func.min(EndpointCheck.checked)).where(EndpointCheck.interface == OCCI)
        )
        assert oldest == T0 + dt.timedelta(minutes=5)
        monitor = MonitorService(session, TEST_SERVER_KEYS)
        rows = {s.interface: s for s in monitor.status(tenancy.root)}
        assert (rows[OCCI].health, rows[OCCI].checked) == (
            "critical",
            T0 + dt.timedelta(minutes=last),
        )
        assert rows[OCCI].counts == (1, 1, 0, 0)
        assert rows[CIMI].health == "ok"
        assert [c.interface for c in monitor.history(tenancy.root, "alpha", limit=2)] == [OCCI] * 2


def test_the_documents_carry_the_registry_s_view_of_each_probed_endpoint(
    database: Database, tenancy: Any
) -> None:
    with database.transaction() as session:
        monitor = _member(session, tenancy.root)
        occi, _cimi = monitor.targets()
        monitor.record(occi, ProbeOutcome(unreachable="connection refused"), T0)
        ((member, document),) = monitor.documents_with_health(tenancy.root)
        health = {
            e["InterfaceName"]: (e.get("HealthState"), e.get("HealthStateInfo"))
            for e in document["CloudComputingEndpoint"]
        }
        assert health[OCCI] == ("critical", "the endpoint does not answer: connection refused")
        assert health[CIMI] == (None, None)  # not probed yet: as the member published it
        # The member's own copy is unchanged.
        assert member.document["CloudComputingEndpoint"][0]["HealthState"] == "ok"
        rows = {s.interface: (s.health, s.reason) for s in monitor.status(tenancy.root)}
        assert rows[CIMI] == ("unknown", "not probed yet")


def test_a_member_without_a_document_is_unknown(database: Database, tenancy: Any) -> None:
    with database.transaction() as session:
        monitor = _member(session, tenancy.root, document=None)
        RegistryService(session, TEST_SERVER_KEYS).record("alpha", error="refused")
        assert monitor.targets() == []
        ((row),) = monitor.status(tenancy.root)
        assert (row.member, row.interface, row.health, row.reason) == (
            "alpha",
            "-",
            "unknown",
            "refused",
        )
        assert monitor.documents_with_health(tenancy.root) == []
