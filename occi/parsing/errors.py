"""The errors OCCI parsers raise: nothing else ever leaves a parser."""

from __future__ import annotations

from engine.errors import InvalidInput


class ParseError(InvalidInput):
    """The request body or headers are not a valid OCCI rendering (mapped to 400).

    :param message: what is wrong, for the client.
    :param where: where: ``line 3``, ``Category header, value 2``,
        ``$.links[0].target`` ...; prefixed to the message.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        full = f"{where}: {message}" if where else message
        if where:
            super().__init__(full, where=where)
        else:
            super().__init__(full)
        self.where = where

    def at(self, where: str) -> ParseError:
        """The same error located more precisely (``where`` goes in front)."""
        inner = f"{where}, {self.where}" if self.where else where
        message = self.message.removeprefix(f"{self.where}: ") if self.where else self.message
        return ParseError(message, inner)


class UnsupportedMediaType(Exception):
    """No OCCI parser reads this Content-Type (the views answer 415)."""

    def __init__(self, media_type: str) -> None:
        super().__init__(f"OCCI requests cannot be sent as {media_type!r}")
        self.media_type = media_type
