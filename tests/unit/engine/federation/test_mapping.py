"""Mapping rules: checked when set, and total over arbitrary claims at sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InvalidInput
from engine.federation.mapping import DEFAULT_USER, MappingRules, Placement

EGI = "urn:mace:egi.eu:group:(?P<vo>[a-z0-9.-]+):role=vm_operator#aai.egi.eu"


def _rules(*rules: dict[str, Any]) -> MappingRules:
    return MappingRules({"rules": list(rules)})


VO_RULE = {
    "issuer": "egi",
    "remote": [
        {"claim": "sub"},
        {"claim": "eduperson_entitlement", "regex": EGI},
        {"claim": "groups", "not_any_of": ["suspended"]},
    ],
    "local": {"domain": "ROOT/fed", "account": "{vo}", "project": "{vo}", "user": "{sub}"},
}
STAFF_RULE = {
    "remote": [{"claim": "sub"}, {"claim": "groups", "any_one_of": ["staff", "ops"]}],
    "local": {"domain": "ROOT/fed", "account": "{groups}", "role": "admin"},
}


def test_the_first_matching_rule_places_the_user() -> None:
    rules = _rules(VO_RULE, STAFF_RULE)
    claims = {
        "sub": "u1",
        "eduperson_entitlement": [
            "urn:other",
            "urn:mace:egi.eu:group:vo.a:role=vm_operator#aai.egi.eu",
        ],
        "groups": ["ops"],
    }
    assert rules.place("egi", claims) == Placement("ROOT/fed", "vo.a", "vo.a", "member", "u1", 1)
    # The first rule is for issuer egi only: another issuer's token falls through.
    assert rules.place("other", claims) == Placement(
        "ROOT/fed", "ops", None, "admin", "u1@other", 2
    )


def test_not_any_of_refuses_a_listed_value_and_passes_an_absent_claim() -> None:
    rules = _rules(VO_RULE)
    entitled = {
        "sub": "u1",
        "eduperson_entitlement": "urn:mace:egi.eu:group:vo.b:role=vm_operator#aai.egi.eu",
    }
    assert rules.place("egi", entitled) is not None
    assert rules.place("egi", {**entitled, "groups": ["x", "suspended"]}) is None


def test_a_regex_must_match_a_whole_value() -> None:
    rules = _rules(VO_RULE)
    partial = "prefix urn:mace:egi.eu:group:vo.a:role=vm_operator#aai.egi.eu"
    assert rules.place("egi", {"sub": "u1", "eduperson_entitlement": [partial]}) is None


def test_the_default_user_name_is_unique_per_issuer() -> None:
    rules = _rules({"remote": [{"claim": "sub"}], "local": {"domain": "ROOT", "account": "a"}})
    placement = rules.place("egi", {"sub": "abc"})
    assert placement is not None and placement.username == DEFAULT_USER.format(
        sub="abc", issuer="egi"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "one key, 'rules'"),
        ({"rules": {}}, "'rules' must be a list"),
        ({"rules": [{"remote": [], "local": {}}]}, "non-empty list of conditions"),
        ({"rules": [{"remote": [{"claim": "sub"}], "local": {"domain": "d"}}]}, "'account'"),
        (
            {
                "rules": [
                    {"remote": [{"claim": "sub"}], "local": {"domain": "d", "account": "{vo}"}}
                ]
            },
            "no condition binds",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "g", "regex": "("}],
                        "local": {"domain": "d", "account": "a"},
                    }
                ]
            },
            "does not compile",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "g", "any_one_of": []}],
                        "local": {"domain": "d", "account": "a"},
                    }
                ]
            },
            "non-empty list of strings",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "g", "any_one_of": ["a"], "regex": "a"}],
                        "local": {"domain": "d", "account": "a"},
                    }
                ]
            },
            "more than one test",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "g", "anyof": ["a"]}],
                        "local": {"domain": "d", "account": "a"},
                    }
                ]
            },
            "unknown remote key",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "sub"}],
                        "local": {"domain": "d", "account": "a", "role": "root"},
                    }
                ]
            },
            "role must be one of",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "sub"}],
                        "local": {"domain": "d", "account": "{sub:>99999}"},
                    }
                ]
            },
            "without format",
        ),
        (
            {
                "rules": [
                    {"remote": [{"claim": "sub"}], "local": {"domain": "d", "account": "{sub!r}"}}
                ]
            },
            "without format",
        ),
        (
            {
                "rules": [
                    {"remote": [{"claim": "sub"}], "local": {"domain": "d", "account": "{sub.x}"}}
                ]
            },
            "no condition binds",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "sub"}],
                        "local": {"domain": "d", "account": "a"},
                        "extra": 1,
                    }
                ]
            },
            "unknown key",
        ),
        (
            {
                "rules": [
                    {
                        "remote": [{"claim": "g", "not_any_of": ["x"]}],
                        "local": {"domain": "d", "account": "{g}"},
                    }
                ]
            },
            "no condition binds",
        ),
    ],
)
def test_invalid_rules_are_refused_when_set(document: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        MappingRules(document)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
_CLAIMS = st.dictionaries(
    st.sampled_from(["sub", "groups", "eduperson_entitlement", "email", "other"])
    | st.text(max_size=8),
    _JSON
    | st.lists(
        st.sampled_from(
            ["staff", "ops", "suspended", "urn:mace:egi.eu:group:vo.a:role=vm_operator#aai.egi.eu"]
        )
        | st.text(max_size=30),
        max_size=6,
    ),
    max_size=6,
)


@given(claims=_CLAIMS, issuer=st.sampled_from(["egi", "other"]))
def test_any_claims_give_a_placement_or_none_never_an_error(
    claims: dict[str, Any], issuer: str
) -> None:
    rules = _rules(VO_RULE, STAFF_RULE)
    placement = rules.place(issuer, claims)
    if placement is None:
        return

    # Whatever placed the user, the placement only says what the claims said.
    def strings(claim: Any) -> list[str]:
        values = claim if isinstance(claim, list) else [claim]
        return [v for v in values if isinstance(v, str)]

    assert placement.rule in (1, 2)
    subs = strings(claims["sub"])
    assert placement.username in {*subs, *(f"{sub}@{issuer}" for sub in subs)}
    if placement.rule == 1:
        assert issuer == "egi" and "suspended" not in strings(claims.get("groups"))
        entitlements = strings(claims["eduperson_entitlement"])
        assert (
            f"urn:mace:egi.eu:group:{placement.account}:role=vm_operator#aai.egi.eu" in entitlements
        )
    else:
        assert placement.account in ("staff", "ops") and placement.role == "admin"
