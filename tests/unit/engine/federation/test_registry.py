"""The registry keeps each member's last good GLUE document and answers from it."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import TEST_SERVER_KEYS

from engine.db import Database
from engine.errors import AlreadyExists, InvalidInput, PermissionDenied
from engine.federation.registry import RegistryService
from engine.tenancy.credentials import CredentialService


def _document(share_max: int | None, share_total: int, cpu: int = 4) -> dict[str, Any]:
    return {
        "CloudComputingService": [{"ID": "s", "Name": "site"}],
        "CloudComputingEndpoint": [{"ID": "e", "InterfaceName": "occi", "URL": "https://s/"}],
        "CloudComputingInstanceType": [{"ID": "t", "Name": "medium", "CPU": cpu, "RAM": 4096}],
        "Share": [{"ID": "sh", "Name": "vo.a", "MaxVM": share_max, "TotalVM": share_total}],
    }


def test_a_bad_read_keeps_the_last_good_document(database: Database, tenancy: Any) -> None:
    with database.transaction() as session:
        registry = RegistryService(session, TEST_SERVER_KEYS)
        member = registry.add_member(tenancy.root, "alpha", "https://alpha/glue", token="t0k")
        assert member.sealed_token != "t0k" and registry.token(member) == "t0k"
        assert registry.record("alpha", _document(None, 0)) is None
        assert [m.site for m in registry.sites_with_room(4, 4096)] == ["alpha"]
        assert registry.record("alpha", error="timed out") == "timed out"
        assert "no CloudComputingEndpoint" in (
            registry.record("alpha", {"CloudComputingService": []}) or ""
        )
        assert registry.record("alpha", ["not", "an", "object"]) is not None
        # Still answering from the good document, with the last error beside it.
        assert [m.site for m in registry.sites_with_room(4, 4096)] == ["alpha"]
        assert registry.list_members(tenancy.root)[0].error is not None


@pytest.mark.parametrize(
    ("share_max", "share_total", "has_room"), [(None, 50, True), (10, 9, True), (10, 10, False)]
)
def test_a_share_has_room_until_its_guest_limit(
    database: Database, tenancy: Any, share_max: int | None, share_total: int, has_room: bool
) -> None:
    with database.transaction() as session:
        registry = RegistryService(session, TEST_SERVER_KEYS)
        registry.add_member(tenancy.root, "alpha", "https://alpha/glue")
        registry.record("alpha", _document(share_max, share_total))
        found = registry.sites_with_room(1, 512, share="vo.a")
        assert bool(found) is has_room
        assert registry.sites_with_room(1, 512, share="vo.unknown") == []
        assert registry.sites_with_room(5, 512) == []  # no instance type that large


def test_members_are_root_administrators_business(database: Database, tenancy: Any) -> None:
    with database.transaction() as session:
        registry = RegistryService(session, TEST_SERVER_KEYS)
        registry.add_member(tenancy.root, "alpha", "https://alpha/glue")
        with pytest.raises(AlreadyExists):
            registry.add_member(tenancy.root, "alpha", "https://other/glue")
        with pytest.raises(InvalidInput):
            registry.add_member(tenancy.root, "beta", "file:///etc/passwd")
        alice = CredentialService(session).scope_for_user_id(tenancy.ids["alice"])
        with pytest.raises(PermissionDenied):
            registry.add_member(alice, "gamma", "https://gamma/glue")
        with pytest.raises(PermissionDenied):
            registry.list_members(alice)
