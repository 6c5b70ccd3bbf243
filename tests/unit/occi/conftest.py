"""Fixtures for the OCCI unit tests."""

from __future__ import annotations

import pytest

from occi.schemas import compile_all


@pytest.fixture(autouse=True, scope="session")
def _compiled_schemas() -> None:
    """Compile the JSON Schemas once, as the application does at start-up."""
    compile_all()
