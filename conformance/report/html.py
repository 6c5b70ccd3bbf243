"""A self-contained HTML report: the summary, the requirement matrix, and every failure
with the request and response that proved it."""

from __future__ import annotations

from html import escape
from pathlib import Path

from conformance import __version__
from conformance.report import COLUMNS, by_area
from conformance.requirements import Level
from conformance.results import Report, RequirementVerdict, Result, Status, Verdict, summary

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;
vertical-align:top}th{background:#f3f3f3;text-align:left}
.passed,.pass{background:#e3f6e3}.failed,.fail,.error{background:#fbe1e1}
.skipped,.skip{background:#fdf5d9}.not-run,.no-case{background:#eee;color:#666}
pre{background:#f7f7f7;border:1px solid #ddd;padding:6px;font-size:12px;
white-space:pre-wrap;overflow-wrap:anywhere}
.small{font-size:12px;color:#555}h2{margin-top:2em}
"""


def _cls(value: str) -> str:
    return value.replace(" ", "-")


def failure_id(name: str) -> str:
    """The anchor of a failure's section (``name`` is the result's :attr:`~Result.name`)."""
    return "failure-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _summary(report: Report, failures: int) -> str:
    table = summary(report.verdicts)
    # A column no requirement falls in says nothing: leave it out.
    columns = [c for c in COLUMNS if any(table[level][c] for level in Level)]
    head = "".join(f"<th>{c.value}</th>" for c in columns)

    def cell(level: Level, column: Verdict) -> str:
        count = table[level][column]
        shown = (
            f'<a href="#failures">{count}</a>'
            if column is Verdict.FAILED and count and failures
            else str(count)
        )
        return f'<td class="{_cls(column.value)}">{shown}</td>'

    rows = "".join(
        f"<tr><th>{level.value}</th>" + "".join(cell(level, c) for c in columns) + "</tr>"
        for level in Level
    )
    return f"<table><tr><th>level</th>{head}</tr>{rows}</table>"


def _cells(verdict: RequirementVerdict, renderings: list[str]) -> str:
    cells = []
    for rendering in renderings:
        runs = [r for r in verdict.results if (r.rendering or "any") == rendering]
        if not runs:
            cells.append("<td></td>")
            continue
        worst = min(
            runs,
            key=lambda r: [Status.FAIL, Status.ERROR, Status.SKIP, Status.PASS].index(r.status),
        )
        title = escape(worst.message or worst.case_id, quote=True)
        text = worst.status.value
        if worst.status in (Status.FAIL, Status.ERROR):
            text = f'<a href="#{failure_id(worst.name)}">{text}</a>'
        elif worst.caused_by:
            text = f'<a href="#{failure_id(worst.caused_by)}">{text}</a>'
        cells.append(f'<td class="{worst.status.value}" title="{title}">{text}</td>')
    return "".join(cells)


def _matrix(report: Report) -> str:
    parts = []
    for area, verdicts in by_area(report.verdicts).items():
        # Only the renderings some case of this area ran in (or was skipped in).
        renderings = sorted({r.rendering or "any" for v in verdicts for r in v.results})
        head = "".join(f"<th>{escape(r)}</th>" for r in renderings)
        rows = []
        for verdict in verdicts:
            req = verdict.requirement
            note = f'<div class="small">{escape(req.note)}</div>' if req.note else ""
            rows.append(
                f'<tr><td><a id="{escape(req.id, quote=True)}"></a>{escape(req.id)}</td>'
                f"<td>{req.level.value}</td><td>{escape(req.section)}</td>"
                f"<td>{escape(req.summary)}{note}</td>"
                f'<td class="{_cls(verdict.verdict.value)}">{verdict.verdict.value}</td>'
                f"{_cells(verdict, renderings)}</tr>"
            )
        parts.append(
            f"<h3>{escape(area)}</h3><table><tr><th>requirement</th><th>level</th>"
            f"<th>section</th><th>summary</th><th>verdict</th>{head}</tr>{''.join(rows)}</table>"
        )
    return "".join(parts)


def _failure(result: Result) -> str:
    evidence = "".join(f"<pre>{escape(e.as_text())}</pre>" for e in result.evidence)
    links = ", ".join(
        f'<a href="#{escape(r, quote=True)}">{escape(r)}</a>' for r in result.requirements
    )
    return (
        f'<div class="{result.status.value}" id="{failure_id(result.name)}">'
        f"<h4>{escape(result.name)} ({result.level.value}): {escape(result.title)}</h4>"
        f'<p>{escape(result.message)}</p><p class="small">requirements: {links}</p></div>'
        f"{evidence or '<p class=small>(no exchange recorded)</p>'}"
    )


def document(report: Report) -> str:
    """The HTML text of ``report``."""
    failed = sorted(
        (r for r in report.results if r.status in (Status.FAIL, Status.ERROR)),
        key=lambda r: r.level.rank,
    )
    facts = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in report.facts.items()
    )
    verdict = (
        f"{len(report.failed_musts)} MUST requirement(s) failed"
        if report.failed_musts
        else "no MUST requirement failed"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>Conformance of {escape(report.url)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Conformance of {escape(report.url)}</h1>"
        f"<p>{escape(', '.join(report.protocols))}, profile {escape(report.profile)}, "
        f"{escape(report.started)} to {escape(report.finished)}: <b>{verdict}</b>.</p>"
        f"<table>{facts}</table><h2>Summary (requirements)</h2>{_summary(report, len(failed))}"
        f"{_failure_index(failed)}"
        f'<h2 id="failures">Failures ({len(failed)})</h2>{"".join(_failure(r) for r in failed)}'
        f"{_caused_skips(report)}"
        f"<h2>Requirement matrix</h2>{_matrix(report)}"
        f'<p class="small">concord-conformance {__version__}</p></body></html>'
    )


def _failure_index(failed: list[Result]) -> str:
    if not failed:
        return ""
    items = "".join(
        f'<li><a href="#{failure_id(r.name)}">{escape(r.name)}</a> '
        f"({r.level.value}): {escape(r.title)}</li>"
        for r in failed
    )
    return f"<ul>{items}</ul>"


def _caused_skips(report: Report) -> str:
    """The skips an earlier failure caused, each with a link to that failure."""
    caused = [r for r in report.results if r.status is Status.SKIP and r.caused_by]
    if not caused:
        return ""
    items = "".join(
        f"<li>{escape(r.name)}: {escape(r.message)} "
        f'(<a href="#{failure_id(r.caused_by)}">the failure</a>)</li>'
        for r in caused
    )
    return f"<h2>Skipped because of a failure ({len(caused)})</h2><ul>{items}</ul>"


def write(report: Report, path: Path) -> None:
    """Write the HTML report to ``path``."""
    path.write_text(document(report), encoding="utf-8")
