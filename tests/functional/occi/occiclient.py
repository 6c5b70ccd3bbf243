"""A small OCCI client over WebTest for the functional tests, and the rendering matrix.

Requests are rendered with :mod:`occi.rendering` in any of the request
media types (text/occi puts the rendering in headers); responses are read
back with :mod:`occi.parsing`. Every response the client sees is checked
for what all OCCI responses owe (``Server: ... OCCI/1.2``, a Content-Type
on every body, ``Vary: Accept``) and every JSON body is validated against
``schemas/occi``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from helpers import basic
from webtest import TestApp, TestResponse

from occi.model import (
    ActionInvocation,
    CategoryDefinitions,
    Entity,
    EntityCollection,
    EntityRendering,
    LinkRendering,
    Locations,
)
from occi.parsing import HeaderParser, JsonParser, Message, PlainParser
from occi.rendering import render
from occi.schemas import first_error

BASE = "http://localhost"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
CORE = "http://schemas.ogf.org/occi/core#"
COMPUTE = INFRA + "compute"
STORAGE = INFRA + "storage"
NETWORK = INFRA + "network"
NETWORKINTERFACE = INFRA + "networkinterface"
STORAGELINK = INFRA + "storagelink"
IPNETWORK = "http://schemas.ogf.org/occi/infrastructure/network#ipnetwork"
IPNETWORKINTERFACE = (
    "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
)
OS_TPL = INFRA + "os_tpl"
RESOURCE_TPL = INFRA + "resource_tpl"
SSH_KEY = "http://schemas.ogf.org/occi/infrastructure/credentials#ssh_key"
USER_DATA = "http://schemas.ogf.org/occi/infrastructure/compute#user_data"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
STORAGE_ACTION = "http://schemas.ogf.org/occi/infrastructure/storage/action#"
NETWORK_ACTION = "http://schemas.ogf.org/occi/infrastructure/network/action#"
OS_TPL_SCHEME = "http://schemas.concord.invalid/occi/os_tpl#"
RESOURCE_TPL_SCHEME = "http://schemas.concord.invalid/occi/resource_tpl#"

TEXT_PLAIN = "text/plain"
TEXT_OCCI_PLAIN = "text/occi+plain"
TEXT_OCCI = "text/occi"
OCCI_JSON = "application/occi+json"
JSON = "application/json"
URI_LIST = "text/uri-list"
#: What requests are sent as (every parser), and what responses are asked for.
REQUEST_MEDIA = (TEXT_PLAIN, TEXT_OCCI_PLAIN, TEXT_OCCI, OCCI_JSON, JSON)
RESPONSE_MEDIA = REQUEST_MEDIA
TEXT_MEDIA = (TEXT_PLAIN, TEXT_OCCI_PLAIN, TEXT_OCCI)
JSON_MEDIA = (OCCI_JSON, JSON)

USERS = ("alice", "bob", "carol", "acmeadmin", "admin")


def auth(user: str) -> dict[str, str]:
    """Basic credentials of a seeded user."""
    return basic(user, f"{user}-password")


def schema_for(data: Any) -> str:
    """The schema a JSON response body must satisfy, from its shape."""
    if isinstance(data, list):
        return "locations"
    if "error" in data:
        return "error"
    if "kind" in data:  # a resource may have "links" too
        return "entity"
    if "resources" in data or "links" in data:
        return "entity-collection"
    if "action" in data:
        return "action-invocation"
    if "term" in data:
        if "depends" in data or "applies" in data:
            return "mixin"
        return "kind" if "location" in data or "parent" in data else "action"
    return "category-collection"


def check_response(response: TestResponse) -> None:
    """What every OCCI response owes (module docstring)."""
    server = response.headers.get("Server", "")
    assert "OCCI/1.2" in server.split(), server
    if response.body:
        assert response.content_type, f"{response.status}: a body without Content-Type"
    if response.status_int != 204 or response.headers.get("Vary"):
        assert "Accept" in response.headers.get("Vary", ""), response.headers
    if response.content_type in JSON_MEDIA:
        data = json.loads(response.text)
        error = first_error(schema_for(data), data)
        assert error is None, f"{schema_for(data)}: {error.message} at {list(error.absolute_path)}"


def message_of(response: TestResponse) -> Message:
    """A response as a parser reads it: headers and body."""
    return Message.from_wsgi(list(response.headers.items()), response.body, base_url=BASE)


def parser_of(media: str) -> HeaderParser | PlainParser | JsonParser:
    """The parser of a response media type."""
    if media == TEXT_OCCI:
        return HeaderParser()
    if media in JSON_MEDIA:
        return JsonParser()
    return PlainParser()


def entity_of(response: TestResponse) -> Entity:
    """The entity a response renders."""
    return parser_of(response.content_type).entity(message_of(response))


def categories_of(response: TestResponse) -> CategoryDefinitions:
    """The categories a response renders."""
    return parser_of(response.content_type).categories(message_of(response))


def locations_of(response: TestResponse) -> list[str]:
    """The entity locations a listing renders (paths), in every rendering."""
    media = response.content_type
    if media == URI_LIST:
        return [line.removeprefix(BASE) for line in response.text.split("\r\n") if line]
    if media in JSON_MEDIA:
        collection = JsonParser().entities(message_of(response))
        return [path_of(entity) for entity in collection.entities]
    # A text/occi answer's HTTP Location header reads as one more location (rOCCI's
    # alias of X-OCCI-Location): the same URL, listed once.
    return list(dict.fromkeys(parser_of(media).locations(message_of(response)).locations))


def path_of(entity: Entity) -> str:
    """An entity's path, from its Kind and id (JSON renders no location)."""
    kind = (entity.kind or "").rsplit("#", 1)[-1]
    identifier = str(entity.attributes["occi.core.id"])
    return f"/{kind}/{identifier.rsplit(':', 1)[-1]}"


@dataclass
class Request:
    """What a rendered request sends: headers and body."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def rendered(media: str, document: object) -> Request:
    """A request carrying ``document`` in ``media`` (text/occi: in the headers)."""
    out = render(media, document, BASE)
    headers = {"Content-Type": media}
    for name, value in out.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    body = b"" if media == TEXT_OCCI else out.body.encode("utf-8")
    return Request(headers, body)


class OcciClient:
    """OCCI requests as one user, over WebTest (see the module docstring)."""

    def __init__(
        self, app: TestApp, user: str = "alice", credentials: Mapping[str, str] | None = None
    ) -> None:
        self.app = app
        self.user = user
        #: Headers that sign in instead of the seeded user's password (a token).
        self.credentials = dict(credentials) if credentials is not None else None

    def as_user(self, user: str) -> OcciClient:
        """The same client as another seeded user."""
        return OcciClient(self.app, user)

    def request(
        self,
        method: str,
        path: str,
        *,
        document: object | None = None,
        media: str = TEXT_PLAIN,
        accept: str | None = TEXT_PLAIN,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        status: int | str | None = None,
    ) -> TestResponse:
        """Send a request (``document`` rendered in ``media``) and check the answer."""
        sent = rendered(media, document) if document is not None else Request()
        signed_in = self.credentials if self.credentials is not None else auth(self.user)
        all_headers = {**signed_in, **sent.headers, **(headers or {})}
        if accept is not None:
            all_headers["Accept"] = accept
        payload = sent.body if body is None else body
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        response = self.app.request(
            path, method=method, headers=all_headers, body=payload, expect_errors=True
        )
        check_response(response)
        if status is not None:
            expected = str(status)
            assert str(response.status_int).startswith(expected.rstrip("x")), (
                f"{method} {path}: {response.status} (expected {status}): {response.text[:500]}"
            )
        return response

    # -- conveniences ------------------------------------------------------------

    def create(
        self,
        kind: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        mixins: Iterable[str] = (),
        links: Iterable[LinkRendering] = (),
        media: str = TEXT_PLAIN,
        accept: str = TEXT_PLAIN,
    ) -> str:
        """Create an entity by POST to its Kind's location; return its path."""
        term = kind.rsplit("#", 1)[-1]
        document: Entity
        values = dict(attributes or {})
        if term in ("storagelink", "networkinterface"):
            target = values.pop("occi.core.target")
            source = values.pop("occi.core.source")
            document = LinkRendering(
                target=target, source=source, kind=kind, mixins=tuple(mixins), attributes=values
            )
        else:
            document = EntityRendering(
                kind=kind, mixins=tuple(mixins), attributes=values, links=tuple(links)
            )
        response = self.request(
            "POST", f"/{term}/", document=document, media=media, accept=accept, status=201
        )
        return response.headers["Location"].removeprefix(BASE)

    def read(self, path: str, media: str = TEXT_PLAIN) -> Entity:
        """GET an entity and parse it."""
        return entity_of(self.request("GET", path, accept=media, status=200))

    def attribute(self, path: str, name: str) -> Any:
        """One attribute of an entity."""
        return self.read(path).attributes.get(name)

    def listing(self, path: str, media: str = TEXT_PLAIN, **kwargs: Any) -> list[str]:
        """The locations a collection lists."""
        return locations_of(self.request("GET", path, accept=media, status=200, **kwargs))

    def invoke(
        self,
        path: str,
        action: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        media: str = TEXT_PLAIN,
        accept: str = TEXT_PLAIN,
        status: int | str | None = 200,
    ) -> TestResponse:
        """POST ``path?action=<term>`` with an action invocation."""
        term = action.rsplit("#", 1)[-1]
        document = ActionInvocation(action, dict(attributes or {}))
        separator = "&" if "?" in path else "?"
        return self.request(
            "POST",
            f"{path}{separator}action={term}",
            document=document,
            media=media,
            accept=accept,
            status=status,
        )

    def define_tag(
        self,
        term: str,
        location: str,
        *,
        scheme: str | None = None,
        media: str = TEXT_PLAIN,
        status: int | str = 200,
        **extra: Any,
    ) -> str:
        """Define a user Mixin through POST /-/; return its type identifier."""
        from occi.model import CategoryDefinition

        scheme = scheme or f"http://example.org/{self.user}/tags#"
        definition = CategoryDefinition(term, scheme, "mixin", location=location, **extra)
        self.request(
            "POST", "/-/", document=CategoryDefinitions((definition,)), media=media, status=status
        )
        return scheme + term

    def members(
        self,
        path: str,
        locations: Iterable[str],
        method: str,
        *,
        media: str = TEXT_PLAIN,
        status: int | str = 200,
    ) -> TestResponse:
        """Associate (POST), replace (PUT) or dissociate (DELETE) entities of a Mixin."""
        return self.request(
            method, path, document=Locations(tuple(locations)), media=media, status=status
        )


def collection_of(response: TestResponse) -> EntityCollection:
    """A JSON entity collection response."""
    return JsonParser().entities(message_of(response))


__all__ = [
    "BASE",
    "OcciClient",
    "auth",
    "categories_of",
    "check_response",
    "collection_of",
    "entity_of",
    "locations_of",
    "path_of",
    "rendered",
]
