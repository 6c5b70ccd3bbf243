"""The generic CIMI views: Collections and resources below ``/cimi/`` (DSP0263 4.2.1).

Every view is thin: negotiate, decode the body with the tables, make one
binding call (which makes the engine call), encode the answer.

=========  ===========================  =========================================
method     on a Collection              on a resource
=========  ===========================  =========================================
GET        query it (4.2.1.2, 4.1.6)    read it (4.2.1.2; ``$select``, ``$expand``)
POST       ``add`` (4.2.1.1)            an Action (4.2.1.5; :mod:`.operations`)
PUT        405                          ``edit`` (4.2.1.3; ``$select``: partial)
DELETE     405                          ``delete`` (4.2.1.4)
=========  ===========================  =========================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.httpexceptions import HTTPMethodNotAllowed
from pyramid.view import view_config

from cimi.codec import Mode
from cimi.errors import QueryError
from cimi.mapping import Binding, body_references, route
from cimi.mapping.base import Binding as BaseBinding
from cimi.query import CollectionQuery, Selection, check_query, parse_query, project
from cimi.resources import Access, Place, create_table
from cimi.resources._model import NESTED_KINDS
from cimi.views.query import collection, expanded
from cimi.views.support import (
    answer,
    check_version,
    context,
    media_type,
    read_body,
    represent,
)
from engine.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from pyramid.request import Request
    from pyramid.response import Response


def target(request: Request) -> tuple[Binding, tuple[str, ...], bool]:
    """The binding, ids and kind (resource or Collection) the URL names.

    :raises NotFound: nothing Concord serves is there (404).
    """
    segments = tuple(request.matchdict.get("segments", ()))
    found = route(segments) if segments else None
    if found is None:
        raise NotFound(f"no CIMI resource or collection at {request.path_info}")
    return found


def supports(binding: Binding, method: str) -> bool:
    """Whether *binding* overrides the base class's refusal of *method*."""
    if method == "edit":
        return bool(binding.edits)
    return getattr(type(binding), method) is not getattr(BaseBinding, method)


def allowed_methods(request: Request) -> list[str]:
    """The methods the URL supports (for ``Allow``)."""
    try:
        binding, _, is_resource = target(request)
    except NotFound:
        return ["GET"]
    if not is_resource:
        return ["GET", "POST"] if supports(binding, "add") else ["GET"]
    methods = ["GET"]
    methods += ["PUT"] if supports(binding, "edit") else []
    methods += ["DELETE"] if supports(binding, "delete") else []
    methods += ["POST"] if supports(binding, "act") else []
    return methods


def _not_allowed(request: Request) -> HTTPMethodNotAllowed:
    allowed = allowed_methods(request)
    return HTTPMethodNotAllowed(
        f"{request.method} is not allowed here; use {', '.join(allowed)}",
        headers={"Allow": ", ".join(allowed)},
    )


def _query(request: Request) -> CollectionQuery:
    return parse_query(request.GET.items())


@view_config(route_name="cimi.path", request_method="GET")
def read(request: Request) -> Response:
    """GET a Collection (with its query parameters) or a resource."""
    check_version(request)
    media_type(request)  # 406 before any work
    binding, ids, is_resource = target(request)
    ctx = context(request)
    query = _query(request)
    if not is_resource:
        check_query(query, binding.collection_table)
        value = collection(ctx, binding, ids, query)
        return represent(request, binding.collection_table, value)
    if query.filter is not None or query.orderby or query.first or query.last is not None:
        raise QueryError("$filter, $orderby, $first and $last apply to Collections only")
    check_query(query, binding.table)
    value = binding.render(ctx, binding.fetch(ctx, ids))
    if query.expand.all or query.expand.names:
        value = expanded(ctx, value, binding.table, query.expand)
    return represent(request, binding.table, project(value, query.select))


def add(request: Request) -> Response:
    """POST a ``<Type>Create`` (or the resource) to a Collection: ``add`` (4.2.1.1)."""
    binding, ids, _ = target(request)
    ctx = context(request)
    binding.check_parent(ctx, ids)
    if not supports(binding, "add"):
        raise _not_allowed(request)
    value = read_body(request, create_table(binding.type_name), Mode.CREATE)
    with body_references():
        outcome = binding.add(ctx, ids, value)
    return answer(request, ctx, binding, outcome)


@view_config(route_name="cimi.path", request_method="PUT")
def edit(request: Request) -> Response:
    """PUT a resource: ``edit`` (4.2.1.3); ``$select`` makes it partial."""
    check_version(request)
    media_type(request)
    binding, ids, is_resource = target(request)
    if not is_resource or not supports(binding, "edit"):
        raise _not_allowed(request)
    ctx = context(request)
    obj = binding.fetch(ctx, ids)
    value = read_body(request, binding.table, Mode.EDIT)
    current = binding.render(ctx, obj)
    _check_unchanged(binding, current, read_body(request, binding.table, Mode.REPRESENTATION))
    changes = _changes(binding, current, value, _query(request).select)
    with body_references():
        outcome = binding.edit(ctx, obj, changes)
    return answer(request, ctx, binding, outcome)


def _check_unchanged(binding: Binding, current: dict[str, Any], body: dict[str, Any]) -> None:
    """Refuse a PUT that gives a read-only or create-only attribute a new value.

    A client may send back what it read (the decoder drops those attributes,
    cimi.md 2.7), but a *different* value is a change the provider will not
    make: a silent 200 would let the client believe it was made (DSP0263
    4.2.1.3; issue 17), so it is a 400 naming the attribute. Scalars only:
    references, collections and structures are the provider's own links.
    """
    for field in binding.table.fields:
        if field.access is Access.READ_WRITE or field.place is Place.IMPLIED:
            continue
        if field.many or field.kind in NESTED_KINDS or field.name not in body:
            continue
        if body[field.name] != current.get(field.name):
            raise InvalidInput(
                f"{field.name} cannot be changed on a {binding.type_name}: it is "
                f"{current.get(field.name)!r}; send the current value or leave it out",
                field=field.name,
            )


def _changes(
    binding: Binding, current: dict[str, Any], body: dict[str, Any], selection: Selection
) -> dict[str, Any]:
    """What a PUT changes: attribute -> new value, None to remove (cimi.md 2.7).

    Without ``$select`` every attribute the binding can edit is replaced (an
    absent one is removed); with it, only the selected ones. A writable
    attribute this provider cannot change may be sent back unchanged, but a
    different value is refused rather than ignored.
    """
    writable = {
        f.name
        for f in binding.table.fields
        if f.access is Access.READ_WRITE and f.place is not Place.IMPLIED
    }
    editable = binding.editable() & writable
    if selection.all:
        chosen = editable
        for name in sorted(writable - editable):
            if name in body and body[name] != current.get(name):
                raise InvalidInput(f"{name} cannot be changed on a {binding.type_name}")
    else:
        chosen = {path[0] for path in selection.paths}
        wrong = sorted(chosen - editable)
        if wrong:
            raise QueryError(f"$select: {', '.join(wrong)} cannot be edited")
    return {name: body.get(name) for name in sorted(chosen)}


@view_config(route_name="cimi.path", request_method="DELETE")
def delete(request: Request) -> Response:
    """DELETE a resource (4.2.1.4): 200 when done, 202 with a Job when under way."""
    check_version(request)
    media_type(request)
    binding, ids, is_resource = target(request)
    if not is_resource or not supports(binding, "delete"):
        raise _not_allowed(request)
    ctx = context(request)
    obj = binding.fetch(ctx, ids)
    return answer(request, ctx, binding, binding.delete(ctx, obj))


@view_config(route_name="cimi.path")
def other_method(request: Request) -> Response:
    """Any other method: 405 with ``Allow``."""
    target(request)
    raise _not_allowed(request)


__all__ = ["add", "allowed_methods", "delete", "edit", "other_method", "read", "supports", "target"]
