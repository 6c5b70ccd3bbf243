"""The requirement catalogue and the case registry: complete, consistent, published."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import coverage
from conformance.cases import all_cases, covered_requirements
from conformance.requirements import AREAS, Level, catalogue

DOCS = Path(__file__).resolve().parents[3] / "docs" / "conformance.rst"
REPO = Path(__file__).resolve().parents[3]


def test_every_requirement_is_well_formed() -> None:
    for requirement in catalogue().values():
        assert requirement.id.startswith(requirement.document + "/")
        assert re.fullmatch(r"[A-Za-z0-9.\-]+/[A-Za-z0-9_./\-]+", requirement.id), requirement.id
        assert requirement.area in AREAS
        assert requirement.subject in ("server", "client")
        assert requirement.section and 20 <= len(requirement.summary) <= 240, requirement.id


def test_every_document_of_the_brief_is_in_the_catalogue() -> None:
    documents = {r.document for r in catalogue().values()}
    assert documents >= {
        "GFD.221",
        "GFD.223",
        "GFD.224",
        "GFD.226",
        "GFD.229",
        "ETSI-TS-103-142",
        "DSP0263",
    }
    etsi = {
        r.id.split("/", 1)[1].rsplit("/", 1)[0]
        for r in catalogue().values()
        if r.document == "ETSI-TS-103-142"
    }
    assert etsi == {
        "OCCI/CORE/DISCOVERY",
        "OCCI/CORE/READ",
        "OCCI/CORE/CREATE",
        "OCCI/CORE/UPDATE",
        "OCCI/CORE/DELETE",
        "OCCI/CORE/MISC",
        "OCCI/INFRA/CREATE",
    }


def test_cases_have_unique_ids_known_requirements_and_valid_renderings() -> None:
    cases = all_cases()
    assert len({c.id for c in cases}) == len(cases)
    known = set(catalogue())
    for case in cases:
        assert set(case.requirements) <= known, case.id
        assert case.protocol in ("occi", "cimi")
        assert all(catalogue()[r].protocol == case.protocol for r in case.requirements), case.id
        assert case.renderings is None or len(case.renderings) >= 1


def test_client_requirements_have_no_cases() -> None:
    clients = {r.id for r in catalogue().values() if r.subject == "client"}
    assert clients and not clients & covered_requirements()


@pytest.mark.parametrize(
    "area",
    [
        "OCCI Core",
        "OCCI HTTP",
        "OCCI Infrastructure",
        "OCCI Text",
        "OCCI JSON",
        "CIMI Machine",
        "CIMI Volume",
        "CIMI Network",
        "CIMI Job",
    ],
)
def test_more_than_nine_in_ten_musts_have_cases(area: str) -> None:
    found = next(a for a in coverage.coverage() if a.area == area)
    assert (found.percent(Level.MUST) or 0) > 90, found


def test_uncovered_musts_say_why() -> None:
    covered = covered_requirements()
    for requirement in catalogue().values():
        if requirement.subject == "server" and requirement.id not in covered:
            assert requirement.note, f"{requirement.id} has no case and no note saying why"


def test_the_published_coverage_is_current() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert coverage.splice(text) == text, (
        "docs/conformance.rst is stale: python -m conformance.coverage --write docs/conformance.rst"
    )
    assert coverage.main(["--check", str(DOCS)]) == 0


def test_the_docs_page_is_in_the_toctree() -> None:
    assert "conformance" in (REPO / "docs" / "index.rst").read_text(encoding="utf-8")


def test_the_harness_imports_none_of_concord() -> None:
    from unit.test_import_rule import violations

    files = list((REPO / "conformance").rglob("*.py"))
    assert len(files) >= 30
    assert violations("conformance") == []
