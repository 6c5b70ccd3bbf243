"""Plan and run the cases against one endpoint, yielding results as they come.

For each protocol: a preflight (is there an OCCI query interface, a CIMI Cloud
Entry Point?), then the cases in registration order, each in every rendering it
asks for that the server must or does offer, then the cleanup of what the full
profile created (always, even when interrupted), then the checks over every
exchange of the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import time
import traceback
from collections.abc import Generator, Iterator, Sequence

from conformance.cases import Case, all_cases, covered_requirements
from conformance.cases.context import CaseContext, CaseFailed, CaseSkipped, RunConfig, Session
from conformance.client import Client, Exchange, Recorder, Transport, TransportError
from conformance.formats.occi_model import OCCI_JSON, TEXT_OCCI, TEXT_PLAIN
from conformance.requirements import Level, catalogue
from conformance.results import Evidence, Report, Result, Status, verdicts
from conformance.schemas import Schemas, SchemaUnavailable
from conformance.transports import HTTPTransport
from conformance.wait import Waiter, WaitTimeout

_CLEANUP_REQUIREMENTS = {
    "occi": ("GFD.223/entity.DELETE.status", "GFD.223/entity.DELETE.gone"),
    "cimi": ("DSP0263/crud.delete",),
}


UNREACHABLE = "the endpoint does not answer"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Runner:
    """Runs the harness once; iterate :meth:`run`, then read :meth:`report`."""

    def __init__(
        self,
        config: RunConfig,
        transport: Transport | None = None,
        waiter: Waiter | None = None,
        cases: Sequence[Case] | None = None,
    ) -> None:
        self.config = config
        recorder = Recorder()
        self.transport: Transport = transport or HTTPTransport(verify_tls=config.verify_tls)
        client = Client(
            config.url, self.transport, auth=config.auth, timeout=config.timeout, recorder=recorder
        )
        other = (
            client.derive(auth=config.other_auth, identity="other")
            if config.other_auth is not None
            else None
        )
        self.session = Session(
            config=config,
            client=client,
            other=other,
            anonymous=client.derive(auth=None, identity="anonymous"),
            schemas=Schemas.at(config.schemas_root),
            waiter=waiter or Waiter(timeout=config.wait_timeout),
        )
        self.cases = list(cases) if cases is not None else all_cases()
        self.results: list[Result] = []
        self.facts: dict[str, str] = {}
        self.started = ""
        self.finished = ""

    # ------------------------------------------------------------ planning

    def selected(self, case: Case) -> bool:
        """Whether ``--case`` patterns (if any) select ``case``."""
        patterns = self.config.select
        return not patterns or any(fnmatch.fnmatchcase(case.id, p) for p in patterns)

    def planned(self, protocol: str) -> list[Case]:
        """The selected cases of ``protocol``, main phase first."""
        return [c for c in self.cases if c.protocol == protocol and self.selected(c)]

    def total(self) -> int:
        """How many results the cases will produce (for progress displays; approximate)."""
        return sum(
            len(c.renderings or (None,))
            for protocol in self.config.protocols
            for c in self.planned(protocol)
        )

    # ------------------------------------------------------------ running

    def run(self) -> Generator[Result, None, None]:
        """Run everything, yielding each result as soon as it is known."""
        self.started = _now()
        for protocol in self.config.protocols:
            yield from self._protocol(protocol)
        self.finished = _now()

    def _protocol(self, protocol: str) -> Iterator[Result]:
        self.session.recorder.start_case(protocol)
        offered, reason = self._preflight(protocol)
        if reason.startswith(UNREACHABLE):
            requirement = "GFD.223/query.exists" if protocol == "occi" else "DSP0263/cep.read"
            result = Result(
                f"{protocol}.reachable",
                "The endpoint answers",
                protocol,
                None,
                Status.ERROR,
                (requirement,),
                Level.MUST,
                reason,
            )
            self.results.append(result)
            yield result
        cases = self.planned(protocol)
        main = [c for c in cases if c.phase == "main"]
        final = [c for c in cases if c.phase != "main"]
        cleanup: Result | None = None
        try:
            for case in main:
                yield from self._case(case, offered, reason)
        finally:
            cleanup = self._cleanup(protocol)
        if cleanup is not None:
            self.results.append(cleanup)
            yield cleanup
        for case in final:
            yield from self._case(case, offered, reason)

    def _preflight(self, protocol: str) -> tuple[tuple[str, ...], str]:
        """The renderings to use, and a reason to skip everything (empty: go ahead)."""
        try:
            if protocol == "occi":
                return self._occi_preflight()
            return self._cimi_preflight()
        except TransportError as exc:
            return (), f"{UNREACHABLE}: {exc}"

    def _occi_preflight(self) -> tuple[tuple[str, ...], str]:
        exchange = self.session.client.get("-/", TEXT_PLAIN)
        self.facts["OCCI Server header"] = exchange.response.header("Server") or "(none)"
        if exchange.status == 401 and self.config.auth is None:
            return (), "the server requires credentials (--user/--password or --api-key)"
        if exchange.status == 404 and not self.config.explicit:
            return (), f"no OCCI query interface at {exchange.request.url} (404)"
        renderings = [TEXT_PLAIN, TEXT_OCCI]
        json = self.session.client.get("-/", OCCI_JSON)
        if json.status == 200 and json.response.media_type == OCCI_JSON:
            renderings.append(OCCI_JSON)
        self.facts["OCCI renderings offered"] = ", ".join(renderings)
        return self._restrict(tuple(renderings)), ""

    def _cimi_preflight(self) -> tuple[tuple[str, ...], str]:
        from conformance.cases.cimi.support import CimiSupport

        support = CimiSupport.of(self.session)
        found = support.locate_cep()
        # As for OCCI: a CEP that answers only signed-in clients is there.
        if (
            found is None
            and self.config.auth is None
            and support.tried
            and self.session.client.get(support.tried[0], "application/json").status == 401
        ):
            return (), "the server requires credentials (--user/--password or --api-key)"
        if found is None:
            reason = f"no Cloud Entry Point found (tried {', '.join(support.tried)}; use --cep)"
            return (
                (self._restrict(("application/json", "application/xml")), "")
                if (self.config.explicit)
                else ((), reason)
            )
        self.facts["CIMI Cloud Entry Point"] = found
        return self._restrict(("application/json", "application/xml")), ""

    def _restrict(self, renderings: tuple[str, ...]) -> tuple[str, ...]:
        wanted = self.config.renderings
        return tuple(r for r in renderings if not wanted or r in wanted)

    def _case(self, case: Case, offered: tuple[str, ...], reason: str) -> Iterator[Result]:
        for rendering in case.renderings or (None,):
            if reason:
                result = self._result(case, rendering, Status.SKIP, reason)
            elif case.profile == "full" and self.config.profile != "full":
                result = self._result(
                    case,
                    rendering,
                    Status.SKIP,
                    "needs --profile full (creates and deletes its own resources)",
                )
            elif rendering is not None and rendering not in offered:
                why = (
                    "not selected with --rendering"
                    if self.config.renderings
                    else "the server does not offer it"
                )
                result = self._result(case, rendering, Status.SKIP, f"{rendering}: {why}")
            else:
                result = self._execute(case, rendering)
            self.results.append(result)
            yield result

    def _execute(self, case: Case, rendering: str | None) -> Result:
        recorder = self.session.recorder
        recorder.start_case(case.protocol)
        started = time.perf_counter()
        exchanges: tuple[Exchange, ...] = ()
        caused_by = ""
        self.session.current_case = f"{case.id} [{rendering}]" if rendering else case.id
        try:
            case.function(CaseContext(self.session, case, rendering))
            status, message = Status.PASS, ""
        except CaseFailed as exc:
            status, message, exchanges = Status.FAIL, exc.message, exc.exchanges
        except CaseSkipped as exc:
            status, message, caused_by = Status.SKIP, str(exc), exc.caused_by
        except SchemaUnavailable as exc:
            status, message = Status.SKIP, str(exc)
        except TransportError as exc:
            status, message = Status.FAIL, f"no response: {exc}"
        except WaitTimeout as exc:
            status, message = Status.FAIL, str(exc)
        except Exception as exc:  # the harness's own bug: report it, keep going
            where = traceback.extract_tb(exc.__traceback__)[-1]
            status = Status.ERROR
            message = f"harness error {type(exc).__name__}: {exc} ({where.filename}:{where.lineno})"
        if status in (Status.FAIL, Status.ERROR) and not exchanges:
            exchanges = tuple(recorder.current[-1:])
        result = self._result(
            case,
            rendering,
            status,
            message,
            tuple(Evidence.of(e) for e in exchanges),
            time.perf_counter() - started,
        )
        return dataclasses.replace(result, caused_by=caused_by)

    def _result(
        self,
        case: Case,
        rendering: str | None,
        status: Status,
        message: str,
        evidence: tuple[Evidence, ...] = (),
        duration: float = 0.0,
    ) -> Result:
        return Result(
            case.id,
            case.title,
            case.protocol,
            rendering,
            status,
            case.requirements,
            case.level,
            message,
            evidence,
            duration,
        )

    def _cleanup(self, protocol: str) -> Result | None:
        ledger = self.session.ledger
        created = [i for i in ledger.items if i.protocol == protocol]
        if not created:
            return None
        self.session.recorder.start_case(protocol)
        started = time.perf_counter()
        problems = ledger.cleanup(protocol, self.session.waiter)
        status = Status.FAIL if problems else Status.PASS
        message = (
            ("could not remove: " + "; ".join(problems))
            if problems
            else (f"removed the {len(created)} objects the run created")
        )
        evidence = (
            tuple(Evidence.of(e) for e in self.session.recorder.current[-3:]) if problems else ()
        )
        return Result(
            f"{protocol}.cleanup",
            "Everything the run created is deleted and gone",
            protocol,
            None,
            status,
            _CLEANUP_REQUIREMENTS[protocol],
            Level.MUST,
            message,
            evidence,
            time.perf_counter() - started,
        )

    # ------------------------------------------------------------ the report

    def report(self) -> Report:
        """The report of the run so far."""
        found = verdicts(catalogue(), self.results, covered_requirements(), self.config.protocols)
        return Report(
            url=self.config.url,
            profile=self.config.profile,
            protocols=self.config.protocols,
            started=self.started,
            finished=self.finished or _now(),
            results=list(self.results),
            verdicts=found,
            facts=dict(self.facts),
        )
