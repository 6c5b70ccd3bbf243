"""The fencer contract: power a host's guests off for sure, or say it could not.

A fencer is asked to fence one host and answers with a :class:`FenceResult`.
Only :attr:`FenceOutcome.CONFIRMED` lets HA restart the host's guests
elsewhere: it means the fencer *knows* nothing of the host runs any more (the
power is off as reported by the BMC, the daemon's process group is gone, every
guest was destroyed through a connection that still reached the host).
:attr:`FenceOutcome.UNCONFIRMED` covers everything else (timeouts, refused
credentials, a BMC that answered but whose power state could not be read
back): HA then raises an alert and waits for an operator, never guesses.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class FenceOutcome(enum.Enum):
    """Whether a fencing attempt is known to have stopped everything on the host."""

    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class FenceTarget:
    """The host to fence, as its fencing configuration describes it.

    :param host_id: the engine's id of the host.
    :param name: its name (for messages and logs).
    :param uri: its libvirt URI.
    :param options: the fencer's own per-host settings (a BMC address and
        credentials, a pid file...), as the operator configured them.
    """

    host_id: str
    name: str
    uri: str
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FenceResult:
    """What a fencing attempt achieved.

    :param outcome: confirmed, or not.
    :param detail: what was done or what went wrong, for the operator.
    """

    outcome: FenceOutcome
    detail: str

    @property
    def confirmed(self) -> bool:
        """True when the host is known to run nothing any more."""
        return self.outcome is FenceOutcome.CONFIRMED


@runtime_checkable
class Fencer(Protocol):
    """One way of fencing hosts (by their libvirt connection, a process, a BMC)."""

    #: The name a host's fencing configuration refers to (``libvirt``, ``process``...).
    name: str

    def fence(self, target: FenceTarget, timeout: float) -> FenceResult:
        """Stop everything running on ``target`` within ``timeout`` seconds, and say if it is sure.

        Never raises for a failure to fence: that is an
        :attr:`~FenceOutcome.UNCONFIRMED` result whose detail says why.
        """
        ...
