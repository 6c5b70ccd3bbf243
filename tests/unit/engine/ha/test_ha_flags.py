"""The HA flag of offerings and guests (engine.ha.flags), on SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from unit.engine.cloud import Cloud, build_cloud, create

from engine.catalog.models import ComputeOffering
from engine.db import Database
from engine.errors import InvalidInput, NotFound, PermissionDenied
from engine.ha.flags import set_compute_ha, set_offering_ha
from engine.tenancy.passwords import PasswordHasher


@pytest.fixture
def cloud(
    database: Database, tenancy: object, hasher: PasswordHasher, tmp_path: Path
) -> Iterator[Cloud]:
    yield from build_cloud(database, tenancy, hasher, tmp_path)


def test_a_guest_inherits_its_offerings_flag_unless_its_creation_says_otherwise(
    cloud: Cloud,
) -> None:
    inherited, _ = create(cloud, name="a", offering_id=cloud.ids["large"])
    overridden, _ = create(cloud, name="b", offering_id=cloud.ids["large"], ha_enabled=False)
    plain, _ = create(cloud, name="c", offering_id=cloud.ids["small"])
    assert [cloud.compute(i).ha_enabled for i in (inherited, overridden, plain)] == [
        True,
        False,
        False,
    ]
    assert cloud.compute(inherited).ha_priority == 0
    # An offering changed later changes the guests created from then on only.
    with cloud.database.transaction() as session:
        set_offering_ha(session, cloud.root, cloud.ids["small"], True)
    later, _ = create(cloud, name="d", offering_id=cloud.ids["small"])
    assert cloud.compute(later).ha_enabled is True
    assert cloud.compute(plain).ha_enabled is False


def test_the_owner_sets_a_guests_flag_and_priority(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, name="a")
    with cloud.database.transaction() as session:
        compute = set_compute_ha(
            session, cloud.scopes["alice"], compute_id, enabled=True, priority=50
        )
        assert (compute.ha_enabled, compute.ha_priority) == (True, 50)
        set_compute_ha(session, cloud.scopes["alice"], compute_id, priority=-3)
    compute = cloud.compute(compute_id)
    assert (compute.ha_enabled, compute.ha_priority) == (True, -3)
    assert cloud.event_types(compute_id)[-2:] == ["compute.updated", "compute.updated"]
    # Nothing changed: no event.
    with cloud.database.transaction() as session:
        set_compute_ha(session, cloud.scopes["alice"], compute_id, enabled=True)
    assert cloud.event_types(compute_id).count("compute.updated") == 2


@pytest.mark.parametrize(
    ("enabled", "priority"), [("yes", None), (1, None), (None, 1001), (None, True), (None, "5")]
)
def test_bad_values_are_refused_and_change_nothing(
    cloud: Cloud, enabled: object, priority: object
) -> None:
    compute_id, _ = create(cloud, name="a")
    with cloud.database.transaction() as session, pytest.raises(InvalidInput):
        set_compute_ha(
            session,
            cloud.scopes["alice"],
            compute_id,
            enabled=enabled,  # type: ignore[arg-type]
            priority=priority,
        )  # type: ignore[arg-type]
    compute = cloud.compute(compute_id)
    assert (compute.ha_enabled, compute.ha_priority) == (False, 0)


def test_other_tenants_neither_see_nor_change_the_flags(cloud: Cloud) -> None:
    compute_id, _ = create(cloud, name="a")
    with cloud.database.transaction() as session:
        with pytest.raises(NotFound):
            set_compute_ha(session, cloud.scopes["carol"], compute_id, enabled=True)
        with pytest.raises(PermissionDenied):
            set_offering_ha(session, cloud.scopes["alice"], cloud.ids["small"], True)
        with pytest.raises(NotFound):
            set_offering_ha(session, cloud.scopes["alice"], cloud.ids["private_offering"], True)
        with pytest.raises(InvalidInput):
            set_offering_ha(session, cloud.root, cloud.ids["small"], "on")  # type: ignore[arg-type]
        assert session.get(ComputeOffering, cloud.ids["small"]).ha_enabled is False  # type: ignore[union-attr]
    assert cloud.compute(compute_id).ha_enabled is False
