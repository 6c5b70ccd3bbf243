"""Password hashing with Argon2id, a memory-hard key derivation function.

The cost parameters are configurable because the test suite and the demo
create many users; production keeps the library's defaults (RFC 9106's
second recommended option: 64 MiB, 3 passes).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class PasswordPolicy:
    """Argon2id cost parameters.

    :param time_cost: passes over memory.
    :param memory_cost_kib: memory used per hash, in KiB.
    :param parallelism: lanes.
    """

    time_cost: int = argon2.DEFAULT_TIME_COST
    memory_cost_kib: int = argon2.DEFAULT_MEMORY_COST
    parallelism: int = argon2.DEFAULT_PARALLELISM


class PasswordHasher:
    """Hash and verify passwords.

    :param policy: the Argon2id costs for new hashes; hashes made with other
        costs still verify and are reported by :meth:`needs_rehash`.
    """

    def __init__(self, policy: PasswordPolicy | None = None) -> None:
        policy = policy or PasswordPolicy()
        self._hasher = argon2.PasswordHasher(
            time_cost=policy.time_cost,
            memory_cost=policy.memory_cost_kib,
            parallelism=policy.parallelism,
            type=argon2.Type.ID,
        )
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def hash(self, password: str) -> str:
        """Return an encoded Argon2id hash of ``password`` (salt included)."""
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """True when ``password`` matches ``encoded``; False for any mismatch or bad hash."""
        if not encoded:
            return False
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        """True when ``encoded`` was made with other parameters than the current policy."""
        return self._hasher.check_needs_rehash(encoded)

    def verify_nobody(self, password: str) -> bool:
        """Spend the time of one :meth:`verify` on a user that does not exist; always False.

        The dummy hash it verifies against is made once per hasher, with the
        hasher's costs: hashing afresh on every call would make an unknown user
        name take twice as long to refuse as a known one, and tell which names exist.
        """
        self.verify(self._dummy_hash(), password)
        return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            with self._dummy_lock:
                if self._dummy is None:
                    # A random password nobody knows: no caller can ever match it.
                    self._dummy = self.hash(secrets.token_urlsafe(32))
        return self._dummy
