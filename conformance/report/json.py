"""The machine-readable report: every result with its evidence, every requirement's verdict."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.results import Report, summary


def as_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-able data."""
    table = summary(report.verdicts)
    return {
        "harness": f"concord-conformance {__version__}",
        "url": report.url,
        "profile": report.profile,
        "protocols": list(report.protocols),
        "started": report.started,
        "finished": report.finished,
        "facts": report.facts,
        "exit_status": report.exit_status,
        "summary": {
            level.value: {v.value: n for v, n in counts.items()} for level, counts in table.items()
        },
        "requirements": [
            {
                "id": v.requirement.id,
                "document": v.requirement.document,
                "section": v.requirement.section,
                "level": v.requirement.level.value,
                "area": v.requirement.area,
                "summary": v.requirement.summary,
                "verdict": v.verdict.value,
                "cases": sorted({r.name for r in v.results}),
                "reason": v.reason,
            }
            for v in report.verdicts
        ],
        "results": [
            {
                "case": r.case_id,
                "title": r.title,
                "protocol": r.protocol,
                "rendering": r.rendering,
                "status": r.status.value,
                "level": r.level.value,
                "requirements": list(r.requirements),
                "message": r.message,
                # A skip an earlier failure caused: that result's "case [rendering]".
                "caused_by": r.caused_by or None,
                "duration": round(r.duration, 4),
                "evidence": [asdict(e) for e in r.evidence],
            }
            for r in report.results
        ],
    }


def write(report: Report, path: Path) -> None:
    """Write the JSON report to ``path``."""
    path.write_text(json.dumps(as_dict(report), indent=2) + "\n", encoding="utf-8")
