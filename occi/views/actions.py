"""Actions: ``POST <entity or collection>?action=<term>`` (GFD.223 §3.7).

The body is an action invocation rendering (a Category of class action and
its parameters, or GFD.226's ``{"action": ..., "attributes": ...}``); with
no Category in it the query's term alone is used (:mod:`occi.mapping.actions`).
The answer is 200 with the entity (or the collection) after the Action, or,
for ``save``, the new OS template (GFD.224 §3.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyramid.view import view_config

from engine.errors import InvalidInput
from occi.mapping.paths import EntityPath, KindCollection, MixinCollection, UnboundCollection
from occi.model import ActionInvocation
from occi.parsing import Message, Parser
from occi.parsing.json import JsonParser
from occi.views.support import message, negotiate, parser, query, respond

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response

ROUTE = "occi.namespace"


def _invocation(reader: Parser, request_message: Message) -> ActionInvocation | None:
    """The body's invocation; None when the request renders no Category at all."""
    if isinstance(reader, JsonParser):
        return reader.action(request_message) if request_message.text().strip() else None
    if reader.categories(request_message).categories:
        return reader.action(request_message)
    if reader.entity(request_message).attributes:
        raise InvalidInput("an action's parameters come with its Category (GFD.229 §3.1.2)")
    return None


@view_config(route_name=ROUTE, context=EntityPath, request_method="POST", request_param="action")
@view_config(
    route_name=ROUTE, context=KindCollection, request_method="POST", request_param="action"
)
@view_config(
    route_name=ROUTE, context=MixinCollection, request_method="POST", request_param="action"
)
@view_config(
    route_name=ROUTE, context=UnboundCollection, request_method="POST", request_param="action"
)
def invoke(context: object, request: Request) -> Response:
    """POST ``?action=<term>``: invoke the Action on the target."""
    media = negotiate(request)
    term = query(request).get("action", "")
    if not term:
        raise InvalidInput("the action query parameter names the Action's term")
    request_message = message(request)
    invocation = _invocation(parser(request), request_message)
    return respond(request, media, request.occi.act(context, term, invocation))
