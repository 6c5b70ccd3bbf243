"""A small CIMI client for the functional tests: discovery, bodies, schema checks.

Every response it receives is checked before a test sees it: its media type
is the one asked for, a CIMI body validates against ``schemas/cimi`` (the
JSON Schema or the XSD, found from ``resourceURI`` or the XML root), and an
error body has the shape of :mod:`cimi.views.errors`. Bodies it sends are
encoded by the codecs from neutral values, in the client's rendering.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from lxml import etree
from webtest import TestApp, TestResponse

from cimi import codec, schemas
from cimi.resources import NS, Role, Table, by_uri, table

FORMATS = {"json": codec.JSON, "xml": codec.XML}
ACTION = NS + "/action/"


def type_of(response: TestResponse) -> Table:
    """The table of a CIMI response body, from its resourceURI or XML root."""
    if response.content_type == codec.JSON:
        uri = response.json.get("resourceURI")
    else:
        root = etree.fromstring(response.body)
        qname = etree.QName(root)
        assert qname.namespace == NS, f"XML root in namespace {qname.namespace}"
        uri = (
            root.get("resourceURI")
            if qname.localname == "Collection"
            else NS + "/" + qname.localname
        )
    found = by_uri(uri) if uri else None
    assert found is not None, f"not a CIMI type: {uri}"
    return found


def check_schema(response: TestResponse) -> Table:
    """Assert a CIMI response body is valid against the schemas; return its table."""
    t = type_of(response)
    if response.content_type == codec.JSON:
        assert schemas.json_errors(t, response.json) == [], response.text
    else:
        assert schemas.xml_errors(t, etree.fromstring(response.body)) == [], response.text
        if t.role is Role.COLLECTION:
            assert etree.fromstring(response.body).get("resourceURI") == t.uri
    return t


def check_error(response: TestResponse) -> dict[str, Any]:
    """Assert an error body is CIMI's (code, status, message, requestId); return it."""
    if response.content_type == codec.JSON:
        error = response.json
    else:
        root = etree.fromstring(response.body)
        assert etree.QName(root) == etree.QName(NS, "error")
        error = {
            etree.QName(c).localname: c.text for c in root if etree.QName(c).localname != "detail"
        }
        error["code"] = int(error["code"])
    assert error["code"] == response.status_int
    assert error["message"] and error["status"] and error["requestId"]
    assert response.headers["CIMI-Specification-Version"] == "1.1.0"
    return dict(error)


class Cimi:
    """Requests to the CIMI rendering as one user, in one rendering.

    :param app: the WebTest application.
    :param fmt: ``json`` or ``xml``.
    :param auth: the Authorization header.
    """

    def __init__(self, app: TestApp, fmt: str, auth: Mapping[str, str]) -> None:
        self.app = app
        self.fmt = fmt
        self.media = FORMATS[fmt]
        self.auth = dict(auth)
        self._cep: dict[str, Any] | None = None

    # -- raw exchanges -----------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        *,
        status: int | Iterable[int] | None = None,
        content_type: str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> TestResponse:
        """One exchange; the answer is checked (media type, schema or error shape)."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        sent = {"Accept": self.media, **self.auth, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = content_type or self.media
        response = self.app.request(
            url, method=method, body=body or b"", headers=sent, expect_errors=True
        )
        if status is not None:
            wanted = {status} if isinstance(status, int) else set(status)
            assert response.status_int in wanted, f"{response.status}: {response.text[:500]}"
        if response.status_int >= 400:
            check_error(response)
        elif response.body:
            assert response.content_type == self.media
            check_schema(response)
        return response

    def decode(self, response: TestResponse) -> dict[str, Any]:
        """The neutral form of a CIMI response body."""
        return codec.decode(response.body, type_of(response), response.content_type)

    def encode(self, type_name: str, value: Mapping[str, Any]) -> bytes:
        """A request body of *type_name* in this client's rendering."""
        return codec.encode(table(type_name), dict(value), self.media)

    # -- CIMI operations ---------------------------------------------------------

    def get(self, url: str, status: int = 200, **params: str) -> dict[str, Any]:
        """GET a resource or Collection: its neutral form."""
        return self.decode(self.request("GET", url, status=status, params=params or None))

    @property
    def cep(self) -> dict[str, Any]:
        """The Cloud Entry Point (fetched once)."""
        if self._cep is None:
            self._cep = self.get("/cimi/cloudEntryPoint")
        return self._cep

    def collection(self, key: str) -> str:
        """The href of the CEP Collection *key*."""
        return str(self.cep[key]["href"])

    def entries(self, key_or_url: str, **params: str) -> list[dict[str, Any]]:
        """The entries of a Collection (by CEP key or href)."""
        url = key_or_url if "/" in key_or_url else self.collection(key_or_url)
        value = self.get(url, **params)
        items = [k for k, v in value.items() if isinstance(v, list) and k != "operations"]
        return value[items[0]] if items else []

    def add(
        self, url: str, type_name: str, value: Mapping[str, Any], status: Any = (201, 202)
    ) -> TestResponse:
        """POST a body of *type_name* to a Collection's add href."""
        return self.request("POST", url, self.encode(type_name, value), status=status)

    def act(self, url: str, name: str, status: Any = 202, **extra: Any) -> TestResponse:
        """POST the Action *name* to the href the resource advertises for it."""
        target = operation(self.get(url), ACTION + name) or url
        body = self.encode("Action", {"action": ACTION + name, **extra})
        return self.request("POST", target, body, status=status)

    def put(
        self,
        url: str,
        type_name: str,
        value: Mapping[str, Any],
        status: Any = 200,
        select: str | None = None,
    ) -> TestResponse:
        """PUT (edit) a resource; ``select`` makes it partial."""
        params = {"$select": select} if select else None
        return self.request("PUT", url, self.encode(type_name, value), status=status, params=params)

    def delete(self, url: str, status: Any = (200, 202)) -> TestResponse:
        """DELETE a resource."""
        return self.request("DELETE", url, status=status)


def operation(value: Mapping[str, Any], rel: str) -> str | None:
    """The href of operation *rel* of a neutral resource or Collection."""
    for op in value.get("operations", ()):
        if op["rel"] == rel:
            return str(op["href"])
    return None


def rels(value: Mapping[str, Any]) -> set[str]:
    """The rels a resource advertises, actions shortened to their names."""
    return {str(op["rel"]).removeprefix(ACTION) for op in value.get("operations", ())}


def dumps(value: Any) -> str:
    """Readable JSON for assertion messages."""
    return json.dumps(value, default=str, indent=1)
