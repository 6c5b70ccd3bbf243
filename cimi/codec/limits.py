"""Input limits shared by the JSON and XML decoders (DESIGN.md: bodies have size limits)."""

from __future__ import annotations

from dataclasses import dataclass

from cimi.errors import DecodeError


@dataclass(frozen=True)
class Limits:
    """Bounds on a request body.

    :param max_bytes: the largest body accepted, in bytes.
    :param max_depth: the deepest nesting accepted (JSON containers, XML elements).
    """

    max_bytes: int = 1 << 20
    max_depth: int = 32

    def check_size(self, data: bytes) -> None:
        """Refuse a body larger than :attr:`max_bytes`."""
        if len(data) > self.max_bytes:
            raise DecodeError(f"body too large: {len(data)} bytes, the limit is {self.max_bytes}")

    def too_deep(self) -> DecodeError:
        """The error for a document nested deeper than :attr:`max_depth`."""
        return DecodeError(f"document nested too deeply: the limit is {self.max_depth} levels")


DEFAULT_LIMITS = Limits()
