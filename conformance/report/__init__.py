"""Reports of a finished run: :mod:`.console` (progress and summary), :mod:`.junit`,
:mod:`.json` and :mod:`.html` (the requirement matrix with the evidence of each failure).

Every writer takes a :class:`~conformance.results.Report`; :func:`matrix` gives
them the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.requirements import AREAS
from conformance.results import RequirementVerdict, Verdict


def by_area(verdicts: Iterable[RequirementVerdict]) -> dict[str, list[RequirementVerdict]]:
    """Verdicts grouped by area, in the catalogue's area order (empty areas left out)."""
    grouped: dict[str, list[RequirementVerdict]] = {area: [] for area in AREAS}
    for verdict in verdicts:
        grouped.setdefault(verdict.requirement.area, []).append(verdict)
    return {area: items for area, items in grouped.items() if items}


#: How verdicts are shown, in the order of the summary columns.
COLUMNS = (Verdict.PASSED, Verdict.FAILED, Verdict.SKIPPED, Verdict.NOT_RUN, Verdict.NO_CASE)
