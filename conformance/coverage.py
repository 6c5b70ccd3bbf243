"""Requirement coverage: which requirements of each area have cases, published in the docs.

``python -m conformance.coverage --write docs/conformance.rst`` regenerates the
tables between the markers of that page; ``--check`` fails when they are stale
(the test suite runs the check, so the published numbers cannot drift).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.cases import all_cases
from conformance.requirements import AREAS, Level, Requirement, catalogue

BEGIN = ".. BEGIN GENERATED COVERAGE (python -m conformance.coverage --write)"
END = ".. END GENERATED COVERAGE"


@dataclass(frozen=True)
class AreaCoverage:
    """How many server requirements of one area, per level, have at least one case."""

    area: str
    total: dict[Level, int]
    covered: dict[Level, int]

    def percent(self, level: Level) -> float | None:
        """Covered share of ``level`` in percent (None when the area has none)."""
        total = self.total[level]
        return None if not total else 100.0 * self.covered[level] / total


def cases_by_requirement() -> dict[str, list[str]]:
    """Case ids per requirement id."""
    found: dict[str, list[str]] = {}
    for case in all_cases():
        for requirement in case.requirements:
            found.setdefault(requirement, []).append(case.id)
    return found


def coverage() -> list[AreaCoverage]:
    """Coverage of every area, in area order."""
    cases = cases_by_requirement()
    result = []
    for area in AREAS:
        items = [r for r in catalogue().values() if r.area == area and r.subject == "server"]
        total = {level: sum(r.level is level for r in items) for level in Level}
        covered = {level: sum(r.level is level and r.id in cases for r in items) for level in Level}
        result.append(AreaCoverage(area, total, covered))
    return result


def _cell(area: AreaCoverage, level: Level) -> str:
    percent = area.percent(level)
    if percent is None:
        return "—"
    return f"{area.covered[level]}/{area.total[level]} ({percent:.0f}%)"


def _row(cells: Sequence[str]) -> list[str]:
    first, *rest = cells
    return [f"   * - {first}", *(f"     - {cell}" for cell in rest)]


def summary_rst() -> str:
    """The per-area coverage table (reStructuredText)."""
    lines = [
        ".. list-table:: Requirements with at least one case",
        "   :header-rows: 1",
        "",
        *_row(["Area", "MUST", "SHOULD", "MAY"]),
    ]
    for area in coverage():
        lines += _row([area.area, *(_cell(area, level) for level in Level)])
    return "\n".join(lines)


def _requirement_row(requirement: Requirement, cases: list[str]) -> list[str]:
    note = f" *({requirement.note})*" if requirement.note and not cases else ""
    listed = ", ".join(f"``{c}``" for c in cases) or "none"
    return _row(
        [
            f"``{requirement.id}``",
            requirement.level.value,
            requirement.section.replace("*", "\\*"),
            requirement.summary.replace("*", "\\*") + note,
            listed,
        ]
    )


def requirements_rst() -> str:
    """One table per area: every requirement, its level, section, summary and cases."""
    cases = cases_by_requirement()
    parts = []
    for area in AREAS:
        items = [r for r in catalogue().values() if r.area == area and r.subject == "server"]
        lines = [
            area,
            "~" * len(area),
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 22 7 16 35 20",
            "",
            *_row(["Requirement", "Level", "Section", "Summary", "Cases"]),
        ]
        for requirement in items:
            lines += _requirement_row(requirement, cases.get(requirement.id, []))
        parts.append("\n".join(lines))
    clients = [r for r in catalogue().values() if r.subject == "client"]
    parts.append(
        "\n".join(
            [
                "Requirements on clients",
                "~" * 23,
                "",
                "The harness is a client and honours these itself; they are not counted above.",
                "",
                *(f"* ``{r.id}`` ({r.level.value}): {r.summary}" for r in clients),
            ]
        )
    )
    return "\n\n".join(parts)


def generated() -> str:
    """Everything between the markers."""
    return f"{BEGIN}\n\n{summary_rst()}\n\n{requirements_rst()}\n\n{END}"


def splice(text: str) -> str:
    """``text`` with the generated block replaced.

    :raises ValueError: the markers are missing.
    """
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError("the coverage markers are missing")
    return text[:start] + generated() + text[end + len(END) :]


def main(argv: Sequence[str] | None = None) -> int:
    """``--write PATH`` regenerates the tables; ``--check PATH`` exits 1 when stale."""
    parser = argparse.ArgumentParser(prog="python -m conformance.coverage")
    parser.add_argument("--write", type=Path, help="regenerate the tables in this .rst file")
    parser.add_argument("--check", type=Path, help="exit 1 if this .rst file is stale")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(splice(args.write.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    if args.check:
        text = args.check.read_text(encoding="utf-8")
        if splice(text) != text:
            print(
                f"{args.check} is stale: run python -m conformance.coverage --write {args.check}",
                file=sys.stderr,
            )
            return 1
        return 0
    print(summary_rst())
    return 0


if __name__ == "__main__":
    sys.exit(main())
