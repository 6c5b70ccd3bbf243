"""Scope visibility: the SQL filter and the Python predicate must agree, on both back-ends.

A table private to this test holds one row per (domain, account, project)
combination; for any caller, the rows :meth:`Scope.owner_filter` selects, and
those the bound-parameter form :func:`prepared_owner_filter` selects, must be
exactly those :meth:`Scope.can_see_owner` accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from engine.db import Database
from engine.scope import Role, Scope, frozen_ids, prepared_owner_filter, role_for
from engine.tenancy.models import AccountType, Domain
from engine.tenancy.service import TenancyService

#: Accounts and the domain each lives in, with the role of its users.
ACCOUNTS: dict[str, tuple[str, Role]] = {
    "admins": ("ROOT", Role.ROOT_ADMIN),
    "acme-admins": ("acme", Role.DOMAIN_ADMIN),
    "dev": ("acme", Role.USER),
    "ops": ("acme", Role.USER),
    "lab-admins": ("lab", Role.DOMAIN_ADMIN),
    "research": ("lab", Role.USER),
    "sales": ("globex", Role.USER),
}
#: Projects and their domains. A user may be a member of a project of its own domain
#: or of any domain above it (TenancyService.add_member).
PROJECTS = {"p-root": "ROOT", "p-acme": "acme", "p-lab": "lab", "p-globex": "globex"}

probe_metadata = sa.MetaData()
probe = sa.Table(
    "scope_probe",
    probe_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("account_id", sa.String(36), nullable=False),
    sa.Column("project_id", sa.String(36), nullable=True),
    sa.Column("domain_id", sa.String(36), nullable=False),
)


@dataclass
class World:
    session: Session
    ids: dict[str, str]  # domain and account names -> ids
    paths: dict[str, str]  # domain id -> path
    rows: list[tuple[int, str, str | None, str]]  # id, account id, project, domain id

    def name_of(self, some_id: str) -> str:
        return next(k for k, v in self.ids.items() if v == some_id)


@pytest.fixture
def world(database: Database, tenancy) -> Iterator[World]:
    """Resources of every account outside projects (in the account's domain) and of
    every account in every project (in the project's domain)."""
    with database.transaction() as session:
        service = TenancyService(session)
        lab = service.create_domain(tenancy.root, "lab", tenancy.ids["acme"])
        ids = {**tenancy.ids, "lab": lab.id}
        ids["admins"] = service.get_user(tenancy.root, tenancy.ids["admin"]).account_id
        ids["lab-admins"] = service.create_account(
            tenancy.root, "lab-admins", lab.id, AccountType.DOMAIN_ADMIN
        ).id
        ids["research"] = service.create_account(
            tenancy.root, "research", lab.id, AccountType.USER
        ).id
    owners = [(account, None, home) for account, (home, _) in ACCOUNTS.items()]
    owners += [(a, p, home) for p, home in PROJECTS.items() for a in ACCOUNTS]
    rows = [(n, ids[a], p, ids[d]) for n, (a, p, d) in enumerate(owners)]
    probe_metadata.create_all(database.engine)
    try:
        with database.engine.begin() as connection:
            connection.execute(
                probe.insert(),
                [
                    {"id": n, "account_id": a, "project_id": p, "domain_id": d}
                    for n, a, p, d in rows
                ],
            )
        with database.session() as session:
            paths = dict(session.execute(sa.select(Domain.id, Domain.path)).all())
            yield World(session, ids, {k: str(v) for k, v in paths.items()}, rows)
    finally:
        probe_metadata.drop_all(database.engine)


def make_scope(world: World, account: str, projects=()) -> Scope:
    home, role = ACCOUNTS[account]
    domain_id = world.ids[home]
    return Scope(
        user_id="u",
        username="u",
        account_id=world.ids[account],
        domain_id=domain_id,
        domain_path=world.paths[domain_id],
        role=role,
        project_ids=frozen_ids(projects),
    )


def joinable(world: World, account: str) -> list[str]:
    """The projects a user of ``account`` may be a member of."""
    path = world.paths[world.ids[ACCOUNTS[account][0]]]
    return [p for p, home in PROJECTS.items() if path.startswith(world.paths[world.ids[home]])]


def visible_by_sql(world: World, scope: Scope) -> set[int]:
    condition = scope.owner_filter(probe.c.account_id, probe.c.project_id, probe.c.domain_id)
    return set(world.session.scalars(sa.select(probe.c.id).where(condition)))


def visible_by_prepared_sql(world: World, scope: Scope) -> set[int]:
    # Built from the shape alone, as the hot read paths build it once per process;
    # the caller's values come only with the execution.
    condition = prepared_owner_filter(
        scope.visibility_shape, probe.c.account_id, probe.c.project_id, probe.c.domain_id
    )
    statement = sa.select(probe.c.id).where(condition)
    return set(world.session.scalars(statement, scope.visibility_parameters()))


def visible_by_python(world: World, scope: Scope) -> set[int]:
    return {
        n
        for n, account, project, domain in world.rows
        if scope.can_see_owner(account, project, world.paths[domain])
    }


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(account=st.sampled_from(sorted(ACCOUNTS)), data=st.data())
@example(account="acme-admins", data=None).via("a domain admin in a project of ROOT")
def test_owner_filter_agrees_with_can_see_owner(
    world: World, account: str, data: st.DataObject | None
) -> None:
    candidates = joinable(world, account)
    projects = (
        data.draw(st.sets(st.sampled_from(candidates)), label="projects")
        if data is not None
        else {"p-root"}
    )
    scope = make_scope(world, account, projects)
    assert visible_by_sql(world, scope) == visible_by_python(world, scope)
    assert visible_by_prepared_sql(world, scope) == visible_by_python(world, scope)


def _owners(world: World, scope: Scope) -> set[tuple[str, str | None, str]]:
    by_id = {n: (world.name_of(a), p, world.name_of(d)) for n, a, p, d in world.rows}
    return {by_id[n] for n in visible_by_sql(world, scope)}


def test_root_admin_sees_every_row(world: World) -> None:
    assert visible_by_sql(world, make_scope(world, "admins")) == {n for n, *_ in world.rows}


def test_domain_admin_sees_its_subtree(world: World) -> None:
    owners = _owners(world, make_scope(world, "acme-admins"))
    assert {d for _, _, d in owners} == {"acme", "lab"}
    assert ("sales", "p-acme", "acme") in owners  # whoever owns it, inside the subtree
    assert ("dev", "p-root", "ROOT") not in owners
    lab_owners = _owners(world, make_scope(world, "lab-admins"))
    assert {d for _, _, d in lab_owners} == {"lab"}


def test_user_sees_its_account_and_its_projects(world: World) -> None:
    owners = _owners(world, make_scope(world, "dev", {"p-acme"}))
    assert owners == {("dev", None, "acme")} | {(a, "p-acme", "acme") for a in ACCOUNTS}
    # Its own account's resources inside a project it left stay hidden.
    assert _owners(world, make_scope(world, "dev")) == {("dev", None, "acme")}
    upper = _owners(world, make_scope(world, "research", {"p-root"}))
    assert upper == {("research", None, "lab")} | {(a, "p-root", "ROOT") for a in ACCOUNTS}


def test_role_for_account_types() -> None:
    assert role_for("admin") is Role.ROOT_ADMIN
    assert role_for("domain-admin") is Role.DOMAIN_ADMIN
    assert role_for("user") is Role.USER
    with pytest.raises(KeyError):
        role_for("superuser")


def test_system_scope_and_with_project(world: World) -> None:
    root = world.session.get(Domain, world.ids["ROOT"])
    system = Scope.system(root)
    assert system.is_root_admin and system.is_admin and system.user_id is None
    assert system.administers_domain(world.paths[world.ids["lab"]])
    user = make_scope(world, "dev", {"p-acme"})
    inside = user.with_project("p-acme")
    assert inside.project_id == "p-acme"
    assert (inside.user_id, inside.project_ids, inside.role) == (
        user.user_id,
        user.project_ids,
        user.role,
    )
    assert not user.is_admin and not user.administers_domain(user.domain_path)


def test_one_prepared_statement_serves_every_caller_of_a_shape(world: World) -> None:
    # Two users of different accounts, neither in a project: the same shape, so the
    # same statement, and each still sees only its own rows.
    dev, sales = make_scope(world, "dev"), make_scope(world, "sales")
    assert dev.visibility_shape == sales.visibility_shape
    statement = sa.select(probe.c.id).where(
        prepared_owner_filter(
            dev.visibility_shape, probe.c.account_id, probe.c.project_id, probe.c.domain_id
        )
    )
    for scope in (dev, sales):
        seen = set(world.session.scalars(statement, scope.visibility_parameters()))
        assert seen == visible_by_python(world, scope)
    assert make_scope(world, "dev", {"p-acme"}).visibility_shape != dev.visibility_shape
