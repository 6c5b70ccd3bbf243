"""What a run produces: one :class:`Result` per case and rendering, with its evidence,
and the per-requirement verdicts the reports summarise."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from conformance.client import Exchange
from conformance.requirements import Level, Requirement

#: Bodies in the evidence are cut to this many characters.
BODY_LIMIT = 4000


class Status(StrEnum):
    """The outcome of one case in one rendering."""

    PASS = "pass"  # noqa: S105  (a verdict, not a password)
    FAIL = "fail"
    SKIP = "skip"
    #: The harness could not run the case (its own bug); counted with the failures.
    ERROR = "error"


class Verdict(StrEnum):
    """The outcome of one requirement over every case that checks it."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    #: Cases exist but none ran (another protocol or filtered out).
    NOT_RUN = "not run"
    #: No case checks this requirement.
    NO_CASE = "no case"


def _cut(text: str, limit: int = BODY_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more)"


def _redact(name: str, value: str) -> str:
    return value.split(" ", 1)[0] + " [redacted]" if name.lower() == "authorization" else value


@dataclass(frozen=True)
class Evidence:
    """A request and its response, as shown in the reports (credentials redacted)."""

    identity: str
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    status: int
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    response_body: str
    elapsed: float

    @classmethod
    def of(cls, exchange: Exchange) -> Evidence:
        """The evidence of one exchange."""
        request, response = exchange.request, exchange.response
        return cls(
            identity=exchange.identity,
            method=request.method,
            url=request.url,
            request_headers=tuple((k, _redact(k, v)) for k, v in request.headers),
            request_body=_cut(request.body.decode("utf-8", errors="replace")),
            status=response.status,
            reason=response.reason,
            response_headers=tuple(response.headers),
            response_body=_cut(response.text),
            elapsed=exchange.elapsed,
        )

    def as_text(self) -> str:
        """The exchange written out like an HTTP trace."""
        lines = [f"> {self.method} {self.url}  ({self.identity})"]
        lines += [f"> {k}: {v}" for k, v in self.request_headers]
        if self.request_body:
            lines += [">", *(f"> {line}" for line in self.request_body.splitlines())]
        lines.append(f"< {self.status} {self.reason}  ({self.elapsed * 1000:.0f} ms)")
        lines += [f"< {k}: {v}" for k, v in self.response_headers]
        if self.response_body:
            lines += ["<", *(f"< {line}" for line in self.response_body.splitlines())]
        return "\n".join(lines)


@dataclass(frozen=True)
class Result:
    """One case run in one rendering."""

    case_id: str
    title: str
    protocol: str
    rendering: str | None
    status: Status
    requirements: tuple[str, ...]
    level: Level
    message: str = ""
    evidence: tuple[Evidence, ...] = ()
    duration: float = 0.0
    #: For a skip: the earlier result whose failure caused it (its :attr:`name`).
    caused_by: str = ""

    @property
    def name(self) -> str:
        """``case id [rendering]``."""
        return f"{self.case_id} [{self.rendering}]" if self.rendering else self.case_id


@dataclass
class RequirementVerdict:
    """A requirement and what its cases found."""

    requirement: Requirement
    verdict: Verdict
    results: list[Result] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The first failure (or skip) message, for the tables."""
        for status in (Status.FAIL, Status.ERROR, Status.SKIP):
            for result in self.results:
                if result.status is status and result.message:
                    return result.message
        return ""


def verdicts(
    catalogue: Mapping[str, Requirement],
    results: Iterable[Result],
    covered: Iterable[str],
    protocols: Sequence[str],
) -> list[RequirementVerdict]:
    """One verdict per server requirement of ``protocols``, in catalogue order."""
    by_requirement: dict[str, list[Result]] = {}
    for result in results:
        for requirement_id in result.requirements:
            by_requirement.setdefault(requirement_id, []).append(result)
    with_case = set(covered)
    found = []
    for requirement in catalogue.values():
        if requirement.subject != "server" or requirement.protocol not in protocols:
            continue
        related = by_requirement.get(requirement.id, [])
        statuses = {r.status for r in related}
        if requirement.id not in with_case:
            verdict = Verdict.NO_CASE
        elif not related:
            verdict = Verdict.NOT_RUN
        elif statuses & {Status.FAIL, Status.ERROR}:
            verdict = Verdict.FAILED
        elif Status.PASS in statuses:
            verdict = Verdict.PASSED
        else:
            verdict = Verdict.SKIPPED
        found.append(RequirementVerdict(requirement, verdict, related))
    return found


def summary(found: Iterable[RequirementVerdict]) -> dict[Level, Counter[Verdict]]:
    """Counts of verdicts per level (the summary table)."""
    table: dict[Level, Counter[Verdict]] = {level: Counter() for level in Level}
    for item in found:
        table[item.requirement.level][item.verdict] += 1
    return table


def must_failures(found: Iterable[RequirementVerdict]) -> list[RequirementVerdict]:
    """The MUST requirements that failed: any makes the exit status non-zero."""
    return [v for v in found if v.verdict is Verdict.FAILED and v.requirement.level is Level.MUST]


@dataclass
class Report:
    """A finished run: what was tested, how, and what was found."""

    url: str
    profile: str
    protocols: tuple[str, ...]
    started: str
    finished: str
    results: list[Result]
    verdicts: list[RequirementVerdict]
    #: Facts about the endpoint (Server header, renderings offered, CEP URL...).
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def failed_musts(self) -> list[RequirementVerdict]:
        """The MUST requirements that failed."""
        return must_failures(self.verdicts)

    @property
    def exit_status(self) -> int:
        """0 when no MUST failed, 1 otherwise."""
        return 1 if self.failed_musts else 0

    def counts(self) -> Counter[Status]:
        """Case results per status."""
        return Counter(r.status for r in self.results)
