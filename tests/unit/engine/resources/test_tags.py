"""TagService: tenant-scoped tag definitions and their assignments to resources."""

from __future__ import annotations

import pytest

from engine.errors import AlreadyExists, InvalidInput, NotFound
from engine.lifecycle import Kind
from engine.resources.tags import TagService
from engine.tenancy.credentials import CredentialService

NS = "http://example.org/tags#"


@pytest.fixture
def scopes(database, tenancy, hasher):
    with database.transaction() as session:
        credentials = CredentialService(session, hasher)
        return {
            u: credentials.scope_for_user_id(tenancy.ids[u])
            for u in ("alice", "bob", "carol", "acmeadmin", "admin")
        }


def test_define_list_and_delete(database, scopes) -> None:
    with database.transaction() as session:
        tags = TagService(session)
        tag = tags.define(
            scopes["alice"],
            namespace=NS,
            name="web",
            path="/web/",
            title="Web",
            kinds=[Kind.COMPUTE.value],
        )
        tag_id = tag.id
        assert [t.name for t in tags.list(scopes["alice"])] == ["web"]
        assert tags.list(scopes["bob"]) == []
        assert [t.id for t in tags.list(scopes["acmeadmin"])] == [tag_id]  # its domain's
        assert [t.id for t in tags.list(scopes["admin"])] == [tag_id]
        assert tags.list(scopes["carol"]) == []
    with database.transaction() as session, pytest.raises(NotFound):
        TagService(session).delete(scopes["carol"], tag_id)
    with database.transaction() as session:
        TagService(session).delete(scopes["alice"], tag_id)
        assert TagService(session).list(scopes["alice"]) == []


def test_identity_and_path_are_unique_per_account(database, scopes) -> None:
    with database.transaction() as session:
        tags = TagService(session)
        tags.define(scopes["alice"], namespace=NS, name="web", path="/web/")
        with pytest.raises(AlreadyExists):
            tags.define(scopes["alice"], namespace=NS, name="web", path="/other/")
        with pytest.raises(AlreadyExists):
            tags.define(scopes["alice"], namespace=NS, name="other", path="/web/")
        # Another account chooses freely.
        tags.define(scopes["bob"], namespace=NS, name="web", path="/web/")


@pytest.mark.parametrize(
    "fields",
    [
        {"namespace": "not a uri", "name": "a", "path": "/a/"},
        {"namespace": NS, "name": "-a", "path": "/a/"},
        {"namespace": NS, "name": "a", "path": "a/"},
        {"namespace": NS, "name": "a", "path": "/a b/"},
        {"namespace": NS, "name": "a", "path": "/a/../compute/"},  # reached at /compute/
        {"namespace": NS, "name": "a", "path": "/a/%2E%2e/"},
        {"namespace": NS, "name": "a", "path": "/a/./"},
        {"namespace": NS, "name": "a", "path": "/a/", "title": "x\ny"},
        {"namespace": NS, "name": "a", "path": "/a/", "kinds": ["vm"]},
        {"namespace": NS, "name": "a", "path": "/a/", "extends": ["no uri"]},
    ],
)
def test_malformed_definitions(database, scopes, fields) -> None:
    with database.transaction() as session, pytest.raises(InvalidInput):
        TagService(session).define(scopes["alice"], **fields)


def test_the_system_scope_owns_no_tag(database, tenancy) -> None:
    with database.transaction() as session, pytest.raises(InvalidInput):
        TagService(session).define(tenancy.root, namespace=NS, name="a", path="/a/")


def test_assignments(database, scopes) -> None:
    with database.transaction() as session:
        tags = TagService(session)
        tag = tags.define(
            scopes["alice"], namespace=NS, name="web", path="/web/", kinds=[Kind.COMPUTE.value]
        )
        assert tags.assign(scopes["alice"], tag, "compute", "c1") is True
        assert tags.assign(scopes["alice"], tag, "compute", "c1") is False
        tags.assign(scopes["alice"], tag, "compute", "c2")
        with pytest.raises(InvalidInput):
            tags.assign(scopes["alice"], tag, "volume", "v1")
        with pytest.raises(NotFound):
            tags.assign(scopes["bob"], tag, "compute", "c3")
        assert [a.resource_id for a in tags.members(scopes["alice"], tag)] == ["c1", "c2"]
        assert {k: [t.name for t in v] for k, v in tags.tags_of(scopes["alice"]).items()} == {
            "c1": ["web"],
            "c2": ["web"],
        }
        assert tags.tags_of(scopes["bob"]) == {}
        tags.replace_members(scopes["alice"], tag, [("compute", "c2"), ("compute", "c3")])
        assert [a.resource_id for a in tags.members(scopes["alice"], tag)] == ["c2", "c3"]
        assert tags.unassign(scopes["alice"], tag, "c2") is True
        assert tags.unassign(scopes["alice"], tag, "c2") is False
        tags.forget("c3")
        assert tags.members(scopes["alice"], tag) == []
        tags.assign(scopes["alice"], tag, "compute", "c4")
        tags.delete(scopes["alice"], tag.id)
        assert tags.tags_of(scopes["alice"], ["c4"]) == {}
