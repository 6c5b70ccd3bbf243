"""The server keys: API-key secrets are encrypted with them at rest.

An API key's secret must stay usable as an HMAC key, so unlike a password it
cannot be stored as a one-way hash; and storing a key derived from it would
not help, since whoever reads the derived key can sign with it just the same.
So the database holds each secret encrypted under a *server key* that lives
outside the database (a file, ``server_key_file``): a dump of the database,
or a stolen backup, yields no usable secret.

Encryption is Fernet, from the maintained ``cryptography`` library:
AES-128-CBC with a random IV and an HMAC-SHA256 over the whole token, so a
token that was altered, or made under another key, is refused rather than
decrypted to garbage. Several keys can be configured for rotation
(``MultiFernet``): the first encrypts, every one decrypts, and
:meth:`ServerKeys.reseal` re-encrypts a token under the first
(docs/security.rst, "Rotating the server key").

The key file holds one key per line (urlsafe base64 of 32 random bytes, as
:meth:`ServerKeys.generate` makes), the current one first; blank lines and
lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("engine.tenancy.server_keys")


class ServerKeyError(Exception):
    """The server keys cannot be loaded, or a secret cannot be decrypted with them."""


class ServerKeys:
    """The server keys of a deployment: the first encrypts, every one decrypts.

    :param keys: Fernet keys, the current one first.
    :raises ServerKeyError: no key, or one that is not a Fernet key.
    """

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ServerKeyError("no server key")
        self.keys = tuple(k if isinstance(k, str) else k.decode("ascii") for k in keys)
        try:
            self._fernets = [Fernet(key) for key in self.keys]
        except (ValueError, TypeError, UnicodeError):
            raise ServerKeyError(
                "a server key is not 32 bytes in urlsafe base64 "
                "(make one with 'concord serverkey generate')"
            ) from None
        self._all = MultiFernet(self._fernets)

    @staticmethod
    def generate() -> str:
        """A new random server key, in the key file's text form."""
        return Fernet.generate_key().decode("ascii")

    def seal(self, secret: str) -> str:
        """Encrypt ``secret`` under the current key."""
        return self._fernets[0].encrypt(secret.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        """Decrypt a token made under any of the keys.

        :raises ServerKeyError: the token was made under no key configured here,
            or it was altered.
        """
        try:
            return self._all.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise ServerKeyError("the secret cannot be decrypted with the server keys") from None

    def reseal(self, token: str) -> str:
        """The same secret, encrypted under the current key (for a rotation).

        :raises ServerKeyError: as :meth:`unseal`.
        """
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise ServerKeyError("the secret cannot be decrypted with the server keys") from None

    # -- the key file ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str], create: bool = False) -> ServerKeys:
        """The keys in the file at ``path``.

        :param create: make the file, with one new key, if there is none (its
            directory too). The file is created readable by its owner only
            (0600), atomically: processes starting together agree on one key.
        :raises ServerKeyError: no file (and not ``create``), unreadable, or no valid key.
        """
        path = Path(path)
        if create and not path.exists():
            write_key_file(path, [cls.generate()], replace=False)
        try:
            text = path.read_text(encoding="ascii")
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ServerKeyError(
                f"no server key file at {path} (make one with 'concord serverkey generate')"
            ) from None
        except (OSError, UnicodeError) as exc:
            raise ServerKeyError(f"cannot read the server key file {path}: {exc}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "the server key file %s can be read by others than its owner: chmod 600 it", path
            )
        keys = parse_key_file(text)
        if not keys:
            raise ServerKeyError(f"the server key file {path} holds no key")
        return cls(keys)


def parse_key_file(text: str) -> list[str]:
    """The keys of a key file's text, in order (blank lines and ``#`` comments skipped)."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def write_key_file(path: Path, keys: Sequence[str], replace: bool) -> None:
    """Write ``keys`` to ``path``, readable by its owner only, atomically.

    :param replace: replace an existing file; otherwise leave an existing one
        untouched (another process made it first).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key}\n" for key in keys)
    # Written in full to a private temporary name first, so that no reader ever
    # sees a partial file, and never with wider permissions than 0600.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)  # fails, leaving the first one, if it exists
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
