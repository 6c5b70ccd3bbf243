"""The image-list tests' signers: a federation CA and site A's endorser certificate."""

from __future__ import annotations

import pytest
from pki import Issued, certificate_authority, endorser


@pytest.fixture(scope="module")
def ca() -> Issued:
    """The CA the subscribing site trusts."""
    return certificate_authority("Federation CA")


@pytest.fixture(scope="module")
def site_a(ca: Issued) -> Issued:
    """Site A's endorser, issued by :func:`ca`."""
    return endorser(ca, "site-a")
