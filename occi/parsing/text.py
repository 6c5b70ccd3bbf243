"""The text parsers: ``text/occi`` (headers) and ``text/plain`` (body lines).

There is one grammar (:mod:`occi.parsing.headers`). :class:`HeaderParser`
feeds it the request's HTTP headers; :class:`PlainParser` turns the body's
``Name: value`` lines into the same header lines first and changes nothing
else (GFD.229 §3.2: text/plain is the header rendering moved into the body).
"""

from __future__ import annotations

from occi.model import ActionInvocation, CategoryDefinitions, Entity, EntityCollection, Locations
from occi.parsing.errors import ParseError
from occi.parsing.headers import HEADER_NAMES, HeaderLine, TextDocument, read_headers
from occi.parsing.message import Message
from occi.parsing.textmodel import to_action, to_categories, to_entity, to_locations


class HeaderParser:
    """``text/occi``: the rendering is in the request headers (GFD.229 §3.3)."""

    media_types: tuple[str, ...] = ("text/occi",)

    def lines(self, message: Message) -> list[HeaderLine]:
        """The header lines to parse, each tagged with where it came from."""
        return [
            HeaderLine(name, value, f"{name.strip()} header") for name, value in message.headers
        ]

    def document(self, message: Message) -> TextDocument:
        """Everything OCCI in the message."""
        return read_headers(self.lines(message), message.limits)

    def entity(self, message: Message) -> Entity:
        """One resource or link rendering."""
        return to_entity(self.document(message), message.base_url)

    def entities(self, message: Message) -> EntityCollection:
        """The entities to create: text carries exactly one."""
        return EntityCollection.of((self.entity(message),))

    def action(self, message: Message) -> ActionInvocation:
        """An action invocation."""
        return to_action(self.document(message))

    def locations(self, message: Message) -> Locations:
        """An entity collection rendering: X-OCCI-Location values."""
        return to_locations(self.document(message), message.base_url)

    def categories(self, message: Message) -> CategoryDefinitions:
        """Full Category renderings."""
        return to_categories(self.document(message), message.base_url)


class PlainParser(HeaderParser):
    """``text/plain`` and ``text/occi+plain``: the same headers, as body lines (GFD.229 §3.2)."""

    media_types = ("text/plain", "text/occi+plain")

    def lines(self, message: Message) -> list[HeaderLine]:
        """``Name: value`` lines (CRLF or LF); blank lines are skipped and a line
        starting with whitespace continues the previous one (RFC 7230 obs-fold).

        :raises ParseError: beyond the limits on lines and line length.
        """
        limits = message.limits
        lines: list[tuple[str, list[str], str]] = []
        length = 0  # of the current line, its continuations included
        count = 0  # lines that are not blank
        for number, raw in enumerate(message.text().split("\n"), 1):
            line = raw.removesuffix("\r")
            if not line.strip():
                continue
            count += 1
            if count > limits.max_elements:
                raise limits.too_many("lines", f"line {number}")
            if line[0] in " \t":
                if not lines:
                    raise ParseError(
                        "a continuation line with nothing to continue", f"line {number}"
                    )
                length += _byte_length(line)
                if length > limits.max_line_bytes:
                    raise limits.line_too_long(lines[-1][2])
                lines[-1][1].append(line.strip())
                continue
            length = _byte_length(line)
            if length > limits.max_line_bytes:
                raise limits.line_too_long(f"line {number}")
            name, colon, value = line.partition(":")
            if not colon:
                raise ParseError(f"expected 'Name: value', got {line[:80]!r}", f"line {number}")
            if name.strip().lower() not in HEADER_NAMES:
                raise ParseError(
                    f"{name.strip()[:80]!r} is not an OCCI rendering line "
                    "(Category, Link, X-OCCI-Attribute, X-OCCI-Location)",
                    f"line {number}",
                )
            lines.append((name, [value], f"line {number}"))
        return [HeaderLine(name, " ".join(parts), where) for name, parts, where in lines]


def _byte_length(line: str) -> int:
    """The length of ``line`` in UTF-8 bytes (at least its length in characters)."""
    return len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))
