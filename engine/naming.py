"""Validation of names shared by every service."""

from __future__ import annotations

import re

from engine.errors import InvalidInput

# Letters, digits and a few separators; no slash (domain paths), no spaces at
# the ends, no control characters. 1 to 64 characters.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid identifier-like name, else raise InvalidInput.

    :param kind: what is being named, for the error message ("domain", "user"...).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}: use 1 to 64 letters, digits, '.', '_', '@', '+' "
            "or '-', starting with a letter or digit",
            field="name",
            reason="name",
        )
    return name
