"""Tenancy administration: the domain tree, visibility, permissions, projects and names.

Runs on SQLite and MariaDB over the seeded cloud of ``tests/conftest.py``:
ROOT (admin), acme (acmeadmin, alice in dev, bob in ops), globex (carol).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from engine.naming import check_name
from engine.scope import Role, Scope
from engine.tenancy.credentials import CredentialService
from engine.tenancy.models import (
    AccountType,
    LimitOwner,
    ProjectRole,
    ResourceLimit,
    ResourceType,
    TenantState,
)
from engine.tenancy.passwords import PasswordHasher
from engine.tenancy.quota_models import ResourceCount
from engine.tenancy.quotas import QuotaService
from engine.tenancy.service import TenancyService

ScopeOf = Callable[[str], Scope]


@pytest.fixture
def session(database: Database, tenancy: object) -> Iterator[Session]:
    """A session over the seeded cloud; whatever a test changes is rolled back."""
    with database.session() as session:
        yield session
        session.rollback()


@pytest.fixture
def service(session: Session, hasher: PasswordHasher) -> TenancyService:
    return TenancyService(session, hasher)


@pytest.fixture
def scope_of(session: Session, hasher: PasswordHasher) -> ScopeOf:
    """The current scope of a seeded user (re-read: memberships change during tests)."""
    credentials = CredentialService(session, hasher)

    def scope_of(username: str) -> Scope:
        return credentials.authenticate_password(username, f"{username}-password")

    return scope_of


def admin_account_id(service: TenancyService, tenancy) -> str:
    """The id of the seeded ``admins`` account (the fixture records its user's id only)."""
    return service.get_user(tenancy.root, tenancy.ids["admin"]).account_id


# -- the domain tree -------------------------------------------------------------


def test_domain_paths_form_a_tree(service: TenancyService, tenancy, scope_of: ScopeOf) -> None:
    root = service.root()
    acme = service.get_domain(tenancy.root, tenancy.ids["acme"])
    assert root.path == f"/{root.id}/"
    assert acme.path == f"{root.path}{acme.id}/"
    assert acme.parent_id == root.id

    sub = service.create_domain(scope_of("acmeadmin"), "lab")  # default parent: own domain
    leaf = service.create_domain(tenancy.root, "bench", sub.id)
    assert sub.path == f"{acme.path}{sub.id}/"
    assert leaf.path == f"{sub.path}{leaf.id}/"
    assert service.domain_name_path(leaf) == "ROOT/acme/lab/bench"
    assert service.domain_name_path(root) == "ROOT"
    assert service.find_domain(tenancy.root, "ROOT/acme/lab/bench").id == leaf.id
    assert service.find_domain(tenancy.root, "acme/lab").id == sub.id
    assert service.find_domain(tenancy.root, "/acme/lab/").id == sub.id
    assert service.find_domain(tenancy.root, "ROOT").id == root.id
    with pytest.raises(NotFound):
        service.find_domain(tenancy.root, "acme/nope")


def test_ensure_root_is_idempotent(service: TenancyService, tenancy) -> None:
    assert service.ensure_root().id == tenancy.ids["ROOT"]
    assert service.ensure_root().id == tenancy.ids["ROOT"]
    assert len([d for d in service.list_domains(tenancy.root) if d.parent_id is None]) == 1


def test_root_is_not_found_before_init(database: Database, hasher: PasswordHasher) -> None:
    with database.session() as session, pytest.raises(NotFound):
        TenancyService(session, hasher).root()


# -- visibility --------------------------------------------------------------------


def test_root_admin_sees_everything(service: TenancyService, tenancy, scope_of) -> None:
    admin = scope_of("admin")
    assert admin.role is Role.ROOT_ADMIN
    assert {d.name for d in service.list_domains(admin)} == {"ROOT", "acme", "globex"}
    assert {a.name for a in service.list_accounts(admin)} == {
        "admins",
        "acme-admins",
        "dev",
        "ops",
        "sales",
    }
    assert {u.username for u in service.list_users(admin)} == {
        "admin",
        "acmeadmin",
        "alice",
        "bob",
        "carol",
    }
    assert service.get_user(admin, tenancy.ids["carol"]).username == "carol"
    assert service.get_domain(admin, tenancy.ids["globex"]).name == "globex"


def test_domain_admin_sees_its_subtree_only(service: TenancyService, tenancy, scope_of) -> None:
    acmeadmin = scope_of("acmeadmin")
    assert acmeadmin.role is Role.DOMAIN_ADMIN
    lab = service.create_domain(acmeadmin, "lab")
    assert {d.name for d in service.list_domains(acmeadmin)} == {"acme", "lab"}
    assert {a.name for a in service.list_accounts(acmeadmin)} == {"acme-admins", "dev", "ops"}
    assert {u.username for u in service.list_users(acmeadmin)} == {"acmeadmin", "alice", "bob"}
    assert service.get_domain(acmeadmin, lab.id).name == "lab"
    assert service.get_user(acmeadmin, tenancy.ids["bob"]).username == "bob"
    # Another tenant's objects and the ROOT above are NotFound, never PermissionDenied.
    for lookup in (
        lambda: service.get_domain(acmeadmin, tenancy.ids["globex"]),
        lambda: service.get_domain(acmeadmin, tenancy.ids["ROOT"]),
        lambda: service.find_domain(acmeadmin, "globex"),
        lambda: service.get_account(acmeadmin, tenancy.ids["sales"]),
        lambda: service.get_account(acmeadmin, admin_account_id(service, tenancy)),
        lambda: service.get_user(acmeadmin, tenancy.ids["carol"]),
        lambda: service.find_user(acmeadmin, "admin"),
        lambda: service.create_domain(acmeadmin, "x", tenancy.ids["globex"]),
        lambda: service.create_account(acmeadmin, "x", tenancy.ids["globex"], AccountType.USER),
        lambda: service.create_user(acmeadmin, tenancy.ids["sales"], "xavier", "password-x"),
    ):
        with pytest.raises(NotFound):
            lookup()


def test_user_sees_only_its_own_account(service: TenancyService, tenancy, scope_of) -> None:
    alice = scope_of("alice")
    assert alice.role is Role.USER
    assert [a.name for a in service.list_accounts(alice)] == ["dev"]
    assert [u.username for u in service.list_users(alice)] == ["alice"]
    assert service.get_account(alice, tenancy.ids["dev"]).name == "dev"
    assert service.find_user(alice, "alice").id == tenancy.ids["alice"]
    for lookup in (
        lambda: service.get_account(alice, tenancy.ids["ops"]),
        lambda: service.find_account(alice, tenancy.ids["acme"], "ops"),
        lambda: service.get_user(alice, tenancy.ids["bob"]),
        lambda: service.find_user(alice, "bob"),
        lambda: service.get_user(alice, tenancy.ids["carol"]),
        lambda: service.get_domain(alice, tenancy.ids["globex"]),
        lambda: service.get_user(alice, "no-such-id"),
    ):
        with pytest.raises(NotFound):
            lookup()


# -- who may create what -------------------------------------------------------------


def test_users_cannot_administer(service: TenancyService, tenancy, scope_of) -> None:
    alice = scope_of("alice")
    with pytest.raises(PermissionDenied):
        service.create_domain(alice, "mine")
    with pytest.raises(PermissionDenied):
        service.create_account(alice, "mine", tenancy.ids["acme"], AccountType.USER)
    with pytest.raises(PermissionDenied):
        service.create_user(alice, tenancy.ids["dev"], "alice2", "password-2")
    with pytest.raises(PermissionDenied):
        service.set_account_state(alice, tenancy.ids["dev"], TenantState.DISABLED)
    assert [d.name for d in service.list_domains(tenancy.root) if d.name == "mine"] == []


def test_domain_admin_creates_in_its_subtree(service: TenancyService, tenancy, scope_of) -> None:
    acmeadmin = scope_of("acmeadmin")
    lab = service.create_domain(acmeadmin, "lab")
    account = service.create_account(acmeadmin, "research", lab.id, AccountType.USER)
    deputy = service.create_account(acmeadmin, "lab-admins", lab.id, AccountType.DOMAIN_ADMIN)
    user = service.create_user(acmeadmin, account.id, "dave", "dave-password")
    assert user.account_id == account.id
    assert deputy.type is AccountType.DOMAIN_ADMIN
    with pytest.raises(PermissionDenied):  # its own domain is visible, its parent is not its
        service.delete_domain(acmeadmin, tenancy.ids["acme"])


def test_admin_accounts_only_in_root_and_only_by_root(
    service: TenancyService, tenancy, scope_of
) -> None:
    admin = scope_of("admin")
    with pytest.raises(InvalidInput):
        service.create_account(admin, "admins2", tenancy.ids["acme"], AccountType.ADMIN)
    with pytest.raises(InvalidInput):
        service.create_account(scope_of("acmeadmin"), "x", tenancy.ids["acme"], AccountType.ADMIN)
    # A domain administrator of ROOT itself still may not create root administrators.
    ops = service.create_account(admin, "root-ops", tenancy.ids["ROOT"], AccountType.DOMAIN_ADMIN)
    service.create_user(admin, ops.id, "rootops", "rootops-password")
    rootops = scope_of("rootops")
    assert rootops.role is Role.DOMAIN_ADMIN
    with pytest.raises(PermissionDenied):
        service.create_account(rootops, "admins2", tenancy.ids["ROOT"], AccountType.ADMIN)
    created = service.create_account(admin, "admins2", tenancy.ids["ROOT"], AccountType.ADMIN)
    assert created.type is AccountType.ADMIN


def test_domain_admin_of_root_cannot_become_root_admin(
    service: TenancyService, tenancy, scope_of
) -> None:
    """Creating a user in an admin account, or taking over a root administrator's
    password, would turn a domain administrator into a root administrator."""
    admin = scope_of("admin")
    ops = service.create_account(admin, "root-ops", tenancy.ids["ROOT"], AccountType.DOMAIN_ADMIN)
    service.create_user(admin, ops.id, "rootops", "rootops-password")
    rootops = scope_of("rootops")
    with pytest.raises((PermissionDenied, NotFound)):
        service.create_user(
            rootops, admin_account_id(service, tenancy), "mallory", "mallory-password"
        )
    with pytest.raises((PermissionDenied, NotFound)):
        service.set_password(rootops, tenancy.ids["admin"], "taken-over")


def test_set_account_state(service: TenancyService, tenancy, scope_of) -> None:
    acmeadmin = scope_of("acmeadmin")
    assert (
        service.set_account_state(acmeadmin, tenancy.ids["ops"], TenantState.DISABLED).state
        is TenantState.DISABLED
    )
    with pytest.raises(PermissionDenied):  # nobody disables itself
        service.set_account_state(acmeadmin, tenancy.ids["acme-admins"], TenantState.DISABLED)
    with pytest.raises(NotFound):
        service.set_account_state(acmeadmin, tenancy.ids["sales"], TenantState.DISABLED)


def test_passwords(service: TenancyService, tenancy, scope_of, session, hasher) -> None:
    alice = scope_of("alice")
    service.set_password(alice, tenancy.ids["alice"], "a-new-password")
    with pytest.raises(InvalidInput):
        service.set_password(alice, tenancy.ids["alice"], "short")
    with pytest.raises(NotFound):
        service.set_password(alice, tenancy.ids["bob"], "bobs-new-password")
    credentials = CredentialService(session, hasher)
    assert credentials.authenticate_password("alice", "a-new-password").username == "alice"
    passwordless = service.create_user(tenancy.root, tenancy.ids["dev"], "robot")
    assert passwordless.password_hash is None


# -- projects --------------------------------------------------------------------------


def test_project_creator_becomes_its_admin(service: TenancyService, tenancy, scope_of) -> None:
    project = service.create_project(scope_of("alice"), "apollo", "moonshot")
    assert project.owner_account_id == tenancy.ids["dev"]
    assert project.domain_id == tenancy.ids["acme"]
    alice = scope_of("alice")  # a new request: the scope now lists the project
    assert project.id in alice.project_ids
    members = service.members(alice, project.id)
    assert [(m.user_id, m.role) for m in members] == [(tenancy.ids["alice"], ProjectRole.ADMIN)]
    assert [p.name for p in service.list_projects(alice)] == ["apollo"]
    assert service.list_projects(scope_of("bob")) == []
    assert [p.name for p in service.list_projects(scope_of("acmeadmin"))] == ["apollo"]
    assert service.list_projects(scope_of("carol")) == []
    with pytest.raises(NotFound):
        service.get_project(scope_of("bob"), project.id)
    with pytest.raises(NotFound):
        service.get_project(scope_of("carol"), project.id)
    with pytest.raises(InvalidInput):  # the system scope is no user
        service.create_project(tenancy.root, "orphan")


def test_members_are_added_and_removed(service: TenancyService, tenancy, scope_of) -> None:
    project = service.create_project(scope_of("alice"), "apollo")
    alice = scope_of("alice")
    service.add_member(alice, project.id, tenancy.ids["bob"])
    bob = scope_of("bob")
    assert project.id in bob.project_ids
    assert service.get_project(bob, project.id).id == project.id
    with pytest.raises(PermissionDenied):  # a plain member manages nobody
        service.add_member(bob, project.id, tenancy.ids["acmeadmin"])
    with pytest.raises(PermissionDenied):
        service.remove_member(bob, project.id, tenancy.ids["alice"])
    with pytest.raises(NotFound):  # users of other domains cannot join
        service.add_member(alice, project.id, tenancy.ids["carol"])
    with pytest.raises(NotFound):
        service.add_member(alice, project.id, "no-such-user")
    service.remove_member(alice, project.id, tenancy.ids["bob"])
    assert project.id not in scope_of("bob").project_ids
    with pytest.raises(NotFound):
        service.remove_member(alice, project.id, tenancy.ids["bob"])
    # The domain administrator manages members without being one.
    service.add_member(scope_of("acmeadmin"), project.id, tenancy.ids["bob"], ProjectRole.ADMIN)
    assert {m.user_id: m.role for m in service.members(alice, project.id)} == {
        tenancy.ids["alice"]: ProjectRole.ADMIN,
        tenancy.ids["bob"]: ProjectRole.ADMIN,
    }


def test_the_last_admin_cannot_be_removed(service: TenancyService, tenancy, scope_of) -> None:
    project = service.create_project(scope_of("alice"), "apollo")
    alice = scope_of("alice")
    with pytest.raises(Conflict):
        service.remove_member(alice, project.id, tenancy.ids["alice"])
    service.add_member(alice, project.id, tenancy.ids["bob"], ProjectRole.ADMIN)
    service.remove_member(alice, project.id, tenancy.ids["alice"])  # bob remains admin
    with pytest.raises(Conflict):
        service.remove_member(scope_of("bob"), project.id, tenancy.ids["bob"])


def test_the_last_admin_cannot_be_demoted(service: TenancyService, tenancy, scope_of) -> None:
    project = service.create_project(scope_of("alice"), "apollo")
    alice = scope_of("alice")
    with pytest.raises(Conflict):
        service.add_member(alice, project.id, tenancy.ids["alice"], ProjectRole.MEMBER)
    roles = {m.user_id: m.role for m in service.members(alice, project.id)}
    assert roles == {tenancy.ids["alice"]: ProjectRole.ADMIN}


# -- deleting domains -------------------------------------------------------------------


def test_delete_domain(service: TenancyService, tenancy, scope_of) -> None:
    acmeadmin = scope_of("acmeadmin")
    lab = service.create_domain(acmeadmin, "lab")
    bench = service.create_domain(acmeadmin, "bench", lab.id)
    with pytest.raises(Conflict, match="sub-domains"):
        service.delete_domain(acmeadmin, lab.id)
    service.delete_domain(acmeadmin, bench.id)
    account = service.create_account(acmeadmin, "research", lab.id, AccountType.USER)
    with pytest.raises(Conflict, match="accounts"):
        service.delete_domain(acmeadmin, lab.id)
    with pytest.raises(Conflict):
        service.delete_domain(tenancy.root, tenancy.ids["acme"])
    assert account.id
    with pytest.raises(NotFound):
        service.delete_domain(acmeadmin, tenancy.ids["globex"])
    empty = service.create_domain(tenancy.root, "empty", tenancy.ids["ROOT"])
    QuotaService(service.session).set_limit(
        tenancy.root, LimitOwner.DOMAIN, empty.id, ResourceType.CPU, 8
    )
    service.delete_domain(tenancy.root, empty.id)
    with pytest.raises(NotFound):
        service.get_domain(tenancy.root, empty.id)
    # Its limits and counters go with it.
    for model in (ResourceCount, ResourceLimit):
        assert not service.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.owner_id == empty.id)
        )


def test_delete_domain_with_projects(service: TenancyService, tenancy, hasher, session) -> None:
    lab = service.create_domain(tenancy.root, "lab", tenancy.ids["acme"])
    account = service.create_account(tenancy.root, "research", lab.id, AccountType.USER)
    service.create_user(tenancy.root, account.id, "dave", "dave-password")
    dave = CredentialService(session, hasher).authenticate_password("dave", "dave-password")
    service.create_project(dave, "p")
    with pytest.raises(Conflict):
        service.delete_domain(tenancy.root, lab.id)


def test_root_cannot_be_deleted(service: TenancyService, tenancy) -> None:
    with pytest.raises(Conflict):
        service.delete_domain(tenancy.root, tenancy.ids["ROOT"])


# -- names ---------------------------------------------------------------------------------

_FIRST = string.ascii_letters + string.digits
_REST = _FIRST + "._@+-"


def documented_name(name: str) -> bool:
    """The rule check_name documents: 1 to 64 letters, digits, '.', '_', '@', '+' or '-',
    starting with a letter or digit (written out here, not borrowed from the code)."""
    return 1 <= len(name) <= 64 and name[0] in _FIRST and all(c in _REST for c in name)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=80), st.text(alphabet=_REST + " \n\t/", max_size=70)))
@example("a\n")
@example("a" * 64)
@example("a" * 65)
@example("-a")
@example("alice@example.org")
def test_check_name_accepts_exactly_the_documented_names(name: str) -> None:
    try:
        result = check_name("domain", name)
    except InvalidInput as exc:
        assert not documented_name(name), name
        assert exc.details == {"field": "name", "reason": "name"}
    else:
        assert result == name
        assert documented_name(name), name


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(max_size=70), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}", fullmatch=True)
    )
)
def test_create_domain_stores_valid_names_unchanged(
    session: Session, service: TenancyService, tenancy, name: str
) -> None:
    savepoint = session.begin_nested()
    try:
        try:
            domain = service.create_domain(tenancy.root, name, tenancy.ids["acme"])
        except InvalidInput:
            assert not documented_name(name)
            return
        assert documented_name(name)
        session.expire(domain)
        assert domain.name == name
        assert service.find_domain(tenancy.root, f"acme/{name}").id == domain.id
    finally:
        savepoint.rollback()


@pytest.mark.parametrize(
    "create",
    [
        lambda s, t: s.create_domain(t.root, "acme", t.ids["ROOT"]),
        lambda s, t: s.create_account(t.root, "dev", t.ids["acme"], AccountType.USER),
        lambda s, t: s.create_user(t.root, t.ids["ops"], "alice", "another-password"),
        lambda s, t: s.create_user(t.root, t.ids["sales"], "alice"),  # usernames are global
    ],
    ids=["domain", "account", "user", "user-elsewhere"],
)
def test_duplicate_names_already_exist(service: TenancyService, tenancy, create) -> None:
    with pytest.raises(AlreadyExists):
        create(service, tenancy)


def test_same_names_in_different_parents_are_fine(service: TenancyService, tenancy) -> None:
    a = service.create_domain(tenancy.root, "lab", tenancy.ids["acme"])
    b = service.create_domain(tenancy.root, "lab", tenancy.ids["globex"])
    assert a.id != b.id
    assert service.create_account(tenancy.root, "dev", tenancy.ids["globex"], AccountType.USER)


def test_duplicate_project_names(service: TenancyService, tenancy, scope_of) -> None:
    service.create_project(scope_of("alice"), "apollo")
    with pytest.raises(AlreadyExists):
        service.create_project(scope_of("bob"), "apollo")
    assert service.create_project(scope_of("carol"), "apollo").domain_id == tenancy.ids["globex"]


def test_invalid_names_are_refused_everywhere(
    service: TenancyService, tenancy, scope_of: ScopeOf
) -> None:
    alice = scope_of("alice")
    creators: list[Callable[[str], object]] = [
        lambda name: service.create_domain(tenancy.root, name, tenancy.ids["ROOT"]),
        lambda name: service.create_account(
            tenancy.root, name, tenancy.ids["acme"], AccountType.USER
        ),
        lambda name: service.create_user(tenancy.root, tenancy.ids["dev"], name, "password-1"),
        lambda name: service.create_project(alice, name),
    ]
    for name in ("", " acme", "a/b", "a b", "-x", "x" * 65, "caf\u00e9", "tab\there"):
        for create in creators:
            with pytest.raises(InvalidInput, match=re.escape(repr(name))):
                create(name)
