"""The reference server's request handlers, by kind of URL (GFD.223 §9–11)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from unit.conformance.refocci.app import HttpError
from unit.conformance.refocci.model import CORE, Cat, Entity
from unit.conformance.refocci.wire import OCCI_JSON, PLAIN, Parsed
from webob import Request, Response

if TYPE_CHECKING:
    from unit.conformance.refocci.app import RefOcci

QUERY = ("/-/", "/.well-known/org/ogf/occi/-/")


def route(app: RefOcci, request: Request, user: str, media: str) -> Response:
    path = request.path_info
    if path in QUERY:
        return query(app, request, user, media)
    for cat in app.cats:
        if cat.location == path and (cat.owner in (None, user)):
            if cat.cls == "kind":
                return kind_collection(app, request, user, media, cat)
            return mixin_collection(app, request, user, media, cat)
    kind = next(
        (
            c
            for c in app.cats
            if c.cls == "kind"
            and c.location
            and path.startswith(c.location)
            and "/" not in path[len(c.location) :]
            and path != c.location
        ),
        None,
    )
    if kind is None:
        raise HttpError(404, f"nothing at {path}")
    return entity_handler(app, request, user, media, kind, path)


def query(app: RefOcci, request: Request, user: str, media: str) -> Response:
    visible = [c for c in app.cats if c.owner in (None, user)]
    if request.method == "GET":
        wanted = request.headers.get("Category")
        if wanted and (request.content_type or "") == "text/occi":
            parsed = app.parse(request)
            term, scheme, _ = parsed.categories[0]
            target = app.category(term, scheme).type_id
            visible = [
                c
                for c in visible
                if c.type_id == target
                or target in app.ancestors(c)
                or c.type_id in app.category(term, scheme).actions
                or target in c.applies
            ]
        return app.render_categories(visible, media)
    if request.method not in ("POST", "DELETE"):
        raise HttpError(405, "the query interface takes GET, POST and DELETE")
    parsed = app.parse(request)
    definitions = [(t, s, p) for t, s, p in parsed.categories] + [
        (
            d.get("term", ""),
            d.get("scheme", ""),
            {"location": d.get("location", ""), "class": "mixin"},
        )
        for d in parsed.mixin_defs
    ]
    if not definitions:
        raise HttpError(400, "no category given")
    for term, scheme, params in definitions:
        if request.method == "POST":
            location = params.get("location")
            if not location or any(c.location == location for c in app.cats):
                raise HttpError(409 if location else 400, "a new mixin needs a free location")
            app.cats.append(
                Cat(term, scheme, "mixin", params.get("title", term), location=location, owner=user)
            )
        else:
            cat = app.category(term, scheme)
            if cat.owner != user:
                raise HttpError(403, "only your own mixins can be removed")
            app.cats.remove(cat)
            for entity in app.store.values():
                if cat in entity.mixins:
                    entity.mixins.remove(cat)
    return Response(
        "OK" if media != OCCI_JSON else "{}",
        content_type=media if media != "text/uri-list" else PLAIN,
    )


def _paths(app: RefOcci, locations: list[str], user: str) -> list[Entity]:
    return [app.entity(urlsplit(loc).path, user) for loc in locations]


def kind_collection(app: RefOcci, request: Request, user: str, media: str, kind: Cat) -> Response:
    members = app.kind_members(kind, user)
    action = request.GET.get("action")
    if request.method == "GET":
        if request.headers.get("X-OCCI-Attribute") and request.content_type == "text/occi":
            wanted = app.parse(request).attributes
            members = [m for m in members if all(m.attrs.get(k) == v for k, v in wanted.items())]
        if "number" in request.GET:
            number, page = int(request.GET["number"]), int(request.GET.get("page", 1))
            if number > 1000:
                raise HttpError(413, "at most 1000 per page")
            members = members[(page - 1) * number : page * number]
        return app.render_listing(request, members, media)
    if request.method == "POST" and action:
        app.act_on_all(members, action)
        return app.render_listing(request, members, media)
    if request.method == "DELETE":
        for member in members:
            app.remove(member)
        return Response(status=204)
    if request.method != "POST":
        raise HttpError(405, "a kind collection takes GET, POST and DELETE")
    parsed = app.parse(request)
    entity = create(app, request, user, kind, parsed, app.new_path(kind))
    response = (
        app.render_entity(entity, media, 201)
        if media == OCCI_JSON
        else Response(
            status=201, body=b"OK", content_type=media if media != "text/uri-list" else PLAIN
        )
    )
    response.headers["Location"] = app.url(request, entity.path)
    return response


def create(
    app: RefOcci, request: Request, user: str, kind: Cat, parsed: Parsed, path: str
) -> Entity:
    kinds = [c for c in parsed.categories if c[2].get("class", "kind") == "kind"]
    if len(kinds) != 1 or app.category(kinds[0][0], kinds[0][1]) is not kind:
        raise HttpError(400, f"exactly one Category of kind {kind.type_id} is required")
    mixins = [app.category(t, s) for t, s, p in parsed.categories if p.get("class") == "mixin"]
    app.check_mixins(kind, mixins)
    entity = app.build(path, user, kind, parsed, mixins)
    app.store[path] = entity
    for target, params in parsed.links:
        link_kind = next((c for c in app.cats if c.type_id == params.get("category")), None)
        if link_kind is None or link_kind.rel != [CORE + "link"]:
            raise HttpError(400, f"unknown link kind {params.get('category')!r}")
        link_path = app.new_path(link_kind)
        attrs = {k: v for k, v in params.items() if k not in ("rel", "category", "self")}
        link_parsed = Parsed(
            attributes={
                **attrs,
                "occi.core.source": path,
                "occi.core.target": urlsplit(target).path,
            }
        )
        app.store[link_path] = app.build(link_path, user, link_kind, link_parsed, [])
    return entity


def mixin_collection(app: RefOcci, request: Request, user: str, media: str, mixin: Cat) -> Response:
    members = [e for e in app.visible(user) if mixin in e.mixins]
    if request.method == "GET":
        return app.render_listing(request, members, media)
    if request.method == "POST" and request.GET.get("action"):
        app.act_on_all(members, request.GET["action"])
        return app.render_listing(request, members, media)
    parsed = app.parse(request)
    named = _paths(app, parsed.locations, user)
    if request.method == "POST":
        for entity in named:
            app.check_mixins(entity.kind, [mixin])
            if mixin not in entity.mixins:
                entity.mixins.append(mixin)
    elif request.method == "PUT":
        if mixin.owner is None:
            raise HttpError(403, "provider mixins are managed by the provider")
        for entity in members:
            entity.mixins.remove(mixin)
        for entity in named:
            entity.mixins.append(mixin)
    elif request.method == "DELETE":
        for entity in named or members:
            if mixin in entity.mixins:
                entity.mixins.remove(mixin)
    members = [e for e in app.visible(user) if mixin in e.mixins]
    return app.render_listing(request, members, media)


def entity_handler(
    app: RefOcci, request: Request, user: str, media: str, kind: Cat, path: str
) -> Response:
    if request.method == "PUT" and path not in app.store:
        entity = create(app, request, user, kind, app.parse(request), path)
        response = Response(status=201, body=b"OK", content_type=PLAIN)
        response.headers["Location"] = app.url(request, path)
        return response
    entity = app.entity(path, user)
    if request.method == "GET":
        return app.render_entity(entity, media)
    if request.method == "DELETE":
        app.remove(entity)
        return Response(status=200, body=b"OK", content_type=PLAIN)
    parsed = app.parse(request)
    if request.method == "POST" and request.GET.get("action"):
        term = request.GET["action"]
        given = parsed.action or next((s + t for t, s, _ in parsed.categories), "")
        action = next((c for c in app.cats if c.type_id == given), None)
        if action is None or action.term != term or action.type_id not in entity.kind.actions:
            raise HttpError(400, f"{given!r} is not an action {term} of {entity.kind.type_id}")
        app.act(entity, term)
        return app.render_entity(entity, media)
    if request.method not in ("POST", "PUT"):
        raise HttpError(405, "entities take GET, POST, PUT and DELETE")
    mutable = {
        a.name
        for c in [
            entity.kind,
            *entity.mixins,
            *(x for x in app.cats if x.type_id in app.ancestors(entity.kind)),
        ]
        for a in c.attrs
        if a.mutable
    }
    bad = [
        n
        for n in parsed.attributes
        if n not in mutable
        and n.startswith("occi.")
        and parsed.attributes[n] != entity.attrs.get(n)
    ]
    if bad:
        raise HttpError(400, f"{bad[0]} is immutable")
    mixins = [app.category(t, s) for t, s, p in parsed.categories if p.get("class") == "mixin"]
    app.check_mixins(entity.kind, mixins)
    if request.method == "PUT":
        kinds = [c for c in parsed.categories if c[2].get("class") == "kind"]
        if not kinds or app.category(kinds[0][0], kinds[0][1]) is not entity.kind:
            raise HttpError(400, "PUT needs the entity's own Kind")
        entity.mixins = [m for m in entity.mixins if m.owner is not None] + mixins
        kept = {k: v for k, v in entity.attrs.items() if k not in mutable}
        entity.attrs = {**kept, **{k: v for k, v in parsed.attributes.items() if k in mutable}}
    else:
        for mixin in mixins:
            parent = app.template_parent(mixin)
            if parent:
                entity.mixins = [m for m in entity.mixins if app.template_parent(m) != parent]
            if mixin not in entity.mixins:
                entity.mixins.append(mixin)
        entity.attrs.update({k: v for k, v in parsed.attributes.items() if k in mutable})
    return app.render_entity(entity, media)
