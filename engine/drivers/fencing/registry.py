"""Fencers by name, as a host's fencing configuration names them.

Each fencer module registers a factory with :func:`register_fencer`; HA
builds the fencer a host's configuration names with :func:`build_fencer`,
handing it the process's driver factory (the libvirt fencer reaches hosts
through it). :func:`check_options` validates an operator's options when the
configuration is stored, so a typo is refused then rather than discovered
when the host fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.drivers.base import HypervisorDriver
from engine.drivers.fencing.base import Fencer

#: What builds fencers: the driver of a host by its URI.
Drivers = Callable[[str], HypervisorDriver]


@dataclass(frozen=True)
class FencerKind:
    """A registered fencer.

    :param name: what configurations call it.
    :param factory: builds the fencer from the process's driver factory.
    :param options: every option it understands, with what it means.
    :param required: the options a configuration must give (at least one of
        each tuple).
    """

    name: str
    factory: Callable[[Drivers], Fencer]
    options: Mapping[str, str]
    required: tuple[tuple[str, ...], ...] = ()


_KINDS: dict[str, FencerKind] = {}


def register_fencer(kind: FencerKind) -> None:
    """Make a fencer available under ``kind.name`` (replacing one of that name)."""
    _KINDS[kind.name] = kind


def fencer_kinds() -> dict[str, FencerKind]:
    """The registered fencers by name.

    Importing :mod:`engine.drivers.fencing` registers Concord's own.
    """
    return dict(sorted(_KINDS.items()))


def check_options(name: str, options: Mapping[str, str]) -> None:
    """Refuse an unknown fencer, an unknown option or a missing one.

    :raises ValueError: saying which.
    """
    kinds = fencer_kinds()
    kind = kinds.get(name)
    if kind is None:
        raise ValueError(f"no fencer {name!r}; known: {', '.join(kinds)}")
    unknown = sorted(set(options) - set(kind.options))
    if unknown:
        known = ", ".join(kind.options) or "none"
        raise ValueError(f"fencer {name!r} has no option {unknown[0]!r} (options: {known})")
    for choices in kind.required:
        if not any(options.get(choice) for choice in choices):
            raise ValueError(f"fencer {name!r} needs the option {' or '.join(choices)}")


def build_fencer(name: str, drivers: Drivers) -> Fencer:
    """The fencer called ``name``.

    :raises KeyError: none is registered under that name.
    """
    return fencer_kinds()[name].factory(drivers)


__all__ = [
    "Drivers",
    "FencerKind",
    "build_fencer",
    "check_options",
    "fencer_kinds",
    "register_fencer",
]
