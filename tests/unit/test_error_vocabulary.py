"""Every engine error class, through both renderings: no engine-only word reaches a client.

The engine raises structured errors (kind, id, state, action, allowed,
expected, operation, link, field, reason, bounds: engine.errors); OCCI and
CIMI write their messages from them through their own tables. This sweep
builds errors the way the engine does (the lifecycle's refusals for every
kind, state and action, the link refusals, the value checks) and recasts
each as every class of the tree, then renders each through OCCI's and
CIMI's translation and looks for words only the engine speaks.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cimi.mapping.errors import CIMI_DETAILS
from cimi.mapping.errors import translate as cimi_translate
from concord.errors import report_for_engine_error, translated
from engine import errors
from engine.lifecycle import Action, Kind, State, begin
from engine.resources import checks
from engine.resources.state import refuse
from engine.tenancy.models import ResourceType
from occi.mapping.errors import OCCI_DETAILS
from occi.mapping.errors import translate as occi_translate

#: Engine words no OCCI client should read (GFD.224 has its own for each).
OCCI_STATES = {"active", "inactive", "suspended", "error", "online", "offline"}
OCCI_FORBIDDEN = (
    {s.value for s in State} - OCCI_STATES
    | {"volume", "image", "network_interface", "storage_attachment", "network interface"}
    | {"storage attachment", "force_stop", "pause", "resume", "capture", "resize"}
    | {"vcpus", "memory_mib", "size_gib", "MiB", "primary_storage", "instances"}
)
#: Engine words no CIMI client should read (DSP0263 spells states in capitals,
#: types in CamelCase, sizes in KiB).
CIMI_FORBIDDEN = (
    {s.value for s in State}
    | {k.value for k in Kind}
    | {"network interface", "storage attachment", "force_stop", "resume", "resize"}
    | {"vcpus", "memory_mib", "size_gib", "MiB", "GiB", "storage", "compute"}
    | {"primary_storage", "instances"}
)

CLASSES = [
    getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), Exception)
]


def _engine_errors() -> Iterator[errors.EngineError]:
    """Errors as the engine raises them."""
    for kind, state, action in itertools.product(Kind, State, Action):
        try:
            begin(kind, state, action)
        except errors.EngineError as exc:
            yield exc
    for kind, state, purpose, link in itertools.product(
        (Kind.COMPUTE, Kind.VOLUME, Kind.NETWORK),
        State,
        ("attach", "prepare", "detach"),
        (Kind.STORAGE_ATTACHMENT, Kind.NETWORK_INTERFACE),
    ):
        yield refuse(kind, state.value, (purpose, link), {State.RUNNING}, "r-1")
    for call in (
        lambda: checks.check_size(0, 512),
        lambda: checks.check_size(2, 10**9),
        lambda: checks.check_whole_gib(1.5, "size_gib"),
        lambda: checks.check_whole_gib(0, "size_gib", 1, 100),
        lambda: checks.check_whole_gib(1000, "size_gib", 1),
        lambda: checks.check_text("name", "", 10, required=True),
        lambda: checks.check_text("name", "x" * 20, 10),
        lambda: checks.check_text("name", "a\x01", 10),
    ):
        try:
            call()
        except errors.EngineError as exc:
            yield exc
    for kind in Kind:
        yield errors.NotFound(f"no {kind.label} 'x'", kind=kind.value, id="x")


#: A sample value for each fact a raise site gives when its value is not a
#: literal in the source (engine units, engine words): the renderings must word
#: these too.
SAMPLE_FACTS: dict[str, object] = {
    "owner_kind": "account",
    "limit": 2048,
    "used": 1536,
    "requested": 1024,
    "vcpus": 2,
    "memory_mib": 2048,
    "size_bytes": 10 * 1024**3,
    "size_gib": 10,
    "cidr": "10.1.0.0/24",
    "power_state": "paused",
    "near_volumes": True,
    "group_policy": "anti-affinity",
    "id": "x1",
    "name": "n1",
    "state": "running",
    "expected": ["stopped"],
    "allowed": ["start", "delete"],
    "action": "resize",
    "minimum": 1,
    "maximum": 64,
    "count": 2,
    "value": "v1",
    "volume_id": "x2",
    "compute_id": "x3",
    "location": "/var/lib/concord/x",
    "previous": "running",
    "observed": "stopped",
    "interfaces": 2,
    "namespace": "http://example.com/tags#",
    "path": "/tags/t1",
    "current": 10,
    "unreadable": 2,
    "suggestion": "10.1.0.0/24",
    "unit": "MiB",
    "reason": "range",
}
#: Facts whose value, when not a literal, is each of its engine values in turn.
ENUM_FACTS: dict[str, list[str]] = {
    "kind": [k.value for k in Kind],
    "subject": [k.value for k in Kind],
    "other": [k.value for k in Kind],
    "link": [Kind.STORAGE_ATTACHMENT.value, Kind.NETWORK_INTERFACE.value],
    "field": ["name", "memory_mib", "size_gib"],
    "operation": ["attach", "prepare", "detach"],
}
#: Facts an engine site may give that no rendering shows (operators' facts).
OPERATOR_FACTS = frozenset({"detail", "resource_type"})
ENGINE = Path(errors.__file__).parent
#: What a formatted value of an f-string message stands as: engine words.
ENGINE_VALUE = "running volume"


def _literals(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments."""
    found = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return found


@functools.cache
def _literals_of(module: str) -> dict[str, str]:
    source = ENGINE.parent.joinpath(*module.split(".")).with_suffix(".py")
    return _literals(ast.parse(source.read_text())) if source.is_file() else {}


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """The strings a message may be given by name: the module's own
    ``NAME = "text"`` and those it imports by name from another engine module
    (``SIGN_IN_FAILED``)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("engine."):
            theirs = _literals_of(str(node.module))
            found.update(
                {a.asname or a.name: theirs[a.name] for a in node.names if a.name in theirs}
            )
    return found | _literals(tree)


def _message(node: ast.expr, names: dict[str, str]) -> str:
    """The text of a message, each formatted value standing as engine words."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(v.value) if isinstance(v, ast.Constant) else ENGINE_VALUE for v in node.values
        )
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    return f"{ENGINE_VALUE} memory_mib"


_ENUMS = {"Kind": Kind, "State": State, "Action": Action}


def _value(key: str, node: ast.expr) -> list[object]:
    """The values a fact takes: its literal (or enum member), else samples."""
    try:
        return [ast.literal_eval(node)]
    except ValueError:
        pass
    text = ast.unparse(node)
    if re.fullmatch(r"(Kind|State|Action)\.[A-Z_]+(\.value)?", text):
        enum, member = text.split(".")[:2]
        return [_ENUMS[enum][member].value]
    if key in ENUM_FACTS:
        return list(ENUM_FACTS[key])
    assert key in SAMPLE_FACTS, f"give SAMPLE_FACTS a value for {key!r} ({text})"
    return [SAMPLE_FACTS[key]]


def _reraises(keyword: ast.keyword) -> bool:
    """``**exc.details``: the site raises again an error built (and swept) elsewhere."""
    return keyword.arg is None and ast.unparse(keyword.value).endswith(".details")


def _spread(node: ast.expr) -> list[tuple[str, ast.expr]]:
    """The facts of ``**({"minimum": low} if ... else {})``: each one it can give."""
    found = []
    for part in (node.body, node.orelse) if isinstance(node, ast.IfExp) else (node,):
        if isinstance(part, ast.Dict):
            found += [
                (str(k.value), v)
                for k, v in zip(part.keys, part.values, strict=True)
                if isinstance(k, ast.Constant)
            ]
    return found


#: Engine helpers that raise an error of the tree with the message they are
#: given: swept where they are called, with that message, not where they raise.
RAISING_HELPERS: dict[str, type[errors.EngineError]] = {
    "require_root_admin": errors.PermissionDenied,
}


def _inside_raising_helpers(tree: ast.Module) -> set[int]:
    """The ids of the nodes within the definitions of :data:`RAISING_HELPERS`."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in RAISING_HELPERS
        for inner in ast.walk(node)
    }


def _raise_sites() -> Iterator[tuple[str, errors.EngineError]]:
    """Every construction of every class of the tree in the engine, with its
    facts: the message an engine sentence with engine words for each formatted
    value, which no rendering may show."""
    for path in sorted(ENGINE.rglob("*.py")):
        if "migrations" in path.parts or path == Path(errors.__file__):
            continue
        tree = ast.parse(path.read_text())
        names = _module_strings(tree)
        helpers = _inside_raising_helpers(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in helpers:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in RAISING_HELPERS:
                cls: type[errors.EngineError] = RAISING_HELPERS[name]
            elif name in errors.__all__:
                cls = getattr(errors, name)
            else:
                continue
            message = _message(node.args[0], names) if node.args else ENGINE_VALUE
            where = f"{path.relative_to(ENGINE.parent)} {name} {message[:48]!r}"
            if any(_reraises(k) for k in node.keywords):
                continue
            keys = [
                (k.arg, k.value) for k in node.keywords if k.arg and k.arg not in OPERATOR_FACTS
            ]
            keys += [pair for k in node.keywords if k.arg is None for pair in _spread(k.value)]
            choices = [[(key, v) for v in _value(str(key), value)] for key, value in keys]
            rts = (
                [rt.value for rt in ResourceType]
                if any(k.arg == "resource_type" for k in node.keywords)
                else [None]
            )
            for combo in itertools.product(*choices):
                for rt in rts:
                    facts = dict(combo) | ({"resource_type": rt} if rt else {})
                    yield where, cls(message, **facts)


RAISE_SITES = list(_raise_sites())


def _sweep() -> Iterator[tuple[str, errors.EngineError]]:
    # Each error as raised, and recast as the classes in turn: every class meets
    # every shape of details (the errors come in runs of one shape).
    for i, original in enumerate(_engine_errors()):
        yield type(original).__name__, original
        for cls in (CLASSES[i % len(CLASSES)], CLASSES[(i * 7 + 3) % len(CLASSES)]):
            yield cls.__name__, cls(original.message, **original.details)
    # Every raise site as it is: its class and facts are what the renderings word.
    yield from RAISE_SITES


SWEEP = list(_sweep())


def _words(found: set[str], text: str) -> set[str]:
    return {w for w in found if re.search(rf"(?<![\w/]){re.escape(w)}(?![\w])", text)}


RENDERINGS = {"occi": (occi_translate, OCCI_FORBIDDEN), "cimi": (cimi_translate, CIMI_FORBIDDEN)}


def _leaks(rendering: str) -> dict[str, str]:
    translate, forbidden = RENDERINGS[rendering]
    leaks = {}
    for name, error in SWEEP:
        report = translated(report_for_engine_error(error), translate)
        shown = " ".join([report.message, *(f"{k} {v}" for k, v in report.details.items())])
        bad = _words(forbidden, shown)
        if bad:
            leaks[name] = f"{name}: {sorted(bad)} in {shown!r}"
    return leaks


@pytest.mark.parametrize("rendering", sorted(RENDERINGS))
def test_no_engine_word_reaches_a_client(rendering: str) -> None:
    assert {type(error) for _, error in SWEEP} == set(CLASSES)
    assert len({where for where, _ in RAISE_SITES}) >= 400
    leaks = list(_leaks(rendering).values())
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks)


def test_the_sweep_finds_engine_words_in_engine_messages() -> None:
    # The check can fail: the engine's own sentences are full of these words.
    engine_text = " ".join(error.message for _, error in SWEEP)
    assert _words(OCCI_FORBIDDEN, engine_text) and _words(CIMI_FORBIDDEN, engine_text)


def test_cimi_speaks_kib_and_its_own_field_names() -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        checks.check_size(1, 10**9)
    exc = caught.value
    report = translated(report_for_engine_error(exc), cimi_translate)
    assert report.details["field"] == "memory"
    assert report.message == f"memory must be from 1024 to {checks.MAX_MEMORY_MIB * 1024} KiB"
    occi = translated(report_for_engine_error(exc), occi_translate)
    assert occi.message.startswith("occi.compute.memory must be from ")
    assert occi.message.endswith(" GiB")


def test_a_refused_action_names_states_and_actions_in_each_standard() -> None:
    with pytest.raises(errors.InvalidTransition) as caught:
        begin(Kind.COMPUTE, State.RUNNING, Action.START)
    error = errors.InvalidTransition(caught.value.message, **caught.value.details, id="m1")
    occi = translated(report_for_engine_error(error), occi_translate).message
    cimi = translated(report_for_engine_error(error), cimi_translate).message
    assert (
        occi
        == "cannot start compute m1: it is active; applicable now: stop, restart, suspend, DELETE"
    )
    assert cimi.startswith("cannot start Machine m1: it is STARTED; operations allowed now: ")
    assert "http://schemas.dmtf.org/cimi/1/action/stop" in cimi


def test_quota_and_capacity_speak_each_standard_s_units() -> None:
    quota = errors.QuotaExceeded(
        "the account limit for memory is 2048: 1536 in use, 1024 more requested",
        owner_kind="account",
        resource_type="memory",
        limit=2048,
        used=1536,
        requested=1024,
    )
    occi = translated(report_for_engine_error(quota), occi_translate)
    cimi = translated(report_for_engine_error(quota), cimi_translate)
    assert occi.message == (
        "quota exceeded: the account's limit of memory in GiB (occi.compute.memory) is 2; "
        "1.5 in use, 1 more asked for"
    )
    assert cimi.message == (
        "quota exceeded: the account's limit of Machine memory in KiB is 2097152; "
        "1572864 in use, 1048576 more asked for"
    )
    assert "resource_type" not in occi.details and "limit" not in cimi.details
    full = errors.CapacityUnavailable(
        "no host in the zone can take 2 vCPU and 2048 MiB",
        vcpus=2,
        memory_mib=2048,
        near_volumes=False,
        group_policy="anti-affinity",
    )
    assert translated(report_for_engine_error(full), cimi_translate).message == (
        "no host can take this Machine now apart from the other Machines of its anti-affinity "
        "group (cpu 2, memory 2097152 KiB); try another MachineConfiguration or later"
    )
    assert translated(report_for_engine_error(full), occi_translate).details == {
        "occi.compute.cores": 2,
        "occi.compute.memory": 2.0,
    }


def test_no_engine_error_uses_a_key_a_rendering_shows_as_it_is() -> None:
    # OCCI and CIMI show their own detail keys untranslated (concord.errors.
    # translated): an engine fact under one of them would reach clients raw.
    own = OCCI_DETAILS | CIMI_DETAILS
    used = {key for _, error in SWEEP for key in error.details}
    assert used, "the sweep found no details: it is not reading the engine"
    assert not used & own
