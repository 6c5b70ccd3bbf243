"""What a case runs with: the run's :class:`Session` and a per-case :class:`CaseContext`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from conformance.client import Auth, Client, Exchange, Recorder
from conformance.ledger import Ledger
from conformance.schemas import Schemas
from conformance.wait import Waiter

if TYPE_CHECKING:
    from conformance.cases import Case
    from conformance.cases.cimi.support import CimiSupport
    from conformance.cases.occi.fixtures import OcciFixtures

T = TypeVar("T")


class CaseFailed(Exception):
    """The server broke a requirement; carries the exchanges that prove it."""

    def __init__(self, message: str, exchanges: Iterable[Exchange] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.exchanges = tuple(exchanges)


class CaseSkipped(Exception):
    """The case cannot run here; the message is the reason, always given."""


@dataclass
class RunConfig:
    """Everything a run needs to know (the CLI fills it)."""

    url: str
    protocols: tuple[str, ...] = ("occi", "cimi")
    #: The user asked for these protocols (--occi/--cimi): a missing endpoint fails.
    explicit: bool = False
    profile: str = "read-only"
    auth: Auth | None = None
    other_auth: Auth | None = None
    timeout: float = 30.0
    wait_timeout: float = 60.0
    #: Restrict the renderings (empty: every rendering the spec or the server offers).
    renderings: tuple[str, ...] = ()
    cep: str | None = None
    #: fnmatch patterns over case ids (empty: all).
    select: tuple[str, ...] = ()
    schemas_root: Path | None = None
    verify_tls: bool = True


@dataclass
class Session:
    """Run-wide state shared by the cases: clients, schemas, caches, what was created."""

    config: RunConfig
    client: Client
    other: Client | None
    anonymous: Client
    schemas: Schemas
    waiter: Waiter
    ledger: Ledger = field(default_factory=Ledger)
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    cache: dict[str, Any] = field(default_factory=dict)
    _counter: int = 0

    @property
    def recorder(self) -> Recorder:
        """The recorder every client of the run shares."""
        return self.client.recorder

    def unique(self, what: str) -> str:
        """A name no other run or object uses: ``conformance-<run>-<what>-<n>``."""
        self._counter += 1
        return f"conformance-{self.run_id}-{what}-{self._counter}"

    def memo(self, key: str, compute: Callable[[], T], *, failing: bool = False) -> T:
        """Compute once per run; a skip or failure is remembered and raised again.

        A remembered failure is raised as such only to callers that test the thing
        itself (``failing=True``); to the others it is a missing dependency, a skip.
        """
        if key not in self.cache:
            try:
                self.cache[key] = ("ok", compute())
            except (CaseSkipped, CaseFailed) as exc:
                self.cache[key] = ("raise", exc)
        state, value = self.cache[key]
        if state == "raise":
            if isinstance(value, CaseFailed) and not failing:
                raise CaseSkipped(f"needs {key}, which failed: {value.message}")
            raise value
        return value


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
        from conformance.cases.occi.fixtures import OcciFixtures

        return OcciFixtures.of(self.session)

    @property
    def cimi(self) -> CimiSupport:
        """CIMI discovery and helpers (shared by the run)."""
        from conformance.cases.cimi.support import CimiSupport

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
