"""A case and what it runs with: the :class:`Case` record and a per-case :class:`CaseContext`.

The run-wide pieces (:class:`RunConfig`, :class:`Session`, :class:`CaseFailed`,
:class:`CaseSkipped`) live in :mod:`conformance.cases.session`, below the OCCI and
CIMI support modules that this module hands to cases; they are imported here so
that a case finds everything it needs in one place. The registry in
:mod:`conformance.cases` builds :class:`Case` records from this module, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from conformance.cases.cimi.support import CimiSupport
from conformance.cases.occi.fixtures import OcciFixtures
from conformance.cases.session import CaseFailed, CaseSkipped, RunConfig, Session
from conformance.client import Client, Exchange
from conformance.requirements import Level, catalogue

__all__ = [
    "Case",
    "CaseContext",
    "CaseFailed",
    "CaseFunction",
    "CaseSkipped",
    "RunConfig",
    "Session",
]

CaseFunction = Callable[["CaseContext"], None]


@dataclass(frozen=True)
class Case:
    """One check, as data."""

    id: str
    title: str
    protocol: str
    requirements: tuple[str, ...]
    function: CaseFunction
    #: The renderings it runs in; None means once, rendering-independent.
    renderings: tuple[str, ...] | None = None
    #: "read-only" (GET only) or "full" (creates and deletes what it owns).
    profile: str = "read-only"
    #: "main", or "final" for checks over every exchange of the run.
    phase: str = "main"

    @property
    def level(self) -> Level:
        """The strongest level among its requirements."""
        levels = [catalogue()[r].level for r in self.requirements]
        return min(levels, key=lambda level: level.rank)


class CaseContext:
    """What one case sees while it runs in one rendering."""

    def __init__(self, session: Session, case: Case, rendering: str | None) -> None:
        self.session = session
        self.case = case
        self.rendering = rendering

    @property
    def client(self) -> Client:
        """The primary identity."""
        return self.session.client

    @property
    def config(self) -> RunConfig:
        """The run's configuration."""
        return self.session.config

    @property
    def full(self) -> bool:
        """Whether the run may create and delete (the full profile)."""
        return self.session.config.profile == "full"

    @property
    def occi(self) -> OcciFixtures:
        """OCCI discovery and helpers (shared by the run)."""
        return OcciFixtures.of(self.session)

    @property
    def cimi(self) -> CimiSupport:
        """CIMI discovery and helpers (shared by the run)."""
        return CimiSupport.of(self.session)

    @property
    def media(self) -> str:
        """The rendering this case runs in (for rendering-dimension cases)."""
        if self.rendering is None:
            raise RuntimeError(f"case {self.case.id} has no rendering dimension")
        return self.rendering

    def fail(self, message: str, *exchanges: Exchange) -> NoReturn:
        """Report a failure with the exchanges that prove it."""
        raise CaseFailed(message, exchanges)

    def skip(self, reason: str) -> NoReturn:
        """Skip this case, saying why."""
        raise CaseSkipped(reason)

    def check(self, condition: object, message: str, *exchanges: Exchange) -> None:
        """Fail with ``message`` unless ``condition`` holds."""
        if not condition:
            self.fail(message, *exchanges)

    def require(self, condition: object, reason: str) -> None:
        """Skip with ``reason`` unless a precondition holds: a failed set-up (creating
        what the case needs) is not a failure of what the case tests."""
        if not condition:
            self.skip(reason)

    def expect_status(self, exchange: Exchange, *codes: int, what: str = "") -> None:
        """Fail unless the response status is one of ``codes``."""
        if exchange.status not in codes:
            expected = " or ".join(map(str, codes))
            label = f"{what}: " if what else ""
            self.fail(f"{label}{exchange.summary()}, expected {expected}", exchange)
