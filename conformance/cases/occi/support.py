"""OCCI discovery shared by the cases: the query interface, the model, collections, entities.

Nothing here knows a URL layout: the query interface is ``-/`` relative to the
endpoint URL (GFD.223 §9), every other URL comes from a Category's location,
a collection listing, a Location header or an action link. Results are cached
for the run, so many cases judge one exchange.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

from conformance.cases.session import CaseSkipped, Session
from conformance.client import Client, Exchange
from conformance.formats import occi_json, occi_text
from conformance.formats.occi_model import (
    OCCI_JSON,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    Category,
    Entity,
    Model,
)
from conformance.wait import settled

QUERY_INTERFACE = "-/"


class OcciSupport:
    """Discovery and reading helpers for one run (see :meth:`of`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.client = session.client
        self._parsed: dict[tuple[int, str], tuple[Exchange, occi_text.TextMessage]] = {}

    # ------------------------------------------------------------ query interface

    def query(self, rendering: str) -> Exchange:
        """GET ``/-/`` accepting ``rendering`` (once per run and rendering)."""
        return self.session.memo(
            f"GET /-/ as {rendering}", lambda: self.client.get(QUERY_INTERFACE, rendering)
        )

    def offered(self, rendering: str) -> bool:
        """Whether the server answers ``/-/`` in ``rendering``."""
        exchange = self.query(rendering)
        return exchange.status == 200 and exchange.response.media_type == rendering

    def categories(self, exchange: Exchange, rendering: str) -> tuple[list[Category], list[str]]:
        """The Categories of a category collection in ``rendering``, and what was wrong."""
        response = exchange.response
        if rendering == OCCI_JSON:
            try:
                doc = response.json()
            except ValueError as exc:
                return [], [f"the body is not JSON: {exc}"]
            return occi_json.categories(doc)
        message = self.text_message(exchange, rendering)
        return message.categories, [p.message for p in message.problems]

    def text_message(self, exchange: Exchange, rendering: str) -> occi_text.TextMessage:
        """A text rendering read from the body (text/plain) or the headers (text/occi).

        Parsed once per exchange: many cases judge the same answer.
        """
        key = (id(exchange), rendering)
        known = self._parsed.get(key)
        if known is not None and known[0] is exchange:
            return known[1]
        if rendering == TEXT_OCCI:
            message = occi_text.parse_fields(exchange.response.headers)
        else:
            message = occi_text.parse_plain(exchange.response.text)
        self._parsed[key] = (exchange, message)
        return message

    def model(self) -> Model:
        """The advertised model: text/plain discovery, enriched by JSON where offered."""
        return self.session.memo("the OCCI model from /-/", self._discover)

    def _discover(self) -> Model:
        text = self.query(TEXT_PLAIN)
        found, _ = self.categories(text, TEXT_PLAIN) if text.status == 200 else ([], [])
        model = Model({c.type_id: c for c in found})
        if self.offered(OCCI_JSON):
            rich, _ = self.categories(self.query(OCCI_JSON), OCCI_JSON)
            for category in rich:
                known = model.categories.get(category.type_id)
                if known is None:
                    model.categories[category.type_id] = category
                    continue
                known.applies = category.applies or known.applies
                if category.cls == "mixin" and len(category.rel) > len(known.rel):
                    known.rel = category.rel
                for name, definition in category.attributes.items():
                    if name in known.attributes:
                        definition.required = known.attributes[name].required or definition.required
                    known.attributes[name] = definition
        if not model.kinds():
            raise CaseSkipped(
                f"the query interface gave no usable Kind ({text.summary()}), so nothing can be "
                "discovered"
            )
        return model

    def kind(self, type_id: str) -> Category:
        """The advertised Category ``type_id``, or a skip saying the server does not offer it."""
        category = self.model().get(type_id)
        if category is None:
            raise CaseSkipped(f"the server does not offer {type_id}")
        return category

    def location(self, category: Category) -> str:
        """The absolute URL of a Kind's or Mixin's location."""
        if not category.location:
            raise CaseSkipped(f"{category.type_id} has no location")
        return self.client.url(category.location)

    # ------------------------------------------------------------ collections

    def list_locations(self, url: str, client: Client | None = None) -> tuple[list[str], Exchange]:
        """Entity URLs of a collection, from text/uri-list or else from text/plain."""
        client = client or self.client
        exchange = client.get(url, URI_LIST)
        if exchange.status == 200 and exchange.response.media_type == URI_LIST:
            found = occi_text.parse_uri_list(exchange.response.text)
        else:
            exchange = client.get(url, TEXT_PLAIN)
            found = occi_text.parse_plain(exchange.response.text).locations
        return [urljoin(exchange.request.url, item) for item in found], exchange

    def existing(self, type_id: str) -> str:
        """The URL of some entity of Kind ``type_id`` the primary identity can read."""

        def find() -> str:
            kind = self.kind(type_id)
            urls, exchange = self.list_locations(self.location(kind))
            if exchange.status != 200 or not urls:
                raise CaseSkipped(
                    f"no {kind.term} entity to read ({exchange.summary()}); --profile full "
                    "creates one"
                )
            return urls[0]

        return self.session.memo(f"an existing {type_id}", find)

    # ------------------------------------------------------------ entities

    def get(self, url: str, rendering: str, client: Client | None = None) -> Exchange:
        """GET an entity (or anything) accepting ``rendering``."""
        return (client or self.client).get(url, rendering)

    def entity(self, exchange: Exchange, rendering: str) -> tuple[Entity, list[str]]:
        """The entity rendered by a response, and what was wrong with it."""
        if rendering == OCCI_JSON:
            try:
                return occi_json.entity(exchange.response.json()), []
            except ValueError as exc:
                return Entity(), [f"the body is not JSON: {exc}"]
        message = self.text_message(exchange, rendering)
        return message.entity(), [p.message for p in message.problems]

    def read(self, url: str, client: Client | None = None) -> Entity:
        """The entity at ``url`` read in text/plain (for state polling and checks)."""
        exchange = self.get(url, TEXT_PLAIN, client)
        if exchange.status != 200:
            raise CaseSkipped(f"cannot read {url}: {exchange.summary()}")
        return self.entity(exchange, TEXT_PLAIN)[0]

    def attribute(self, url: str, name: str) -> Any:
        """One attribute of the entity at ``url``."""
        return self.read(url).attributes.get(name)

    def settled(self, send: Callable[[], Exchange], what: str) -> Exchange:
        """Send a request again while the server answers 409 (:func:`conformance.wait.settled`)."""
        return settled(self.session.waiter, send, what)

    def wait_for(self, url: str, name: str, values: tuple[Any, ...]) -> Entity:
        """Poll until attribute ``name`` of ``url`` takes one of ``values``."""

        def probe() -> Entity | None:
            entity = self.read(url)
            return entity if entity.attributes.get(name) in values else None

        wanted = "/".join(map(str, values))
        return self.session.waiter.until(probe, f"{name} of {url} to become {wanted}")
