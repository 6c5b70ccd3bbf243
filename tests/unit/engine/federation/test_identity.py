"""Federated sign-in: users are created once, and the trust model holds whatever the rules say."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engine.db import Database
from engine.errors import AlreadyExists, AuthenticationFailed, InvalidInput, PermissionDenied
from engine.federation.identity import FederatedIdentityService
from engine.federation.models import FederatedIdentity, MappingRule, TrustedIssuer
from engine.scope import Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import ProjectMember, User
from engine.tenancy.service import TenancyService

ISSUER = "https://aai.example.org/oidc"


def _rule(account: str = "{vo}", project: str | None = "{vo}", **local: str) -> dict[str, Any]:
    return {
        "remote": [{"claim": "sub"}, {"claim": "entitlement", "regex": "vo:(?P<vo>[a-z-]+)"}],
        "local": {
            "domain": "ROOT/acme",
            "account": account,
            **({"project": project} if project else {}),
            **local,
        },
    }


@pytest.fixture
def federated(database: Database, tenancy: Any) -> Database:
    """acme trusts one issuer; the rule maps vo:<name> to account and project <name>."""
    with database.transaction() as session:
        service = FederatedIdentityService(session)
        service.add_issuer(tenancy.root, "aai", ISSUER, "concord")
        service.set_mapping(tenancy.root, {"rules": [_rule()]})
        alice = CredentialService(session).scope_for_user_id(tenancy.ids["alice"])
        TenancyService(session).create_project(alice, "dev")
    return database


def _sign_in(database: Database, claims: dict[str, Any]) -> Scope:
    with database.transaction() as session:
        service = FederatedIdentityService(session)
        issuer = service.issuer_at(ISSUER)
        assert issuer is not None
        return service.sign_in(issuer, claims)


def _counts(database: Database) -> tuple[int, int, int]:
    with database.transaction() as session:
        return (
            session.scalar(sa.select(sa.func.count()).select_from(User)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(FederatedIdentity)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(ProjectMember)) or 0,
        )


def test_the_first_sign_in_creates_the_user_and_the_next_ones_find_it(
    federated: Database, tenancy: Any
) -> None:
    before = _counts(federated)
    scope = _sign_in(federated, {"sub": "s-1", "entitlement": ["vo:dev"]})
    assert (scope.username, scope.account_id) == ("s-1@aai", tenancy.ids["dev"])
    assert len(scope.project_ids) == 1
    assert _counts(federated) == (before[0] + 1, before[1] + 1, before[2] + 1)
    again = _sign_in(federated, {"sub": "s-1", "entitlement": ["vo:dev"]})
    assert again == scope
    assert _counts(federated) == (before[0] + 1, before[1] + 1, before[2] + 1)


@pytest.mark.parametrize(
    "claims",
    [
        {"entitlement": ["vo:dev"]},  # no sub
        {"sub": "", "entitlement": ["vo:dev"]},
        {"sub": "x" * 256, "entitlement": ["vo:dev"]},
        {"sub": "s-2"},  # no entitlement: no rule matches
        {"sub": "s-2", "entitlement": ["vo:nosuch"]},  # an account that does not exist
        {"sub": "s-2", "entitlement": ["vo:acme-admins"]},  # an administrators' account
    ],
)
def test_refused_sign_ins_create_nothing(federated: Database, claims: dict[str, Any]) -> None:
    before = _counts(federated)
    with pytest.raises(AuthenticationFailed):
        _sign_in(federated, claims)
    assert _counts(federated) == before


def test_a_rule_cannot_take_over_a_local_user(federated: Database, tenancy: Any) -> None:
    with federated.transaction() as session:
        FederatedIdentityService(session).set_mapping(
            tenancy.root, {"rules": [_rule(user="{sub}")]}
        )
    before = _counts(federated)
    with pytest.raises(AuthenticationFailed):
        _sign_in(federated, {"sub": "alice", "entitlement": ["vo:dev"]})
    assert _counts(federated) == before


def test_a_known_subject_cannot_be_moved_to_another_account(federated: Database) -> None:
    _sign_in(federated, {"sub": "s-3", "entitlement": ["vo:dev"]})
    with pytest.raises(AuthenticationFailed):
        _sign_in(federated, {"sub": "s-3", "entitlement": ["vo:ops"]})


def test_a_project_the_rule_names_must_exist(federated: Database, tenancy: Any) -> None:
    with federated.transaction() as session:
        FederatedIdentityService(session).set_mapping(
            tenancy.root, {"rules": [_rule(account="dev", project="{vo}")]}
        )
    before = _counts(federated)
    with pytest.raises(AuthenticationFailed):
        _sign_in(federated, {"sub": "s-4", "entitlement": ["vo:research"]})
    assert _counts(federated) == before
    scope = _sign_in(federated, {"sub": "s-4", "entitlement": ["vo:dev"]})
    assert len(scope.project_ids) == 1


def test_without_rules_nobody_signs_in(federated: Database, tenancy: Any) -> None:
    with federated.transaction() as session:
        FederatedIdentityService(session).set_mapping(tenancy.root, {"rules": []})
        assert session.scalar(sa.select(sa.func.count()).select_from(MappingRule)) == 0
    with pytest.raises(AuthenticationFailed):
        _sign_in(federated, {"sub": "s-5", "entitlement": ["vo:dev"]})


def test_an_invalid_mapping_changes_nothing(federated: Database, tenancy: Any) -> None:
    with pytest.raises(InvalidInput), federated.transaction() as session:
        FederatedIdentityService(session).set_mapping(tenancy.root, {"rules": [{"remote": []}]})
    assert _sign_in(federated, {"sub": "s-6", "entitlement": ["vo:dev"]}).username == "s-6@aai"


def test_only_root_administrators_manage_issuers_and_rules(
    federated: Database, tenancy: Any
) -> None:
    with federated.transaction() as session:
        scope = CredentialService(session).scope_for_user_id(tenancy.ids["acmeadmin"])
        service = FederatedIdentityService(session)
        with pytest.raises(PermissionDenied):
            service.add_issuer(scope, "evil", "https://evil.example", "concord")
        with pytest.raises(PermissionDenied):
            service.set_mapping(scope, {"rules": []})
        with pytest.raises(PermissionDenied):
            service.list_issuers(scope)


def test_issuers_are_unique_by_name_and_url_and_their_urls_are_http(
    federated: Database, tenancy: Any
) -> None:
    with federated.transaction() as session:
        service = FederatedIdentityService(session)
        with pytest.raises(AlreadyExists):
            service.add_issuer(tenancy.root, "aai", "https://other.example", "concord")
        with pytest.raises(AlreadyExists):
            service.add_issuer(tenancy.root, "aai2", ISSUER, "concord")
        with pytest.raises(InvalidInput):
            service.add_issuer(tenancy.root, "file", "file:///etc/passwd", "concord")
        with pytest.raises(InvalidInput):
            service.add_issuer(tenancy.root, "noaud", "https://x.example", "")
        service.remove_issuer(tenancy.root, "aai")
        assert session.scalar(sa.select(sa.func.count()).select_from(TrustedIssuer)) == 0
