"""Resource limits: defaults, explicit and inherited limits, atomic charging, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import InvalidInput, NotFound, PermissionDenied, QuotaExceeded
from engine.scope import Owner, Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import UNLIMITED, AccountType, LimitOwner, ResourceType
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quota_models import ResourceCount
from engine.tenancy.quotas import DEFAULT_ACCOUNT_LIMITS, DEFAULT_PROJECT_LIMITS, QuotaService
from engine.tenancy.service import TenancyService

R = ResourceType
ACCOUNT, DOMAIN, PROJECT = LimitOwner.ACCOUNT, LimitOwner.DOMAIN, LimitOwner.PROJECT


@pytest.fixture
def session(database: Database, tenancy: object) -> Iterator[Session]:
    with database.session() as session:
        yield session
        session.rollback()


@pytest.fixture
def quotas(session: Session) -> QuotaService:
    return QuotaService(session)


def scope_of(session: Session, hasher: PasswordHasher, username: str) -> Scope:
    return CredentialService(session, hasher).authenticate_password(
        username, f"{username}-password"
    )


def used(session: Session, kind: LimitOwner, owner_id: str, rt: ResourceType) -> int:
    value = session.scalar(
        sa.select(ResourceCount.used).where(
            ResourceCount.owner_kind == kind,
            ResourceCount.owner_id == owner_id,
            ResourceCount.resource_type == rt,
        )
    )
    return int(value or 0)


def alice_owner(tenancy) -> Owner:
    return Owner(tenancy.ids["dev"], None, tenancy.ids["acme"])


# -- limits ----------------------------------------------------------------------------


def test_defaults(quotas: QuotaService, tenancy) -> None:
    for rt in ResourceType:
        assert (
            quotas.effective_limit(ACCOUNT, tenancy.ids["dev"], rt) == (DEFAULT_ACCOUNT_LIMITS[rt])
        )
        assert quotas.effective_limit(PROJECT, "any-project", rt) == DEFAULT_PROJECT_LIMITS[rt]
        assert quotas.effective_limit(DOMAIN, tenancy.ids["acme"], rt) == UNLIMITED
        assert quotas.effective_limit(DOMAIN, tenancy.ids["ROOT"], rt) == UNLIMITED
    assert DEFAULT_ACCOUNT_LIMITS[R.INSTANCES] == 20  # CloudStack's defaults
    assert DEFAULT_PROJECT_LIMITS[R.PROJECTS] == 0  # projects hold no projects


def test_explicit_limits(quotas: QuotaService, tenancy) -> None:
    limit = quotas.set_limit(tenancy.root, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, 3)
    assert limit.maximum == 3
    assert quotas.effective_limit(ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 3
    assert quotas.effective_limit(ACCOUNT, tenancy.ids["ops"], R.INSTANCES) == 20
    assert quotas.effective_limit(ACCOUNT, tenancy.ids["dev"], R.CPU) == 40
    again = quotas.set_limit(tenancy.root, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, UNLIMITED)
    assert again.id == limit.id  # updated in place, not duplicated
    assert quotas.effective_limit(ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == UNLIMITED
    with pytest.raises(InvalidInput):
        quotas.set_limit(tenancy.root, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, -2)
    with pytest.raises(NotFound):
        quotas.set_limit(tenancy.root, ACCOUNT, "no-such-account", R.INSTANCES, 1)


def test_domain_limits_are_inherited(quotas: QuotaService, session, tenancy) -> None:
    lab = TenancyService(session).create_domain(tenancy.root, "lab", tenancy.ids["acme"])
    bench = TenancyService(session).create_domain(tenancy.root, "bench", lab.id)
    quotas.set_limit(tenancy.root, DOMAIN, tenancy.ids["acme"], R.INSTANCES, 7)
    assert quotas.effective_limit(DOMAIN, bench.id, R.INSTANCES) == 7
    quotas.set_limit(tenancy.root, DOMAIN, lab.id, R.INSTANCES, 4)
    assert quotas.effective_limit(DOMAIN, bench.id, R.INSTANCES) == 4  # the nearest wins
    assert quotas.effective_limit(DOMAIN, tenancy.ids["globex"], R.INSTANCES) == UNLIMITED


def test_root_is_never_limited(quotas: QuotaService, session, tenancy) -> None:
    with pytest.raises(InvalidInput):
        quotas.set_limit(tenancy.root, DOMAIN, tenancy.ids["ROOT"], R.INSTANCES, 1)
    # An account of ROOT is charged to itself only.
    admins = TenancyService(session).get_user(tenancy.root, tenancy.ids["admin"]).account_id
    quotas.set_limit(tenancy.root, ACCOUNT, admins, R.INSTANCES, UNLIMITED)
    quotas.charge(Owner(admins, None, tenancy.ids["ROOT"]), {R.INSTANCES: 1000})
    assert used(session, ACCOUNT, admins, R.INSTANCES) == 1000
    assert used(session, DOMAIN, tenancy.ids["ROOT"], R.INSTANCES) == 0


def test_a_domain_limit_applies_to_its_accounts(quotas: QuotaService, session, tenancy) -> None:
    quotas.set_limit(tenancy.root, DOMAIN, tenancy.ids["acme"], R.INSTANCES, 3)
    bob = Owner(tenancy.ids["ops"], None, tenancy.ids["acme"])
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 2})
    quotas.charge(bob, {R.INSTANCES: 1})
    with pytest.raises(QuotaExceeded) as caught:
        quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1})
    assert caught.value.details["owner_kind"] == "domain"
    assert caught.value.details["limit"] == 3
    assert used(session, ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 2  # nothing counted
    assert used(session, DOMAIN, tenancy.ids["acme"], R.INSTANCES) == 3
    # Another domain is unaffected.
    quotas.charge(Owner(tenancy.ids["sales"], None, tenancy.ids["globex"]), {R.INSTANCES: 5})


def test_a_subdomain_account_is_bound_by_every_ancestor(
    quotas: QuotaService, session, tenancy
) -> None:
    lab = TenancyService(session).create_domain(tenancy.root, "lab", tenancy.ids["acme"])
    research = TenancyService(session).create_account(
        tenancy.root, "research", lab.id, AccountType.USER
    )
    quotas.set_limit(tenancy.root, DOMAIN, tenancy.ids["acme"], R.CPU, 10)
    owner = Owner(research.id, None, lab.id)
    quotas.charge(owner, {R.CPU: 10})
    assert used(session, DOMAIN, lab.id, R.CPU) == 10
    assert used(session, DOMAIN, tenancy.ids["acme"], R.CPU) == 10
    with pytest.raises(QuotaExceeded):
        quotas.charge(alice_owner(tenancy), {R.CPU: 1})


# -- charging --------------------------------------------------------------------------


def test_charge_up_to_the_limit_and_not_beyond(quotas: QuotaService, session, tenancy) -> None:
    quotas.set_limit(tenancy.root, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, 3)
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 2})
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1})
    with pytest.raises(QuotaExceeded) as caught:
        quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1})
    assert caught.value.details == {
        "owner_kind": "account",
        "resource_type": "instances",
        "limit": 3,
        "used": 3,
        "requested": 1,
    }
    assert used(session, ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 3
    assert used(session, DOMAIN, tenancy.ids["acme"], R.INSTANCES) == 3
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 0, R.CPU: -5})  # nothing to count
    assert used(session, ACCOUNT, tenancy.ids["dev"], R.CPU) == 0


def test_a_refused_charge_counts_nothing(quotas: QuotaService, session, tenancy) -> None:
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1, R.MEMORY: 1024})
    # CPU would pass the default limit of 40: neither the instance nor the memory
    # charged before it in the same call may stay counted, anywhere in the chain.
    with pytest.raises(QuotaExceeded):
        quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1, R.MEMORY: 512, R.CPU: 41})
    for kind, owner_id in ((ACCOUNT, tenancy.ids["dev"]), (DOMAIN, tenancy.ids["acme"])):
        assert used(session, kind, owner_id, R.INSTANCES) == 1
        assert used(session, kind, owner_id, R.MEMORY) == 1024
        assert used(session, kind, owner_id, R.CPU) == 0


def test_a_refused_charge_leaves_the_transaction_usable(database: Database, tenancy) -> None:
    with database.transaction() as session:
        quotas = QuotaService(session)
        quotas.charge(alice_owner(tenancy), {R.INSTANCES: 2})
        with pytest.raises(QuotaExceeded):
            quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1, R.CPU: 1000})
        quotas.charge(alice_owner(tenancy), {R.CPU: 4})
    with database.session() as session:
        assert used(session, ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 2
        assert used(session, ACCOUNT, tenancy.ids["dev"], R.CPU) == 4
        assert used(session, DOMAIN, tenancy.ids["acme"], R.CPU) == 4


def test_release_never_goes_below_zero(quotas: QuotaService, session, tenancy) -> None:
    quotas.set_limit(tenancy.root, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, 2)
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 2})
    quotas.release(alice_owner(tenancy), {R.INSTANCES: 1})
    assert used(session, ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 1
    quotas.release(alice_owner(tenancy), {R.INSTANCES: 5})
    assert used(session, ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 0
    assert used(session, DOMAIN, tenancy.ids["acme"], R.INSTANCES) == 0
    quotas.release(alice_owner(tenancy), {R.VOLUMES: 3})  # never charged: stays at zero
    assert used(session, ACCOUNT, tenancy.ids["dev"], R.VOLUMES) == 0
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 2})  # the full limit is usable again
    with pytest.raises(QuotaExceeded):
        quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1})


def test_project_charges_replace_account_charges(
    quotas: QuotaService, session, hasher, tenancy
) -> None:
    project = TenancyService(session, hasher).create_project(
        scope_of(session, hasher, "alice"), "apollo"
    )
    owner = Owner(tenancy.ids["dev"], project.id, tenancy.ids["acme"])
    quotas.set_limit(tenancy.root, PROJECT, project.id, R.INSTANCES, 2)
    quotas.charge(owner, {R.INSTANCES: 2})
    assert used(session, PROJECT, project.id, R.INSTANCES) == 2
    assert used(session, ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 0
    assert used(session, DOMAIN, tenancy.ids["acme"], R.INSTANCES) == 2
    with pytest.raises(QuotaExceeded) as caught:
        quotas.charge(owner, {R.INSTANCES: 1})
    assert caught.value.details["owner_kind"] == "project"
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 1})  # alice's own account is separate
    with pytest.raises(QuotaExceeded):  # projects create no projects by default
        quotas.charge(owner, {R.PROJECTS: 1})


def test_usage_report(quotas: QuotaService, session, hasher, tenancy) -> None:
    quotas.charge(alice_owner(tenancy), {R.INSTANCES: 2})
    alice = scope_of(session, hasher, "alice")
    report = {u.resource_type: u for u in quotas.usage(alice, ACCOUNT, tenancy.ids["dev"])}
    assert set(report) == set(ResourceType)
    assert (report[R.INSTANCES].maximum, report[R.INSTANCES].used) == (20, 2)
    acme = quotas.usage(scope_of(session, hasher, "acmeadmin"), DOMAIN, tenancy.ids["acme"])
    assert {u.resource_type: u.used for u in acme}[R.INSTANCES] == 2
    for who, kind, owner_id in (
        ("alice", ACCOUNT, tenancy.ids["ops"]),
        ("alice", DOMAIN, tenancy.ids["globex"]),
        ("acmeadmin", ACCOUNT, tenancy.ids["sales"]),
        ("acmeadmin", DOMAIN, tenancy.ids["globex"]),
        ("acmeadmin", DOMAIN, tenancy.ids["ROOT"]),
        ("carol", PROJECT, "no-such-project"),
    ):
        with pytest.raises(NotFound):
            quotas.usage(scope_of(session, hasher, who), kind, owner_id)


# -- who sets limits -------------------------------------------------------------------


def test_a_domain_admin_cannot_raise_its_own_ceiling(
    quotas: QuotaService, session, hasher, tenancy
) -> None:
    acmeadmin = scope_of(session, hasher, "acmeadmin")
    with pytest.raises(PermissionDenied):
        quotas.set_limit(acmeadmin, DOMAIN, tenancy.ids["acme"], R.INSTANCES, 1000)
    assert quotas.effective_limit(DOMAIN, tenancy.ids["acme"], R.INSTANCES) == UNLIMITED
    quotas.set_limit(tenancy.root, DOMAIN, tenancy.ids["acme"], R.INSTANCES, 10)
    assert quotas.effective_limit(DOMAIN, tenancy.ids["acme"], R.INSTANCES) == 10
    root = scope_of(session, hasher, "admin")
    quotas.set_limit(root, DOMAIN, tenancy.ids["acme"], R.INSTANCES, 1000)
    assert quotas.effective_limit(DOMAIN, tenancy.ids["acme"], R.INSTANCES) == 1000
    # Below itself, the domain administrator governs.
    lab = TenancyService(session).create_domain(acmeadmin, "lab")
    quotas.set_limit(acmeadmin, DOMAIN, lab.id, R.INSTANCES, 5)
    quotas.set_limit(acmeadmin, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, 5)
    assert quotas.effective_limit(ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == 5


def test_users_set_no_limits(quotas: QuotaService, session, hasher, tenancy) -> None:
    alice = scope_of(session, hasher, "alice")
    with pytest.raises(PermissionDenied):
        quotas.set_limit(alice, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, 1000)


def test_limits_of_invisible_owners_are_not_found(
    quotas: QuotaService, session, hasher, tenancy
) -> None:
    """Another tenant's owner is a 404, never a 403 (DESIGN.md)."""
    for who, kind, target in (
        ("acmeadmin", DOMAIN, "globex"),
        ("acmeadmin", ACCOUNT, "sales"),
        ("alice", ACCOUNT, "ops"),
        ("carol", DOMAIN, "acme"),
    ):
        with pytest.raises(NotFound):
            quotas.set_limit(scope_of(session, hasher, who), kind, tenancy.ids[target], R.CPU, 1)


# -- concurrency -----------------------------------------------------------------------


def race(database: Database, owner: Owner, threads: int) -> list[str]:
    """Charge one instance to ``owner`` from ``threads`` threads at once, each in its own
    transaction; return each outcome: "ok", "refused" or the unexpected error."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one_request() -> None:
        try:
            barrier.wait(timeout=30)
            with database.transaction() as session:
                QuotaService(session).charge(owner, {R.INSTANCES: 1})
            outcome = "ok"
        except QuotaExceeded:
            outcome = "refused"
        except Exception as exc:
            outcome = f"error: {type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=one_request) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(outcomes) == threads
    return outcomes


def _needs_a_server(database: Database) -> None:
    if database.dialect == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs a server back-end (MariaDB)")


def test_concurrent_charges_never_pass_the_limit(database: Database, tenancy) -> None:
    _needs_a_server(database)
    with database.transaction() as session:
        QuotaService(session).set_limit(tenancy.root, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, 5)
    outcomes = race(database, alice_owner(tenancy), 12)
    assert outcomes.count("ok") <= 5
    with database.session() as session:
        assert used(session, ACCOUNT, tenancy.ids["dev"], R.INSTANCES) == outcomes.count("ok")
        assert used(session, DOMAIN, tenancy.ids["acme"], R.INSTANCES) == outcomes.count("ok")
    # Every request got an answer a client can act on: granted or over quota.
    assert sorted(set(outcomes)) == ["ok", "refused"], outcomes
    assert outcomes.count("ok") == 5


def test_concurrent_refused_charges_are_all_quota_exceeded(database: Database, tenancy) -> None:
    """When the first charge of a new counter is refused, its rollback must not leave the
    transactions queued behind it deadlocked (a 500 instead of a 403 for the client)."""
    _needs_a_server(database)
    with database.transaction() as session:
        QuotaService(session).set_limit(tenancy.root, ACCOUNT, tenancy.ids["dev"], R.INSTANCES, 0)
    outcomes = race(database, alice_owner(tenancy), 12)
    assert set(outcomes) == {"refused"}, [o for o in outcomes if o != "refused"][:2]


def test_projects_are_charged_to_the_creating_account(database, tenancy, hasher) -> None:
    from engine.errors import QuotaExceeded
    from engine.tenancy.credentials import CredentialService
    from engine.tenancy.models import LimitOwner, ResourceType
    from engine.tenancy.quotas import QuotaService
    from engine.tenancy.service import TenancyService

    with database.transaction() as session:
        QuotaService(session).set_limit(
            tenancy.root, LimitOwner.ACCOUNT, tenancy.ids["dev"], ResourceType.PROJECTS, 1
        )
    with database.transaction() as session:
        alice = CredentialService(session, hasher).scope_for_user_id(tenancy.ids["alice"])
        TenancyService(session, hasher).create_project(alice, "first")
    with pytest.raises(QuotaExceeded), database.transaction() as session:
        alice = CredentialService(session, hasher).scope_for_user_id(tenancy.ids["alice"])
        TenancyService(session, hasher).create_project(alice, "second")
    with database.transaction() as session:
        usage = {
            u.resource_type: u.used
            for u in QuotaService(session).usage(
                tenancy.root, LimitOwner.ACCOUNT, tenancy.ids["dev"]
            )
        }
        names = [p.name for p in TenancyService(session, hasher).list_projects(tenancy.root)]
    assert usage[ResourceType.PROJECTS] == 1
    assert names == ["first"]


def test_a_counter_an_older_owner_lacks_is_made_on_its_first_charge(
    session: Session, quotas: QuotaService, tenancy
) -> None:
    # Owners get every counter when they are created; a resource type added
    # later has none for them until it is first charged.
    dev = tenancy.ids["dev"]
    session.execute(
        sa.delete(ResourceCount).where(
            ResourceCount.owner_id == dev, ResourceCount.resource_type == R.SNAPSHOTS
        )
    )
    quotas.set_limit(tenancy.root, ACCOUNT, dev, R.SNAPSHOTS, 3)
    quotas.charge(alice_owner(tenancy), {R.SNAPSHOTS: 2})
    assert used(session, ACCOUNT, dev, R.SNAPSHOTS) == 2
    with pytest.raises(QuotaExceeded) as refused:
        quotas.charge(alice_owner(tenancy), {R.SNAPSHOTS: 2})
    assert (refused.value.details["used"], refused.value.details["limit"]) == (2, 3)
    assert used(session, ACCOUNT, dev, R.SNAPSHOTS) == 2
