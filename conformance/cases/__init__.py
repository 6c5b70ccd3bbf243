"""Cases: checks tied to requirement ids, with a renderings dimension.

A case is a function of a :class:`~conformance.cases.context.CaseContext`
registered with :func:`case`, which records its data: a stable id, a title, the
requirement ids it checks, the renderings it runs in, the profile it needs.
Adding a case is adding one decorated function (docs/conformance.rst shows how)::

    @case(
        "occi.query.get-200",
        "GET /-/ is 200",
        requirements=["GFD.223/query.GET.200"],
        renderings=OCCI_RENDERINGS,
    )
    def query_get_200(ctx: CaseContext) -> None:
        ctx.expect_status(ctx.occi.query(ctx.rendering), 200)

A case passes when it returns, fails through ``ctx.fail``/``ctx.check``/
``ctx.expect_status`` (with the exchanges that prove it), and skips through
``ctx.skip(reason)``: every skip carries a reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from conformance.cases.context import Case, CaseFunction
from conformance.requirements import catalogue

#: The renderings dimensions (the runner intersects them with what the server offers).
OCCI_RENDERINGS = ("text/plain", "text/occi", "application/occi+json")
OCCI_TEXT = ("text/plain", "text/occi")
CIMI_RENDERINGS = ("application/json", "application/xml")

PROFILES = ("read-only", "full")
#: Case modules, imported on first use of the registry.
MODULES = (
    "conformance.cases.occi.discovery",
    "conformance.cases.occi.protocol",
    "conformance.cases.occi.read",
    "conformance.cases.occi.text",
    "conformance.cases.occi.json",
    "conformance.cases.occi.infra",
    "conformance.cases.occi.create",
    "conformance.cases.occi.actions",
    "conformance.cases.occi.update",
    "conformance.cases.occi.links",
    "conformance.cases.occi.mixins",
    "conformance.cases.occi.security",
    "conformance.cases.occi.standards",
    "conformance.cases.occi.final",
    "conformance.cases.cimi.entry_point",
    "conformance.cases.cimi.protocol",
    "conformance.cases.cimi.collections",
    "conformance.cases.cimi.machines",
    "conformance.cases.cimi.volumes_networks",
    "conformance.cases.cimi.jobs",
    "conformance.cases.cimi.standards",
)


_REGISTRY: dict[str, Case] = {}


def case(
    case_id: str,
    title: str,
    *,
    requirements: Iterable[str],
    renderings: tuple[str, ...] | None = None,
    profile: str = "read-only",
    phase: str = "main",
) -> Callable[[CaseFunction], CaseFunction]:
    """Register the decorated function as a case.

    :raises ValueError: a duplicate id, an unknown requirement or profile.
    """
    requirement_ids = tuple(requirements)
    known = catalogue()
    unknown = [r for r in requirement_ids if r not in known]
    if unknown or not requirement_ids:
        raise ValueError(f"case {case_id}: unknown or no requirements {unknown}")
    if profile not in PROFILES:
        raise ValueError(f"case {case_id}: unknown profile {profile!r}")
    protocol = case_id.split(".", 1)[0]

    def register(function: CaseFunction) -> CaseFunction:
        if case_id in _REGISTRY:
            raise ValueError(f"duplicate case id {case_id}")
        _REGISTRY[case_id] = Case(
            case_id, title, protocol, requirement_ids, function, renderings, profile, phase
        )
        return function

    return register


def all_cases() -> list[Case]:
    """Every registered case, in registration order (main phase first)."""
    for module in MODULES:
        importlib.import_module(module)
    cases = list(_REGISTRY.values())
    return [c for c in cases if c.phase == "main"] + [c for c in cases if c.phase != "main"]


def covered_requirements() -> set[str]:
    """The ids of the requirements at least one case checks."""
    return {r for c in all_cases() for r in c.requirements}
