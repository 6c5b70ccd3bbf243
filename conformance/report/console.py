"""The terminal: a progress display while the run goes, a summary table at the end."""

from __future__ import annotations

import sys
from typing import TextIO

from conformance.report import COLUMNS
from conformance.requirements import Level
from conformance.results import Report, Result, Status, Verdict, summary

_MARK = {Status.PASS: ".", Status.FAIL: "F", Status.SKIP: "s", Status.ERROR: "E"}
_WORD = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "skip", Status.ERROR: "ERROR"}


class Progress:
    """Shows each result as it arrives.

    On a terminal, one line is rewritten in place (counts and the current case);
    otherwise, one line per result, so logs stay readable.
    """

    def __init__(self, total: int, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() and not verbose
        self.verbose = verbose
        self.done = 0
        self.counts = dict.fromkeys(Status, 0)

    def __call__(self, result: Result) -> None:
        """Record and show one result."""
        self.done += 1
        self.counts[result.status] += 1
        width = len(str(max(self.total, self.done)))
        position = f"[{self.done:>{width}}/{max(self.total, self.done)}]"
        if self.live:
            tally = " ".join(f"{_MARK[s]}{self.counts[s]}" for s in Status)
            line = f"\r{position} {tally}  {result.name}"[:118]
            self.stream.write(line.ljust(120))
        else:
            reason = (
                f"  ({result.message})" if result.message and result.status != Status.PASS else ""
            )
            self.stream.write(f"{position} {_WORD[result.status]:5} {result.name}{reason}\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the live line."""
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def render_summary(report: Report, failures: int = 25) -> str:
    """The summary table (requirements by level and verdict), then what failed and why."""
    table = summary(report.verdicts)
    headers = ["level", *(c.value for c in COLUMNS)]
    rows = [[level.value, *(str(table[level][c]) for c in COLUMNS)] for level in Level]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        f"Conformance of {report.url} ({', '.join(report.protocols)}, profile {report.profile})",
        "",
        "Requirements:",
        "  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
    ]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    counts = report.counts()
    lines += ["", "Case runs: " + ", ".join(f"{counts[s]} {s.value}" for s in Status)]
    failed = [v for v in report.verdicts if v.verdict is Verdict.FAILED]
    if failed:
        lines += ["", "Failed requirements:"]
        for verdict in sorted(failed, key=lambda v: v.requirement.level.rank)[:failures]:
            req = verdict.requirement
            lines.append(f"  {req.level.value:6} {req.id}: {verdict.reason}")
        if len(failed) > failures:
            lines.append(f"  ... and {len(failed) - failures} more (see the reports)")
    skipped = [r for r in report.results if r.status is Status.SKIP]
    if skipped:
        reasons: dict[str, int] = {}
        for result in skipped:
            reasons[result.message] = reasons.get(result.message, 0) + 1
        lines += ["", "Skip reasons:"]
        for reason, number in sorted(reasons.items(), key=lambda item: -item[1])[:12]:
            lines.append(f"  {number:4}  {reason}")
    musts = report.failed_musts
    lines += [
        "",
        f"{len(musts)} MUST requirement(s) failed." if musts else "No MUST requirement failed.",
    ]
    return "\n".join(lines)
