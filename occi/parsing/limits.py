"""The bounds every OCCI rendering is parsed within: the one place they are declared.

Each parser checks them while it reads, before it interprets a value, in
time linear in the size of what it was given; so no request costs more than
a bound proportional to its size (docs/security.rst). The body's own size and
the request headers (count, each field's length, their total) are bounded at
the edge, before a parser runs (:mod:`concord.tweens`: 413 and 431).

==================  ============================================  ===============================
limit               what it bounds                                setting (default)
==================  ============================================  ===============================
``max_depth``       nesting of a JSON body                        ``max_document_depth`` (32)
``max_elements``    values of a JSON body; lines of a text/plain  ``max_document_elements``
                    body; rendered values (Category, Link,        (10000)
                    X-OCCI-Attribute, X-OCCI-Location) of a text
                    rendering, in the body or the headers
``max_attributes``  members of one JSON object; X-OCCI-Attribute  ``max_element_attributes``
                    values of one text rendering; attributes of   (256)
                    one Link value
``max_line_bytes``  one line of a text/plain body (a rendered     ``max_header_line_bytes``
                    header line), continuation lines included     (16384)
==================  ============================================  ===============================

Every refusal is a :class:`~occi.parsing.errors.ParseError` (400) naming the
limit. The defaults are those of :class:`concord.settings.Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from concord.settings import Settings
from occi.parsing.errors import ParseError


@dataclass(frozen=True)
class Limits:
    """Bounds on one OCCI rendering (see the module docstring)."""

    max_depth: int = Settings.max_document_depth
    max_elements: int = Settings.max_document_elements
    max_attributes: int = Settings.max_element_attributes
    max_line_bytes: int = Settings.max_header_line_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits a server's settings ask for."""
        return cls(
            max_depth=settings.max_document_depth,
            max_elements=settings.max_document_elements,
            max_attributes=settings.max_element_attributes,
            max_line_bytes=settings.max_header_line_bytes,
        )

    def too_deep(self) -> ParseError:
        """A JSON body nested deeper than :attr:`max_depth`."""
        return ParseError(f"the document is nested more than {self.max_depth} levels deep")

    def too_many(self, what: str, where: str | None = None) -> ParseError:
        """More than :attr:`max_elements` of ``what`` (JSON values, lines, values)."""
        return ParseError(f"the rendering has more than {self.max_elements} {what}", where)

    def too_many_values(self) -> ParseError:
        """The error for a JSON document with more values than ``max_elements``."""
        return self.too_many("JSON values")

    def too_many_attributes(self, where: str | None = None) -> ParseError:
        """More than :attr:`max_attributes` attributes in one rendering or Link."""
        return ParseError(f"more than {self.max_attributes} attributes", where)

    def too_many_members(self) -> ParseError:
        """A JSON object with more than :attr:`max_attributes` members."""
        return ParseError(f"a JSON object has more than {self.max_attributes} members")

    def line_too_long(self, where: str) -> ParseError:
        """A text/plain line longer than :attr:`max_line_bytes`."""
        return ParseError(f"longer than {self.max_line_bytes} bytes", where)


DEFAULT_LIMITS = Limits()
