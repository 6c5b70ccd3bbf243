"""POST below ``/cimi/``: ``add`` on a Collection, or an Action on a resource.

One view serves every action of every type (DSP0263 4.2.1.5): it decodes the
``Action`` body, reads the action's name from its URI, and hands it to the
resource's binding, which knows which engine call it is
(:mod:`cimi.mapping.states`). Every action is advertised with the resource's
own URI as its ``href`` (as Sirocco and osaddon do, cimi.md 6.5), except
``capture``, whose href is the MachineImage Collection (5.14.7.1).

The ``action`` is accepted as the full URI in the CIMI 1 or CIMI 2 namespace
(``http://schemas.dmtf.org/cimi/1/action/stop``) or as the bare name
(``stop``), as cimi.md 8.4 recommends; anything else is 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.view import view_config

from cimi.codec import Mode
from cimi.mapping import body_references
from cimi.mapping.errors import operation_uri
from cimi.resources import ACTION_PREFIX, NS_ALT, table
from cimi.views.resources import add, supports, target
from cimi.views.support import answer, check_version, context, media_type, read_body
from engine.errors import InvalidInput, InvalidTransition

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

_PREFIXES = (ACTION_PREFIX, NS_ALT + "/action/")


def action_name(uri: str) -> str:
    """The short name of an action URI (``.../action/stop`` -> ``stop``).

    :raises InvalidInput: not a CIMI action URI nor a bare name.
    """
    for prefix in _PREFIXES:
        if uri.startswith(prefix) and "/" not in uri[len(prefix) :]:
            return uri[len(prefix) :]
    if uri.isidentifier():
        return uri
    raise InvalidInput(f"{uri!r} is not a CIMI action (expected {ACTION_PREFIX}<name>)")


@view_config(route_name="cimi.path", request_method="POST")
def post(request: Request) -> Response:
    """POST to a Collection (add) or to a resource (an Action)."""
    check_version(request)
    media_type(request)
    binding, ids, is_resource = target(request)
    if not is_resource:
        return add(request)
    ctx = context(request)
    obj = binding.fetch(ctx, ids)
    body = read_body(request, table("Action"), Mode.CREATE)
    name = action_name(body["action"])
    if not supports(binding, "act"):
        raise InvalidInput(f"a {binding.type_name} has no actions", field="action")
    try:
        with body_references():
            outcome = binding.act(ctx, obj, name, body)
    except InvalidTransition as exc:
        raise _in_cimi_words(exc, binding.render(ctx, obj), name, binding.type_name) from None
    return answer(request, ctx, binding, outcome)


def _in_cimi_words(
    exc: InvalidTransition, current: dict[str, Any], name: str, type_name: str
) -> Exception:
    """The engine's refusal, told with the resource's CIMI state and operations (409)."""
    offered = sorted(operation_uri(str(op["rel"])) for op in current.get("operations", ()))
    state = current.get("state", "in its current state")
    return InvalidTransition(
        f"cannot {name} this {type_name}: it is {state}; operations allowed now: "
        f"{', '.join(offered) or 'none'}",
        operations=" ".join(offered),
        resourceState=str(state),
    )


__all__ = ["action_name", "post"]
