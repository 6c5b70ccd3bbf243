"""Which engine error details a client may read as they are (concord.errors.CLIENT_DETAILS)."""

from __future__ import annotations

import pytest

from cimi.mapping.errors import CIMI_DETAILS
from concord.errors import CLIENT_DETAILS, report_for_engine_error, translated
from engine import errors
from occi.mapping.errors import OCCI_DETAILS


def test_a_detail_no_one_allowed_never_reaches_the_report() -> None:
    # An operator's fact, as the image location once was: the engine's message
    # keeps it for the log and the CLI; the client's report does not.
    error = errors.NotFound(
        "the image is not at /srv/images/base.qcow2",
        location="/srv/images/base.qcow2",
        host_uri="qemu+ssh://hv7/system",
        id="c-1",
    )
    report = report_for_engine_error(error)
    assert report.details == {"id": "c-1"}


@pytest.mark.parametrize("key", ["field", "state", "kind", "size_gib", "current", "unreadable"])
def test_engine_vocabulary_and_engine_units_stay_out(key: str) -> None:
    report = report_for_engine_error(errors.InvalidInput("refused", **{key: "x"}))
    assert key not in report.details


@pytest.mark.parametrize("key", sorted(CLIENT_DETAILS))
def test_an_allowed_scalar_is_shown_and_a_structure_is_not(key: str) -> None:
    assert report_for_engine_error(errors.Conflict("refused", **{key: 3})).details == {key: 3}
    assert report_for_engine_error(errors.Conflict("refused", **{key: [3]})).details == {}


def test_a_renderings_own_keys_pass_through_translation() -> None:
    # OCCI's parsers name the attribute the client sent; CIMI's action view the
    # resource's CIMI state. Neither is an engine fact to translate.
    error = errors.InvalidInput("occi.compute.cores: expected an integer", attribute="x.y")
    report = report_for_engine_error(error)
    assert "attribute" not in report.details
    assert translated(report, lambda e: None, OCCI_DETAILS).details == {"attribute": "x.y"}
    assert translated(report, lambda e: None, CIMI_DETAILS).details == {}
