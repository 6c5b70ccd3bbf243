"""Projects and their members: the projects part of the tenancy service.

Any user may create a project: it owns it and becomes its admin; project
admins and domain administrators manage members, and a project keeps at
least one admin. A project the caller cannot see is
:class:`~engine.errors.NotFound`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from engine.naming import check_name
from engine.scope import Owner, Role, Scope
from engine.tenancy.models import (
    Domain,
    LimitOwner,
    Project,
    ProjectMember,
    ProjectRole,
    ResourceType,
    User,
)
from engine.tenancy.quotas import QuotaService


class ProjectAdministration:
    """Create and find projects and manage their members.

    :param session: the unit of work; the caller commits.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def create_project(self, scope: Scope, name: str, description: str | None = None) -> Project:
        """Create a project owned by the caller's account, in the caller's domain.

        The creating user becomes the project's admin.
        """
        check_name("project", name)
        if scope.account_id is None or scope.user_id is None:
            raise InvalidInput("projects are created by a user")
        if self.session.scalar(
            sa.select(Project.id).where(Project.domain_id == scope.domain_id, Project.name == name)
        ):
            raise AlreadyExists(
                f"project {name!r} already exists in this domain", subject="project", name=name
            )
        project = Project(
            name=name,
            description=description,
            domain_id=scope.domain_id,
            owner_account_id=scope.account_id,
        )
        self.session.add(project)
        self.session.flush()
        self.session.add(
            ProjectMember(project_id=project.id, user_id=scope.user_id, role=ProjectRole.ADMIN)
        )
        self.session.flush()
        quotas = QuotaService(self.session)
        quotas.open_counters(LimitOwner.PROJECT, project.id)
        # The owning account is charged for the project (CloudStack's
        # max.account.projects); the project's own counters start empty.
        quotas.charge(Owner(scope.account_id, None, scope.domain_id), {ResourceType.PROJECTS: 1})
        return project

    def get_project(self, scope: Scope, project_id: str) -> Project:
        """Return a project the caller is a member of or administers."""
        project = self.session.get(Project, project_id)
        if project is None or not self._sees_project(scope, project):
            raise NotFound(f"no project {project_id!r}", subject="project", id=project_id)
        return project

    def list_projects(self, scope: Scope) -> list[Project]:
        """The projects the caller sees."""
        query = sa.select(Project).join(Domain).order_by(Project.name)
        if scope.role is Role.DOMAIN_ADMIN:
            query = query.where(Domain.path.startswith(scope.domain_path))
        elif scope.role is Role.USER:
            query = query.where(Project.id.in_(sorted(scope.project_ids)))
        return list(self.session.scalars(query))

    def add_member(
        self, scope: Scope, project_id: str, user_id: str, role: ProjectRole = ProjectRole.MEMBER
    ) -> ProjectMember:
        """Add a user of the project's domain subtree to a project (or change its role)."""
        project = self.get_project(scope, project_id)
        self._require_project_admin(scope, project)
        user = self.session.get(User, user_id)
        domain = self.session.get(Domain, project.domain_id)
        if user is None or domain is None or not user.account.domain.path.startswith(domain.path):
            raise NotFound(
                f"no user {user_id!r} in the project's domain", subject="user", id=user_id
            )
        member = self.session.get(ProjectMember, (project.id, user.id))
        if member is None:
            member = ProjectMember(project_id=project.id, user_id=user.id, role=role)
            self.session.add(member)
        else:
            if member.role is ProjectRole.ADMIN and role is not ProjectRole.ADMIN:
                self._keep_an_admin(project)
            member.role = role
        self.session.flush()
        return member

    def remove_member(self, scope: Scope, project_id: str, user_id: str) -> None:
        """Remove a user from a project; the last admin cannot be removed."""
        project = self.get_project(scope, project_id)
        self._require_project_admin(scope, project)
        member = self.session.get(ProjectMember, (project.id, user_id))
        if member is None:
            raise NotFound(
                f"user {user_id!r} is not a member of this project", subject="member", id=user_id
            )
        if member.role is ProjectRole.ADMIN:
            self._keep_an_admin(project)
        self.session.delete(member)
        self.session.flush()

    def _keep_an_admin(self, project: Project) -> None:
        """Raise Conflict when one of the project's admins is its only one."""
        admins = self.session.scalar(
            sa.select(sa.func.count()).where(
                ProjectMember.project_id == project.id,
                ProjectMember.role == ProjectRole.ADMIN,
            )
        )
        if admins == 1:
            raise Conflict("a project keeps at least one admin")

    def members(self, scope: Scope, project_id: str) -> list[ProjectMember]:
        """The members of a visible project."""
        project = self.get_project(scope, project_id)
        return list(
            self.session.scalars(
                sa.select(ProjectMember).where(ProjectMember.project_id == project.id)
            )
        )

    def _sees_project(self, scope: Scope, project: Project) -> bool:
        if project.id in scope.project_ids:
            return True
        domain = self.session.get(Domain, project.domain_id)
        return domain is not None and scope.administers_domain(domain.path)

    def _require_project_admin(self, scope: Scope, project: Project) -> None:
        domain = self.session.get(Domain, project.domain_id)
        if domain is not None and scope.administers_domain(domain.path):
            return
        member = self.session.get(ProjectMember, (project.id, scope.user_id or ""))
        if member is None or member.role is not ProjectRole.ADMIN:
            raise PermissionDenied("only project admins may manage members")
