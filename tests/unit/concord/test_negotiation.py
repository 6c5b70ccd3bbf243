"""Content negotiation with explicit defaults (concord.negotiation.choose)."""

from __future__ import annotations

import pytest
from pyramid.request import Request

from concord.negotiation import choose

OFFERS = ["application/json", "text/plain"]


def _request(accept: str | None) -> Request:
    headers = {} if accept is None else {"Accept": accept}
    return Request.blank("/", headers=headers)


@pytest.mark.parametrize(
    ("accept", "default", "chosen"),
    [
        (None, "text/plain", "text/plain"),  # no header: the default
        ("", "text/plain", "text/plain"),
        ("   ", "text/plain", "text/plain"),
        (None, None, "application/json"),  # no default: the first offer
        ("*/*", "text/plain", "text/plain"),  # anything: the default, not the first offer
        ("*/*", None, "application/json"),
        ("text/*", "application/json", "text/plain"),
        ("application/json", "text/plain", "application/json"),
        ("text/plain;q=0.5, application/json", "text/plain", "application/json"),
        ("text/plain, application/json;q=0.9", "application/json", "text/plain"),
        ("application/json;q=0.5, text/plain;q=0.5", "text/plain", "text/plain"),
        ("application/json;q=0.5, text/plain;q=0.5", "application/json", "application/json"),
        ("image/png, */*;q=0.1", "text/plain", "text/plain"),
        ("APPLICATION/JSON", "text/plain", "application/json"),
    ],
)
def test_choose(accept: str | None, default: str | None, chosen: str) -> None:
    assert choose(_request(accept), OFFERS, default=default) == chosen


@pytest.mark.parametrize(
    "accept", ["image/png", "application/xml, text/html", "application/json;q=0, text/plain;q=0"]
)
def test_nothing_acceptable_is_none(accept: str) -> None:
    assert choose(_request(accept), OFFERS, default="text/plain") is None


def test_a_malformed_accept_header_does_not_raise() -> None:
    # A header that does not parse is treated by WebOb as "accept anything".
    assert choose(_request("this is ;;; not, a media=type"), OFFERS, default="text/plain") in (
        "text/plain",
        None,
    )


def test_the_same_header_is_answered_for_each_set_of_offers() -> None:
    # Decisions are remembered per header, offers and default: one never
    # answers for another.
    accept = "text/*, application/json;q=0.5"
    assert choose(_request(accept), OFFERS, default="application/json") == "text/plain"
    assert choose(_request(accept), ["application/json"], default=None) == "application/json"
    assert choose(_request(accept), ["application/xml"], default=None) is None
    assert choose(_request(accept), ["text/html", "text/plain"], default="text/plain") == (
        "text/plain"
    )
