"""Mapping rules: where a federated user lands, decided from the claims of its token.

The rules are data an operator writes (``concord federation mapping set
FILE``), in the spirit of Keystone's federation mappings: an ordered list,
the first rule whose every *remote* condition holds wins, and its *local*
part names the domain, account, optional project and role, and the user name,
with ``{placeholders}`` filled from the claims (docs/federation.rst has a
complete example)::

    {
        "rules": [
            {
                "issuer": "egi",
                "remote": [
                    {"claim": "sub"},
                    {"claim": "entitlement", "regex": "vo:(?P<vo>[a-z.-]+)"},
                ],
                "local": {"domain": "ROOT/fed", "account": "{vo}", "user": "{sub}"},
            }
        ]
    }

A remote condition names a claim (a string, or a list of strings such as
``eduperson_entitlement``) and at most one test:

* none: the claim must be present and non-empty; ``{claim}`` is its value (the
  first, for a list);
* ``any_one_of``: one of the claim's values must be listed; ``{claim}`` is it;
* ``not_any_of``: none of the claim's values may be listed (an absent claim passes);
* ``regex``: one of the claim's values must match the whole expression; its
  named groups become placeholders.

``{issuer}`` is always the name of the issuer the token came from. A rule with
an ``issuer`` applies only to that issuer's tokens. Everything a rule can
fail on (an unknown key, a placeholder nothing binds, an expression that does
not compile, an unknown role) is found when the rules are set, not at sign-in.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidInput

#: The project roles a rule may give (tenancy's ``ProjectRole`` values).
ROLES = ("member", "admin")
_TESTS = ("any_one_of", "not_any_of", "regex")
_RULE_KEYS = frozenset({"issuer", "remote", "local"})
_REMOTE_KEYS = frozenset({"claim", *_TESTS})
_LOCAL_KEYS = frozenset({"domain", "account", "project", "role", "user"})
#: The user name when a rule does not say: unique per issuer and subject.
DEFAULT_USER = "{sub}@{issuer}"
#: A claim value longer than this is never matched: a token's claims come
#: from a trusted issuer, but they still bound the work a sign-in costs.
MAX_VALUE_LENGTH = 1024
#: The most values of a list claim that are looked at.
MAX_VALUES = 256


@dataclass(frozen=True)
class Placement:
    """Where a rule puts a federated user.

    :param domain: the domain's path, e.g. ``ROOT/fedcloud``.
    :param account: the account's name in that domain.
    :param project: a project's name in that domain, or None.
    :param role: the user's role in the project.
    :param username: the local user's name.
    :param rule: the position of the rule that matched.
    """

    domain: str
    account: str
    project: str | None
    role: str
    username: str
    rule: int


@dataclass(frozen=True)
class _Condition:
    claim: str
    any_one_of: frozenset[str] | None
    not_any_of: frozenset[str] | None
    regex: re.Pattern[str] | None

    def binds(self) -> set[str]:
        if self.regex is not None:
            return set(self.regex.groupindex)
        return set() if self.not_any_of is not None else {self.claim}

    def evaluate(self, claims: Mapping[str, Any]) -> dict[str, str] | None:
        """The placeholders this condition binds, or None when it does not hold."""
        values = _values(claims.get(self.claim))
        if self.not_any_of is not None:
            return None if self.not_any_of.intersection(values) else {}
        for value in values:
            if self.any_one_of is not None:
                if value in self.any_one_of:
                    return {self.claim: value}
            elif self.regex is not None:
                found = self.regex.fullmatch(value)
                if found:
                    return {k: v for k, v in found.groupdict().items() if v is not None}
            else:
                return {self.claim: value}
        return None


@dataclass(frozen=True)
class _Rule:
    position: int
    issuer: str | None
    conditions: tuple[_Condition, ...]
    local: Mapping[str, str]


def _values(claim: Any) -> list[str]:
    """A claim's string values (a string is one value; other types are none)."""
    if isinstance(claim, str):
        candidates = [claim]
    elif isinstance(claim, list):
        candidates = [v for v in claim[:MAX_VALUES] if isinstance(v, str)]
    else:
        return []
    return [v for v in candidates if v and len(v) <= MAX_VALUE_LENGTH]


def _fail(position: int, message: str) -> InvalidInput:
    return InvalidInput(f"mapping rule {position}: {message}", field="rules", reason="format")


def _strings(position: int, value: Any, what: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(position, f"{what} must be a non-empty list of strings")
    return frozenset(value)


def _condition(position: int, entry: Any) -> _Condition:
    if not isinstance(entry, dict) or not isinstance(entry.get("claim"), str) or not entry["claim"]:
        raise _fail(position, "each remote entry is an object with a 'claim' name")
    unknown = set(entry) - _REMOTE_KEYS
    if unknown:
        raise _fail(position, f"unknown remote key(s) {sorted(unknown)}")
    tests = [t for t in _TESTS if t in entry]
    if len(tests) > 1:
        raise _fail(position, f"claim {entry['claim']!r} has more than one test {tests}")
    regex = None
    if "regex" in entry:
        if not isinstance(entry["regex"], str):
            raise _fail(position, "regex must be a string")
        try:
            regex = re.compile(entry["regex"])
        except re.error as exc:
            raise _fail(position, f"regex {entry['regex']!r} does not compile: {exc}") from None
    return _Condition(
        claim=entry["claim"],
        any_one_of=_strings(position, entry["any_one_of"], "any_one_of")
        if "any_one_of" in entry
        else None,
        not_any_of=_strings(position, entry["not_any_of"], "not_any_of")
        if "not_any_of" in entry
        else None,
        regex=regex,
    )


def _placeholders(template: str) -> set[str]:
    """The names a template uses; plain ``{name}`` only (no format spec, no conversion)."""
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as exc:
        raise InvalidInput(
            f"template {template!r}: {exc}", field="rules", reason="format"
        ) from None
    if any(spec or conversion for _, spec, conversion in fields):
        raise InvalidInput(
            f"template {template!r}: placeholders are plain {{name}}, without format or conversion",
            field="rules",
            reason="format",
        )
    return {name for name, _, _ in fields}


def _rule(position: int, raw: Any) -> _Rule:
    if not isinstance(raw, dict):
        raise _fail(position, "a rule is an object with 'remote' and 'local'")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise _fail(position, f"unknown key(s) {sorted(unknown)}")
    remote, local = raw.get("remote"), raw.get("local")
    if not isinstance(remote, list) or not remote:
        raise _fail(position, "'remote' must be a non-empty list of conditions")
    if not isinstance(local, dict) or not all(isinstance(v, str) for v in local.values()):
        raise _fail(position, "'local' must be an object of strings")
    if set(local) - _LOCAL_KEYS or not {"domain", "account"} <= set(local):
        raise _fail(position, f"'local' has 'domain' and 'account', and may have {_LOCAL_KEYS}")
    issuer = raw.get("issuer")
    if issuer is not None and not isinstance(issuer, str):
        raise _fail(position, "'issuer' must be an issuer's name")
    conditions = tuple(_condition(position, entry) for entry in remote)
    local = {"role": "member", "user": DEFAULT_USER, **local}
    if local["role"] not in ROLES:
        raise _fail(position, f"role must be one of {ROLES}")
    bound = {"issuer"}.union(*(c.binds() for c in conditions))
    for key, template in local.items():
        missing = _placeholders(template) - bound
        if missing:
            raise _fail(position, f"local {key} uses {sorted(missing)}, which no condition binds")
    return _Rule(position, issuer, conditions, local)


class MappingRules:
    """An ordered, checked list of mapping rules (the module docstring gives the format).

    :raises InvalidInput: from the constructor, when the document is not a valid mapping.
    """

    def __init__(self, document: Any) -> None:
        if not isinstance(document, dict) or set(document) != {"rules"}:
            raise InvalidInput("a mapping is an object with one key, 'rules'", field="rules")
        rules = document["rules"]
        if not isinstance(rules, list):
            raise InvalidInput("'rules' must be a list", field="rules")
        self.document: dict[str, Any] = document
        self.rules = tuple(_rule(position, raw) for position, raw in enumerate(rules, 1))

    @property
    def raw_rules(self) -> Sequence[dict[str, Any]]:
        """The rules as written, in order."""
        return list(self.document["rules"])

    def place(self, issuer: str, claims: Mapping[str, Any]) -> Placement | None:
        """The placement of the first rule that ``claims`` from ``issuer`` satisfy, or None."""
        for rule in self.rules:
            if rule.issuer is not None and rule.issuer != issuer:
                continue
            bound: dict[str, str] = {"issuer": issuer}
            for condition in rule.conditions:
                found = condition.evaluate(claims)
                if found is None:
                    break
                bound.update(found)
            else:
                local = {key: template.format_map(bound) for key, template in rule.local.items()}
                return Placement(
                    domain=local["domain"],
                    account=local["account"],
                    project=local.get("project") or None,
                    role=local["role"],
                    username=local["user"],
                    rule=rule.position,
                )
        return None
