"""The run's state and a case's two outcomes: :class:`RunConfig`, :class:`Session`,
:class:`CaseFailed` and :class:`CaseSkipped`.

They sit below everything else in :mod:`conformance.cases`: the OCCI and CIMI
support modules keep their caches in the :class:`Session` and raise the two
outcomes, and :mod:`conformance.cases.context` hands those support objects to
each case; so this module imports none of them. Cases and the runner import
these names from :mod:`conformance.cases.context`, which re-exports them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from conformance.client import Auth, Client, Exchange, Recorder
from conformance.ledger import Ledger
from conformance.schemas import Schemas
from conformance.wait import Waiter

T = TypeVar("T")


class CaseFailed(Exception):
    """The server broke a requirement; carries the exchanges that prove it."""

    def __init__(self, message: str, exchanges: Iterable[Exchange] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.exchanges = tuple(exchanges)


class CaseSkipped(Exception):
    """The case cannot run here; the message is the reason, always given.

    :param caused_by: the name of the earlier result (``case id [rendering]``) whose
        failure left this case without what it needs, when that is the reason.
    """

    def __init__(self, reason: str, caused_by: str = "") -> None:
        super().__init__(reason)
        self.caused_by = caused_by


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
    #: The result (``case id [rendering]``) that was running when each cached failure
    #: was computed, so that the skips it causes can name it.
    failed_in: dict[str, str] = field(default_factory=dict)
    #: The name of the result being run now.
    current_case: str = ""
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
                self.failed_in[key] = self.current_case
        state, value = self.cache[key]
        if state == "raise":
            if isinstance(value, CaseFailed) and not failing:
                where = self.failed_in.get(key, "")
                during = f" in {where}" if where else ""
                raise CaseSkipped(
                    f"needs {key}, which failed{during}: {value.message}", caused_by=where
                )
            raise value
        return value
