"""What a requirement is: its RFC 2119 :class:`Level`, the :class:`Requirement` record,
and :func:`table`, which builds one document's requirements from compact rows.

The per-document modules (:mod:`.occi_core`, :mod:`.cimi_protocol`, ...) are
written in these terms and the catalogue in :mod:`conformance.requirements`
gathers them, so this module sits below both and imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """RFC 2119 levels, strongest first."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    @property
    def rank(self) -> int:
        """0 for MUST, 1 for SHOULD, 2 for MAY (for sorting and for "strongest of")."""
        return ("MUST", "SHOULD", "MAY").index(self.value)


MUST, SHOULD, MAY = Level.MUST, Level.SHOULD, Level.MAY


@dataclass(frozen=True)
class Requirement:
    """One normative statement of a specification."""

    id: str
    document: str
    section: str
    level: Level
    summary: str
    area: str
    protocol: str
    subject: str = "server"
    #: Why it is not testable black-box, or how an ambiguous text is read.
    note: str = ""


Row = tuple[str, str, Level, str] | tuple[str, str, Level, str, str]


def table(
    document: str, area: str, protocol: str, rows: Iterable[Row], subject: str = "server"
) -> tuple[Requirement, ...]:
    """Build requirements of one document and area from compact rows.

    A row is ``(slug, section, level, summary[, note])``; the id is ``document/slug``.
    """
    built = []
    for row in rows:
        slug, section, level, summary = row[:4]
        note = row[4] if len(row) > 4 else ""
        built.append(
            Requirement(
                id=f"{document}/{slug}",
                document=document,
                section=section,
                level=level,
                summary=summary,
                area=area,
                protocol=protocol,
                subject=subject,
                note=note,
            )
        )
    return tuple(built)
