"""The reference OCCI 1.2 server: a small, correct WSGI app for the harness's tests.

``RefOcci(isolate=False)`` shares every user's entities (a tenant leak), and
``async_reads=N`` applies each action only after N reads of the entity, so the
harness's waits are exercised; :mod:`unit.conformance.broken` breaks the rest.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from unit.conformance.refocci import wire
from unit.conformance.refocci.model import (
    COMPUTE_MOVES,
    CORE,
    INFRA,
    MISSING,
    OTHER_MOVES,
    Cat,
    Entity,
    categories,
)
from unit.conformance.refocci.wire import OCCI_JSON, OCCI_TEXT, PLAIN, SUPPORTED, URI_LIST, Parsed
from webob import Request, Response

SERVER = "RefOCCI/1.0 OCCI/1.2"
USERS = {"alice": "alice-password", "bob": "bob-password"}


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class RefOcci:
    """The WSGI application."""

    def __init__(self, *, isolate: bool = True, async_reads: int = 0) -> None:
        self.isolate, self.async_reads = isolate, async_reads
        self.cats: list[Cat] = categories()
        self.store: dict[str, Entity] = {}
        self.requests: list[tuple[str, str]] = []

    # ------------------------------------------------------------ plumbing

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append((request.method, request.path_qs))
        media = PLAIN
        try:
            self._version(request)
            user = self._user(request)
            media = self._negotiate(request)
            response = self.route(request, user, media)
        except HttpError as exc:
            response = self._error(exc, media)
        response.headers["Server"] = SERVER
        response.headers["Accept"] = ", ".join(SUPPORTED)
        return response(environ, start_response)

    def _error(self, exc: HttpError, media: str) -> Response:
        if media == OCCI_JSON:
            response = Response(json.dumps({"error": exc.message}), content_type=OCCI_JSON)
        else:
            response = Response(exc.message + "\n", content_type=PLAIN)
        response.status_int = exc.status
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="reference"'
        return response

    @staticmethod
    def _version(request: Request) -> None:
        for major, minor in re.findall(r"OCCI/(\d+)\.(\d+)", request.user_agent or ""):
            if (int(major), int(minor)) > (1, 2):
                raise HttpError(501, f"OCCI/{major}.{minor} is not implemented")

    @staticmethod
    def _user(request: Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            user, _, password = base64.b64decode(token).decode().partition(":")
            if USERS.get(user) == password:
                return user
        raise HttpError(401, "authentication required")

    @staticmethod
    def _negotiate(request: Request) -> str:
        ranges = [
            r.split(";")[0].strip().lower()
            for r in (request.headers.get("Accept") or "*/*").split(",")
        ]
        for media in ranges:
            if media in ("*/*", "text/*", ""):
                return PLAIN
            if media in SUPPORTED:
                return media
        raise HttpError(406, "no acceptable rendering")

    def parse(self, request: Request) -> Parsed:
        media = (request.content_type or OCCI_TEXT).lower()
        try:
            if media == OCCI_JSON:
                return wire.parse_json(json.loads(request.body or b"{}"))
            if media in (PLAIN, wire.OCCI_PLAIN):
                lines = [ln for ln in request.text.splitlines() if ln.strip()]
                fields = []
                for line in lines:
                    name, sep, rest = line.partition(":")
                    if not sep:
                        raise ValueError(f"bad line {line!r}")
                    fields.append((name.strip(), rest.strip()))
                return wire.parse_fields(fields)
            if media == OCCI_TEXT:
                return wire.parse_fields(list(request.headers.items()))
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise HttpError(400, f"cannot parse the request: {exc}") from exc
        raise HttpError(400, f"unsupported Content-Type {media}")

    def url(self, request: Request, path: str) -> str:
        return request.host_url + path

    # ------------------------------------------------------------ rendering

    def render_categories(self, cats: list[Cat], media: str) -> Response:
        if media == URI_LIST:
            raise HttpError(400, "the query interface is not a listing of resources")
        if media == OCCI_JSON:
            return Response(wire.dumps(wire.json_categories(cats)), content_type=OCCI_JSON)
        return self._text([("Category", wire.category_value(c)) for c in cats], media)

    def _text(self, fields: list[tuple[str, str]], media: str, status: int = 200) -> Response:
        if media == OCCI_TEXT:
            response = Response("OK", content_type=OCCI_TEXT, status=status)
            merged: dict[str, list[str]] = {}
            for name, item in fields:
                merged.setdefault(name, []).append(item)
            for name, items in merged.items():
                response.headers[name] = ", ".join(items)
            return response
        body = "".join(f"{name}: {item}\n" for name, item in fields)
        return Response(body, content_type=media, status=status)

    def render_listing(self, request: Request, entities: list[Entity], media: str) -> Response:
        urls = [self.url(request, e.path) for e in entities]
        if media == URI_LIST:
            return Response("".join(u + "\n" for u in urls), content_type=URI_LIST)
        if media == OCCI_JSON:
            key = "links" if entities and all(e.is_link for e in entities) else "resources"
            docs = [wire.json_entity(e, self.applicable(e), self.store) for e in entities]
            return Response(wire.dumps({key: docs}), content_type=OCCI_JSON)
        return self._text([("X-OCCI-Location", u) for u in urls], media)

    def render_entity(self, entity: Entity, media: str, status: int = 200) -> Response:
        if media == URI_LIST:
            raise HttpError(400, "an entity is not a listing")
        actions = self.applicable(entity)
        if media == OCCI_JSON:
            doc = wire.json_entity(entity, actions, self.store)
            return Response(wire.dumps(doc), content_type=OCCI_JSON, status=status)
        return self._text(wire.entity_fields(entity, actions, self.store), media, status)

    def applicable(self, entity: Entity) -> list[Cat]:
        state = entity.attrs.get(f"occi.{entity.kind.term}.state")
        moves = COMPUTE_MOVES if entity.kind.term == "compute" else OTHER_MOVES
        names = {a for s, a in moves if s == state} | (
            {"save"} if entity.kind.term == "compute" else set()
        )
        return [c for c in self.cats if c.type_id in entity.kind.actions and c.term in names]

    # ------------------------------------------------------------ lookups

    def category(self, term: str, scheme: str) -> Cat:
        for cat in self.cats:
            if cat.term == term and cat.scheme == scheme:
                return cat
        raise HttpError(400, f"unknown category {scheme}{term}")

    def visible(self, user: str) -> list[Entity]:
        return [e for e in self.store.values() if not self.isolate or e.owner == user]

    def entity(self, path: str, user: str) -> Entity:
        found = self.store.get(path)
        if found is None or (self.isolate and found.owner != user):
            raise HttpError(404, f"no entity at {path}")
        if found.pending is not None:
            state, reads = found.pending
            found.pending = (state, reads - 1) if reads > 1 else None
            if reads <= 1:
                found.attrs[f"occi.{found.kind.term}.state"] = state
        return found

    def ancestors(self, cat: Cat) -> list[str]:
        chain, current = [], cat
        while current.rel:
            chain.append(current.rel[0])
            current = next(
                (c for c in self.cats if c.type_id == current.rel[0]), Cat("", "", "", "")
            )
        return chain

    def kind_members(self, kind: Cat, user: str) -> list[Entity]:
        return [
            e
            for e in self.visible(user)
            if e.kind is kind or kind.type_id in self.ancestors(e.kind)
        ]

    def route(self, request: Request, user: str, media: str) -> Response:
        from unit.conformance.refocci.handlers import route

        return route(self, request, user, media)

    # ------------------------------------------------------------ changes

    def new_path(self, kind: Cat) -> str:
        return f"{kind.location}{uuid.uuid4()}"

    def build(self, path: str, user: str, kind: Cat, parsed: Parsed, mixins: list[Cat]) -> Entity:
        attrs: dict[str, Any] = {"occi.core.id": f"urn:uuid:{uuid.uuid4()}"}
        parents = [c for c in self.cats if c.type_id in self.ancestors(kind)]
        for cat in [*parents[::-1], kind, *mixins]:
            for attr in cat.attrs:
                if attr.default is not MISSING:
                    attrs[attr.name] = attr.default
        for name, item in parsed.attributes.items():
            if name == "occi.core.id":
                raise HttpError(400, "occi.core.id is immutable")
            attrs[name] = item
        for cat in [kind, *mixins, *parents]:
            for attr in cat.attrs:
                if attr.required and attr.name not in attrs:
                    raise HttpError(400, f"{attr.name} is required")
        if kind.term == "networkinterface":
            attrs.setdefault("occi.networkinterface.interface", "eth0")
        entity = Entity(path, user, kind, mixins, attrs)
        if kind.rel == [CORE + "link"]:
            for end in ("occi.core.source", "occi.core.target"):
                attrs[end] = urlsplit(str(attrs[end])).path
                if attrs[end] not in self.store or self.store[attrs[end]].owner != user:
                    raise HttpError(400, f"{end} {attrs[end]} is not a resource of yours")
            self.store[attrs["occi.core.source"]].links.append(path)
        return entity

    def check_mixins(self, kind: Cat, mixins: list[Cat]) -> None:
        for mixin in mixins:
            if mixin.cls != "mixin":
                raise HttpError(400, f"{mixin.type_id} is not a mixin")
            if mixin.applies and kind.type_id not in mixin.applies:
                raise HttpError(400, f"{mixin.type_id} does not apply to {kind.type_id}")

    def act(self, entity: Entity, term: str) -> None:
        state_name = f"occi.{entity.kind.term}.state"
        moves = COMPUTE_MOVES if entity.kind.term == "compute" else OTHER_MOVES
        target = moves.get((entity.attrs.get(state_name), term))
        if term == "save":
            return
        if target is None:
            raise HttpError(409, f"{term} is not possible in state {entity.attrs.get(state_name)}")
        if self.async_reads:
            entity.pending = (target, self.async_reads)
        else:
            entity.attrs[state_name] = target

    def act_on_all(self, members: list[Entity], term: str) -> None:
        """An action on a collection: members already where it leads are left alone."""
        todo = []
        for member in members:
            state_name = f"occi.{member.kind.term}.state"
            moves = COMPUTE_MOVES if member.kind.term == "compute" else OTHER_MOVES
            leads = {to for (start, name), to in moves.items() if name == term and start != to}
            if member.attrs.get(state_name) not in leads:
                todo.append(member)
        for member in todo:
            self.act(member, term)

    def remove(self, entity: Entity) -> None:
        self.store.pop(entity.path, None)
        for link in list(entity.links):
            self.store.pop(link, None)
        source = entity.attrs.get("occi.core.source")
        if source in self.store:
            self.store[source].links.remove(entity.path)

    @staticmethod
    def template_parent(mixin: Cat) -> str | None:
        for parent in (INFRA + "os_tpl", INFRA + "resource_tpl"):
            if parent in mixin.rel:
                return parent
        return None
