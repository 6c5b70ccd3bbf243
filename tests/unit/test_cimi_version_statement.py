"""The CIMI version Concord serves is stated the same, and truthfully, everywhere (issue 17).

The wire form is DSP0263 1.1.0 (cimi.views.support.SPEC_VERSION, sent in
every CIMI-Specification-Version header); no user-facing text may claim
"CIMI 2.0" as what is implemented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cimi.views.support import SPEC_VERSION
from concord.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
STATEMENTS = [
    "README.md",
    "docs/overview.rst",
    "docs/architecture.rst",
    "docs/cimi.rst",
    "setup.py",
]


def test_the_header_names_the_version_the_docs_name() -> None:
    assert SPEC_VERSION == "1.1.0"


@pytest.mark.parametrize("name", STATEMENTS)
def test_no_text_claims_cimi_2_0(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert not re.search(r"CIMI 2(\.0)?\b(?! namespace)", text), name
    assert SPEC_VERSION in text or name == "docs/architecture.rst", name


def test_help_states_the_wire_form() -> None:
    description = build_parser().description or ""
    assert f"DSP0263 {SPEC_VERSION} wire form" in description
