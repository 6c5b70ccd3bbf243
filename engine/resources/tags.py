"""User-defined tags: define, list and delete them; put them on resources and take them off.

A tag belongs to the account (and project) of the scope that defines it and
is visible like any resource of that owner
(:meth:`engine.scope.Scope.owner_filter`): another tenant's tag is
:class:`~engine.errors.NotFound`. Its ``namespace`` + ``name`` and its
``path`` are unique per account only, so tenants choose freely.

Assignments name a resource by kind and id. Callers pass resources they
obtained from another service *for the same scope*, which is what guarantees
that a tenant tags only what it may see; this service checks only that the
tag is visible and may go on that kind of resource.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Collection, Iterable
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db import new_id
from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.lifecycle import Kind
from engine.prepared import prepared, visible
from engine.resources.tag_models import Tag, TagAssignment
from engine.scope import Owner, Scope

#: A tag name: what an OCCI term allows (GFD.229 ``term``), 1 to 255 characters.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
#: A namespace or extended identifier: a URI without spaces or controls.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]{1,250}")
#: A path: absolute, no spaces, no controls, no query or fragment.
_PATH = re.compile(r"/[^\s\x00-\x1f\x7f?#]{0,254}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_EXTENDS = 16
_KINDS = frozenset(kind.value for kind in Kind)


def _check(tag_fields: dict[str, object]) -> None:
    namespace, name, path = tag_fields["namespace"], tag_fields["name"], tag_fields["path"]
    if not isinstance(namespace, str) or not _URI.fullmatch(namespace):
        raise InvalidInput(
            "a tag's namespace is a URI of at most 255 characters", field="namespace"
        )
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            "a tag's name is 1 to 255 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
            field="name",
            reason="identifier",
            maximum=255,
        )
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise InvalidInput(
            "a tag's path starts with '/' and has at most 255 characters, without spaces",
            field="path",
        )
    # Clients and caches remove dot segments (RFC 3986 §5.2.4): the tag's
    # collection would be reached at another path, perhaps another's.
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise InvalidInput("a tag's path has no '.' or '..' segments", field="path")
    title = tag_fields["title"]
    if title is not None and (
        not isinstance(title, str) or len(title) > 255 or _CONTROL.search(title)
    ):
        raise InvalidInput("a tag's title is at most 255 printable characters", field="title")
    extends = tag_fields["extends"]
    if not isinstance(extends, list) or len(extends) > MAX_EXTENDS:
        raise InvalidInput(
            f"a tag extends at most {MAX_EXTENDS} others",
            field="extends",
            reason="too_many",
            maximum=MAX_EXTENDS,
        )
    for parent in extends:
        if not isinstance(parent, str) or not _URI.fullmatch(parent):
            raise InvalidInput("what a tag extends is named by URIs", field="extends")
    kinds = tag_fields["kinds"]
    if not isinstance(kinds, list) or not set(kinds) <= _KINDS:
        raise InvalidInput(
            f"a tag's kinds are among {sorted(_KINDS)}", field="kinds", reason="unknown"
        )


class TagService:
    """Tags and their assignments as tenants and administrators see them.

    :param session: the unit of work; the caller commits or rolls back.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- definitions -----------------------------------------------------------

    def define(
        self,
        scope: Scope,
        *,
        namespace: str,
        name: str,
        path: str,
        title: str | None = None,
        extends: Iterable[str] = (),
        kinds: Iterable[str] = (),
    ) -> Tag:
        """Define a tag owned by the scope's account (and current project).

        :param extends: identifiers of what it extends (kept, never interpreted).
        :param kinds: the :class:`~engine.lifecycle.Kind` values it may go on;
            empty for any.
        :raises InvalidInput: a malformed field, or a scope without an account.
        :raises AlreadyExists: the account has a tag with that identity or path.
        """
        owner = Owner.for_scope(scope)
        if owner.account_id is None:
            raise InvalidInput("only an account can own a tag; act as a user of one")
        fields: dict[str, object] = {
            "namespace": namespace,
            "name": name,
            "path": path,
            "title": title,
            "extends": list(extends),
            "kinds": sorted({str(kind) for kind in kinds}),
        }
        _check(fields)
        clash = self.session.scalar(
            sa.select(Tag.id).where(
                Tag.account_id == owner.account_id,
                sa.or_(sa.and_(Tag.namespace == namespace, Tag.name == name), Tag.path == path),
            )
        )
        if clash is not None:
            raise AlreadyExists(
                f"the account already has a tag {namespace}{name} or one at {path}",
                subject="tag",
                namespace=namespace,
                name=name,
                path=path,
            )
        tag = Tag(
            id=new_id(),
            account_id=owner.account_id,
            project_id=owner.project_id,
            domain_id=owner.domain_id,
            **fields,
        )
        self.session.add(tag)
        try:
            self.session.flush()
        except IntegrityError:  # a concurrent definition won the race
            raise AlreadyExists(
                f"the account already has a tag {namespace}{name}", subject="tag", name=name
            ) from None
        return tag

    def list(self, scope: Scope) -> builtins.list[Tag]:
        """The tags visible to ``scope``: its account's first, then the others, oldest first."""
        own = sa.case((Tag.account_id == scope.account_id, 0), else_=1)
        query = self._visible(scope).order_by(own, Tag.created, Tag.id)
        return builtins.list(self.session.scalars(query))

    def get(self, scope: Scope, tag_id: str) -> Tag:
        """A tag visible to ``scope``.

        :raises NotFound: no such tag, or another tenant's.
        """
        tag = self.session.scalar(self._visible(scope).where(Tag.id == tag_id))
        if tag is None:
            raise NotFound(f"no tag {tag_id!r}", subject="tag", id=tag_id)
        return tag

    def delete(self, scope: Scope, tag_id: str) -> None:
        """Delete a tag and take it off every resource that carries it.

        :raises NotFound: no such tag visible to ``scope``.
        """
        tag = self.get(scope, tag_id)
        self.session.execute(sa.delete(TagAssignment).where(TagAssignment.tag_id == tag.id))
        self.session.delete(tag)
        self.session.flush()

    # -- assignments -----------------------------------------------------------

    def assign(self, scope: Scope, tag: Tag, resource_kind: str, resource_id: str) -> bool:
        """Put ``tag`` on a resource; True if it was not there yet.

        :raises NotFound: the tag is not visible to ``scope``.
        :raises InvalidInput: the tag may not go on that kind of resource.
        """
        self._check_assignable(scope, tag, resource_kind)
        exists = self.session.scalar(
            sa.select(TagAssignment.tag_id).where(
                TagAssignment.tag_id == tag.id, TagAssignment.resource_id == resource_id
            )
        )
        if exists is not None:
            return False
        self.session.add(
            TagAssignment(tag_id=tag.id, resource_id=resource_id, resource_kind=resource_kind)
        )
        self.session.flush()
        return True

    def unassign(self, scope: Scope, tag: Tag, resource_id: str) -> bool:
        """Take ``tag`` off a resource; True if it was there.

        :raises NotFound: the tag is not visible to ``scope``.
        """
        self.get(scope, tag.id)
        result = self.session.execute(
            sa.delete(TagAssignment).where(
                TagAssignment.tag_id == tag.id, TagAssignment.resource_id == resource_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def replace_members(self, scope: Scope, tag: Tag, members: Collection[tuple[str, str]]) -> None:
        """Make ``members`` (``(kind, id)`` pairs) exactly the resources that carry ``tag``.

        :raises NotFound: the tag is not visible to ``scope``.
        :raises InvalidInput: the tag may not go on one of the members' kinds.
        """
        for kind, _ in members:
            self._check_assignable(scope, tag, kind)
        wanted = {resource_id: kind for kind, resource_id in members}
        current = {a.resource_id for a in self.members(scope, tag)}
        gone = current - set(wanted)
        if gone:
            self.session.execute(
                sa.delete(TagAssignment).where(
                    TagAssignment.tag_id == tag.id, TagAssignment.resource_id.in_(sorted(gone))
                )
            )
        for resource_id in sorted(set(wanted) - current):
            self.session.add(
                TagAssignment(
                    tag_id=tag.id, resource_id=resource_id, resource_kind=wanted[resource_id]
                )
            )
        self.session.flush()

    def members(self, scope: Scope, tag: Tag) -> builtins.list[TagAssignment]:
        """The assignments of ``tag``, oldest first.

        :raises NotFound: the tag is not visible to ``scope``.
        """
        self.get(scope, tag.id)
        query = (
            sa.select(TagAssignment)
            .where(TagAssignment.tag_id == tag.id)
            .order_by(TagAssignment.created, TagAssignment.resource_id)
        )
        return builtins.list(self.session.scalars(query))

    def tags_of(
        self, scope: Scope, resource_ids: Iterable[str] | None = None
    ) -> dict[str, builtins.list[Tag]]:
        """The tags visible to ``scope`` on each resource, by resource id.

        :param resource_ids: these resources only; by default every resource
            that carries a visible tag (one query either way).
        """
        ids = None if resource_ids is None else sorted(set(resource_ids))
        if ids == []:
            return {}
        shape = scope.visibility_shape

        def build() -> sa.Select[str, Tag]:
            query = sa.select(TagAssignment.resource_id, Tag).join(
                Tag, Tag.id == TagAssignment.tag_id
            )
            query = query.where(visible(Tag, shape))
            if ids is not None:
                query = query.where(
                    TagAssignment.resource_id.in_(sa.bindparam("resource_ids", expanding=True))
                )
            return query.order_by(Tag.created, Tag.id)

        statement = prepared(("tags of", ids is None, shape), build)
        parameters = {**scope.visibility_parameters(), "resource_ids": ids}
        found: dict[str, builtins.list[Tag]] = {}
        for resource_id, tag in self.session.execute(statement, parameters):
            found.setdefault(resource_id, []).append(tag)
        return found

    def forget(self, resource_id: str) -> None:
        """Take every tag off a resource that is being deleted."""
        self.session.execute(
            sa.delete(TagAssignment).where(TagAssignment.resource_id == resource_id)
        )

    # -- internals -------------------------------------------------------------

    def _check_assignable(self, scope: Scope, tag: Tag, resource_kind: str) -> None:
        self.get(scope, tag.id)
        if resource_kind not in _KINDS:
            raise InvalidInput(
                f"{resource_kind!r} is not a resource kind", field="kind", reason="unknown"
            )
        if tag.kinds and resource_kind not in tag.kinds:
            raise InvalidInput(
                f"tag {tag.namespace}{tag.name} goes on {', '.join(tag.kinds)} only, "
                f"not on a {Kind(resource_kind).label}",
                subject="tag",
                reason="kind",
                other=resource_kind,
            )

    def _visible(self, scope: Scope) -> sa.Select[Tag]:
        return sa.select(Tag).where(
            scope.owner_filter(Tag.account_id, Tag.project_id, Tag.domain_id)
        )


__all__ = ["TagService"]
