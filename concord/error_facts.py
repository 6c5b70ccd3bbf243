"""Reading the structured facts an engine error carries (``EngineError.details``).

The engine attaches typed facts to its errors (the keys are documented in
:mod:`engine.errors`); each rendering words them in its own standard's
vocabulary. These readers take a fact back to its type, the same way for
both renderings, and give nothing for a fact of the wrong shape.

Both renderings word errors in one shape: :func:`by_class` (quota, then a
lack of capacity by subject, then the hypervisor) and :func:`by_subject` (an
error about a ``subject``, by class and ``reason``), each given the
rendering's own tables as a :class:`Vocabulary`. The sentences here are
neutral English; every engine value in them goes through those tables. An
error with none of the facts they read keeps its message, which the engine
writes free of engine words when it gives no facts (the sweep in
``tests/unit/test_error_vocabulary.py`` holds every raise site to that).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from concord.error_words import CONFLICTS, DENIALS, INPUTS, NOUNS, PROBLEMS
from engine.errors import (
    AlreadyExists,
    CapacityUnavailable,
    Conflict,
    DriverError,
    DriverUnavailable,
    EngineError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)
from engine.lifecycle import Kind


def strings(value: object) -> list[str]:
    """The strings of a list fact (``allowed``, ``expected``); none if it is not a list."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def kind(value: object) -> Kind | None:
    """The resource kind a fact names (``kind``, ``link``), or None."""
    try:
        return Kind(str(value))
    except ValueError:
        return None


def field_problem(
    reason: object,
    minimum: object,
    maximum: object,
    number: Callable[[int], str],
    suffix: str,
    whole: str,
) -> str | None:
    """What is wrong with a field, in words, from its ``reason`` fact; None for another reason.

    :param number: how the rendering writes a bound (in its own unit).
    :param suffix: the unit after a range, e.g. ``" KiB"`` (or ``""``).
    :param whole: the rendering's words for a value that is not a whole unit.
    """
    if reason == "range" and isinstance(minimum, int) and isinstance(maximum, int):
        return f"must be from {number(minimum)} to {number(maximum)}{suffix}"
    if reason == "range" and isinstance(minimum, int):
        return f"must be at least {number(minimum)}{suffix}"
    if reason == "whole":
        return whole
    if reason == "too_long" and isinstance(maximum, int):
        return f"is longer than {maximum} characters"
    if reason == "prefix" and isinstance(minimum, int) and isinstance(maximum, int):
        return f"must have a prefix length from /{minimum} to /{maximum}"
    if reason == "too_short" and isinstance(minimum, int):
        return f"must have at least {minimum} characters"
    if reason == "too_many" and isinstance(maximum, int):
        return f"has more than {number(maximum)} entries"
    if reason == "identifier" and isinstance(maximum, int):
        return (
            f"must be 1 to {maximum} letters, digits, '.', '_' or '-', "
            "beginning with a letter or digit"
        )
    return PROBLEMS.get(str(reason))


def field_message(
    error: EngineError,
    name: str | None,
    number: Callable[[int], str],
    suffix: str,
    whole: str,
) -> str | None:
    """A refused value in a rendering's words: ``name`` (the rendering's
    attribute for the ``field`` fact; None when it has none, and then the
    engine's message stands), what is wrong from ``reason`` and the bounds
    (:func:`field_problem`), and the value the client gave (``value``) and
    what it meant (``suggestion``), which are the client's, not engine words."""
    details = error.details
    if name is None:
        return None
    text = field_problem(
        details.get("reason"),
        details.get("minimum"),
        details.get("maximum"),
        number=number,
        suffix=suffix,
        whole=whole,
    )
    if text is None:
        return None
    suggestion, value = details.get("suggestion"), details.get("value")
    if isinstance(suggestion, str):
        text += f", such as {suggestion}"
    if isinstance(value, str):
        text += f" (not {value})"
    return f"{name} {text}"


def number(value: object) -> int | None:
    """An integer fact (``limit``, ``used``, ``vcpus``...), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plain(value: float) -> str:
    """``2097152``, ``1.5``: a whole number without an exponent or a point."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def quota_message(
    details: Mapping[str, object], words: Mapping[str, tuple[str, float]]
) -> str | None:
    """A :class:`~engine.errors.QuotaExceeded` in a rendering's words, from its facts.

    :param words: engine resource type -> (the rendering's words for it, its
        unit per engine unit), e.g. ``{"memory": ("memory in KiB", 1024)}``.
    """
    found = words.get(str(details.get("resource_type")))
    limit, used, requested = (number(details.get(k)) for k in ("limit", "used", "requested"))
    if found is None or limit is None or used is None or requested is None:
        return None
    what, factor = found
    owner = {"domain": "domain", "account": "account", "project": "project"}.get(
        str(details.get("owner_kind")), "owner"
    )
    scaled = [_plain(n * factor) for n in (limit, used, requested)]
    return (
        f"quota exceeded: the {owner}'s limit of {what} is {scaled[0]}; "
        f"{scaled[1]} in use, {scaled[2]} more asked for"
    )


def capacity_constraints(details: Mapping[str, object], guests: str, disks: str) -> str:
    """Where a guest no host could take had to go, in a rendering's nouns
    (``guests``: Machines, computes; ``disks``: Volumes, storage)."""
    words = ""
    if details.get("near_volumes") is True:
        words += f" next to its {disks}"
    policy = details.get("group_policy")
    if policy == "anti-affinity":
        words += f" apart from the other {guests} of its anti-affinity group"
    elif policy == "affinity":
        words += f" beside the other {guests} of its affinity group"
    return words


def capacity_subject(details: Mapping[str, object]) -> str:
    """``machine`` (vcpus and memory), ``disk`` (a size), ``address`` (a network
    full), or ``other``: each rendering words the subject its own way."""
    if number(details.get("vcpus")) is not None and number(details.get("memory_mib")) is not None:
        return "machine"
    if "size_bytes" in details or "size_gib" in details:
        return "disk"
    if "cidr" in details:
        return "address"
    return "other"


# -- one shape of wording for both renderings -------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """A rendering's tables for wording engine errors (:func:`worded`).

    :param nouns: engine subjects (Kind values and more) -> the rendering's word.
    :param field: engine keyword -> the rendering's attribute name, or None.
    :param quota: see :func:`quota_message`.
    :param capacity: :func:`capacity_subject` -> the sentence for a lack of it.
    :param machine: words a guest no host can take, from (vcpus, memory_mib,
        where): the rendering's sentence and its details.
    :param guests: the rendering's plural for guests; ``disks``, for volumes.
    """

    nouns: Mapping[str, str]
    field: Callable[[str], str | None]
    quota: Mapping[str, tuple[str, float]]
    capacity: Mapping[str, str]
    machine: Callable[[int, int, str], tuple[str, dict[str, Any]]]
    guests: str
    disks: str

    def noun(self, subject: object) -> str:
        """The rendering's word for an engine subject; ``resource`` for an unknown one."""
        text = str(subject)
        return self.nouns.get(text) or NOUNS.get(text, "resource")


def by_class(error: EngineError, words: Vocabulary) -> tuple[str, dict[str, Any]] | None:
    """Quota, capacity and hypervisor errors in a rendering's words, whatever their message."""
    details = error.details
    if isinstance(error, QuotaExceeded):
        text = quota_message(details, words.quota)
        return (text or "quota exceeded: a limit of the account would be passed"), {}
    if isinstance(error, CapacityUnavailable):
        subject = capacity_subject(details)
        cpus, memory = number(details.get("vcpus")), number(details.get("memory_mib"))
        if subject == "machine" and cpus is not None and memory is not None:
            where = capacity_constraints(details, words.guests, words.disks)
            return words.machine(cpus, memory, where)
        return f"{words.capacity[subject]}; try again later", {}
    if isinstance(error, DriverUnavailable):
        return "a hypervisor host cannot be reached now; try again later", {}
    if isinstance(error, DriverError):
        return "the hypervisor could not carry out the request", {}
    return None


def by_subject(error: EngineError, words: Vocabulary) -> str | None:
    """An error about a ``subject`` (with its ``id`` or ``name``), in a rendering's
    words, from its class and its ``reason``/``other``/``field`` facts."""
    details = error.details
    if "subject" not in details:
        return None
    what = words.noun(details["subject"])
    ref = details.get("id", details.get("name"))
    named = f"{what} {ref!r}" if isinstance(ref, str) else None
    field = details.get("field")
    attribute = words.field(field) if isinstance(field, str) else None
    reason = details.get("reason")
    if isinstance(error, NotFound) or reason == "not_found":
        return f"no {named or f'such {what}'}"
    if isinstance(error, AlreadyExists):
        if attribute is not None:
            return f"another {what} has this {attribute} already"
        return f"{named or f'the {what}'} exists already"
    if isinstance(error, PermissionDenied) and str(reason) in DENIALS:
        return DENIALS[str(reason)].format(noun=named or f"the {what}", what=what)
    if isinstance(error, PermissionDenied):
        return f"your role does not allow this on the {what}"
    template = CONFLICTS.get(str(reason)) if isinstance(error, Conflict) else None
    if template is None and isinstance(error, InvalidInput):
        template = INPUTS.get(str(reason))
    if template is None and type(error) is EngineError:
        template = "the request about {noun} could not be carried out"
    if template is None:
        return None
    other = words.noun(details.get("other"))
    return template.format(noun=named or f"the {what}", what=what, other=other)
