"""Serialization, negotiation, errors and data types (DSP0263 4.1, 4.2, 5.5, 5.7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from conformance.cases import CIMI_RENDERINGS, case
from conformance.cases.context import CaseContext, CaseFailed, CaseSkipped
from conformance.client import Exchange
from conformance.formats import cimi
from conformance.formats.cimi import JSON, XML, Document
from conformance.schemas import SchemaUnavailable

DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")
INTEGER = re.compile(r"-?\d+\Z")
DATETIMES = ("created", "updated", "timeOfStatusChange")
INTEGERS = ("cpu", "memory", "capacity", "count", "mtu", "progress")
BOOLEANS = ("bootable", "isCancellable")
MAIN = (
    "machines",
    "machineConfigs",
    "machineImages",
    "volumes",
    "volumeConfigs",
    "volumeImages",
    "networks",
    "networkConfigs",
    "jobs",
)


def with_query(url: str, query: str) -> str:
    """``url`` with ``query`` appended."""
    return f"{url}{'&' if '?' in url else '?'}{query}"


def documents(ctx: CaseContext, rendering: str) -> Iterator[tuple[Exchange, Document]]:
    """The CEP, then each main collection the provider offers, in ``rendering``."""
    yield ctx.cimi.cep(rendering)
    offered = ctx.cimi.cep(JSON)[1]
    for key in MAIN:
        if offered.href(key):
            yield ctx.cimi.collection(key, rendering)


def values(document: Document) -> Iterator[tuple[str, Any]]:
    """(name, value) of the document's top-level attributes and of each entry's."""
    for item in [document.data, *document.entries]:
        yield from item.items()


@case(
    "cimi.serialization.both",
    "The CEP and collections are served in JSON and XML",
    requirements=["DSP0263/serialization.both"],
)
def both(ctx: CaseContext) -> None:
    for rendering in (JSON, XML):
        for exchange, _ in documents(ctx, rendering):
            ctx.check(
                exchange.response.media_type == rendering,
                f"asked for {rendering}, got {exchange.response.shown('Content-Type')}",
                exchange,
            )


@case(
    "cimi.json.media-type",
    "JSON is served as application/json",
    requirements=["DSP0263/json.media-type"],
)
def json_media_type(ctx: CaseContext) -> None:
    exchange, _ = ctx.cimi.cep(JSON)
    ctx.check(
        exchange.response.media_type == JSON,
        f"got {exchange.response.shown('Content-Type')}",
        exchange,
    )


@case(
    "cimi.xml.media-type",
    "XML is served as application/xml in the CIMI namespace",
    requirements=["DSP0263/xml.media-type", "DSP0263/xml.namespace"],
)
def xml_media_type(ctx: CaseContext) -> None:
    for exchange, document in documents(ctx, XML):
        ctx.check(
            exchange.response.media_type == XML,
            f"got {exchange.response.shown('Content-Type')}",
            exchange,
        )
        ctx.check(
            document.namespace in cimi.KNOWN_NAMESPACES,
            f"the root <{document.root}> is in namespace {document.namespace!r}",
            exchange,
        )


@case(
    "cimi.xml.collection-uri",
    "An XML Collection carries resourceURI as an attribute",
    requirements=["DSP0263/xml.collection-resource-uri"],
)
def xml_collection_uri(ctx: CaseContext) -> None:
    for exchange, document in list(documents(ctx, XML))[1:]:
        ctx.check(document.root == "Collection", f"the root is <{document.root}>", exchange)
        ctx.check(
            (document.declared_uri or "").endswith("Collection"),
            f"resourceURI attribute is {document.declared_uri!r}",
            exchange,
        )


@case(
    "cimi.json.resource-uri",
    "JSON resources carry resourceURI <namespace>/<Type>",
    requirements=["DSP0263/json.resource-uri"],
)
def json_resource_uri(ctx: CaseContext) -> None:
    namespace = ctx.cimi.namespace
    for exchange, document in documents(ctx, JSON):
        ctx.check(
            (document.resource_uri or "").startswith(namespace + "/"),
            f"resourceURI {document.resource_uri!r}",
            exchange,
        )
        for entry in document.entries:
            ctx.check(
                str(entry.get("resourceURI", "")).startswith(namespace + "/"),
                f"an entry of {document.resource_uri} has resourceURI {entry.get('resourceURI')!r}",
                exchange,
            )


@case(
    "cimi.format", "$format overrides the Accept header", requirements=["DSP0263/format.parameter"]
)
def format_parameter(ctx: CaseContext) -> None:
    url = ctx.cimi.cep_location()
    for asked, accept in (("xml", JSON), ("json", XML)):
        exchange = ctx.client.get(with_query(url, f"$format={asked}"), accept)
        ctx.expect_status(exchange, 200)
        wanted = XML if asked == "xml" else JSON
        ctx.check(
            exchange.response.media_type == wanted,
            f"$format={asked} with Accept {accept} gave {exchange.response.shown('Content-Type')}",
            exchange,
        )


@case("cimi.406", "Accepting neither JSON nor XML is 406", requirements=["DSP0263/negotiation.406"])
def not_acceptable(ctx: CaseContext) -> None:
    ctx.expect_status(ctx.client.get(ctx.cimi.cep_location(), "text/x-conformance"), 406)


@case("cimi.404", "A resource that does not exist is 404", requirements=["DSP0263/errors.404"])
def not_found(ctx: CaseContext) -> None:
    try:
        url = ctx.cimi.first("machines") + "-conformance-missing"
    except (CaseSkipped, CaseFailed):  # no machine to derive from: use the collection
        url = ctx.cimi.collection_url("machines").rstrip("/") + "/conformance-missing"
    ctx.expect_status(ctx.client.get(url, JSON), 404)


def _add_href(ctx: CaseContext, key: str) -> str:
    ctx.cimi.require_full()
    href = ctx.cimi.collection(key)[1].operation("add")
    if href is None:
        ctx.skip(f"the {key} collection advertises no add operation")
    return ctx.cimi.resolve(href)


@case(
    "cimi.400",
    "A malformed body is 400",
    requirements=["DSP0263/errors.400"],
    renderings=CIMI_RENDERINGS,
    profile="full",
)
def bad_request(ctx: CaseContext) -> None:
    href = _add_href(ctx, "volumes")
    body = b'{"resourceURI": ' if ctx.media == JSON else b"<VolumeCreate xmlns='x'><name>"
    exchange = ctx.client.request("POST", href, headers=[("Content-Type", ctx.media)], body=body)
    ctx.expect_status(exchange, 400)


@case(
    "cimi.415",
    "A body in another media type is 415",
    requirements=["DSP0263/errors.415"],
    profile="full",
)
def unsupported_media(ctx: CaseContext) -> None:
    href = _add_href(ctx, "volumes")
    exchange = ctx.client.request(
        "POST", href, headers=[("Content-Type", "text/plain")], body="volume, please"
    )
    ctx.expect_status(exchange, 415)


@case(
    "cimi.datetime",
    "dateTime values carry a time zone",
    requirements=["DSP0263/datatypes.datetime"],
    renderings=CIMI_RENDERINGS,
)
def datetimes(ctx: CaseContext) -> None:
    for exchange, document in documents(ctx, ctx.media):
        for name, value in values(document):
            if name in DATETIMES:
                ctx.check(
                    isinstance(value, str) and DATETIME.match(value),
                    f"{name} is {value!r}",
                    exchange,
                )


@case(
    "cimi.integer",
    "Integer attributes are integers",
    requirements=["DSP0263/datatypes.integer"],
    renderings=CIMI_RENDERINGS,
)
def integers(ctx: CaseContext) -> None:
    for exchange, document in documents(ctx, ctx.media):
        for name, value in values(document):
            if name in INTEGERS and not isinstance(value, dict):
                ok = (
                    (isinstance(value, int) and not isinstance(value, bool))
                    if ctx.media == JSON
                    else isinstance(value, str) and INTEGER.match(value)
                )
                ctx.check(ok, f"{name} is {value!r}", exchange)


@case(
    "cimi.boolean",
    "Booleans are true or false",
    requirements=["DSP0263/datatypes.boolean"],
    renderings=CIMI_RENDERINGS,
)
def booleans(ctx: CaseContext) -> None:
    seen = 0
    for exchange, document in documents(ctx, ctx.media):
        for name, value in values(document):
            if name in BOOLEANS:
                seen += 1
                ok = isinstance(value, bool) if ctx.media == JSON else value in ("true", "false")
                ctx.check(ok, f"{name} is {value!r}", exchange)
    if not seen:
        ctx.skip("no boolean attribute in the CEP or the main collections")


@case(
    "cimi.empty-map",
    "An empty properties map is not serialized",
    requirements=["DSP0263/datatypes.empty-map"],
)
def empty_map(ctx: CaseContext) -> None:
    for exchange, document in documents(ctx, JSON):
        for name, value in values(document):
            ctx.check(
                not (name == "properties" and value == {}), "an empty properties map", exchange
            )


@case(
    "cimi.common",
    "Resources have an id",
    requirements=["DSP0263/common.attributes"],
    renderings=CIMI_RENDERINGS,
)
def common(ctx: CaseContext) -> None:
    for exchange, document in documents(ctx, ctx.media):
        for item in [document.data, *document.entries]:
            ctx.check(
                isinstance(item.get("id"), str) and item["id"],
                f"a resource without id in {document.resource_uri}",
                exchange,
            )


@case(
    "cimi.operations",
    "Operations have a rel and an href",
    requirements=["DSP0263/operations.advertised"],
    renderings=CIMI_RENDERINGS,
)
def operations(ctx: CaseContext) -> None:
    for exchange, document in documents(ctx, ctx.media):
        for item in [document.data, *document.entries]:
            for op in item.get("operations") or []:
                ctx.check(
                    isinstance(op, dict) and op.get("rel") and op.get("href"),
                    f"an operation without rel or href: {op!r}",
                    exchange,
                )


@case(
    "cimi.operations.rel-form",
    "add/edit/delete are bare; actions are namespace URIs",
    requirements=["DSP0263/operations.rel-form"],
)
def rel_form(ctx: CaseContext) -> None:
    namespace = ctx.cimi.namespace
    for exchange, document in documents(ctx, JSON):
        for item in [document.data, *document.entries]:
            for op in item.get("operations") or []:
                rel = str(op.get("rel", ""))
                ctx.check(
                    rel in ("add", "edit", "delete", "insert", "remove")
                    or rel.startswith(f"{namespace}/action/")
                    or not rel.startswith("http://schemas.dmtf.org/"),
                    f"operation rel {rel!r}",
                    exchange,
                )


@case(
    "cimi.schema",
    "Representations validate against schemas/cimi",
    requirements=["DSP0263/serialization.schema"],
    renderings=CIMI_RENDERINGS,
)
def schema(ctx: CaseContext) -> None:
    schemas = ctx.session.schemas
    try:
        expected = schemas.cimi_namespace()
    except SchemaUnavailable as exc:
        ctx.skip(str(exc))
    if ctx.cimi.namespace != expected:
        ctx.skip(f"the schemas describe {expected}; the provider uses {ctx.cimi.namespace}")
    for exchange, document in documents(ctx, ctx.media):
        type_name = (document.resource_uri or "").rsplit("/", 1)[-1]
        if ctx.media == JSON:
            errors = schemas.cimi_json_errors(type_name, document.data)
        else:
            errors = schemas.cimi_xml_errors(type_name, exchange.response.body)
        ctx.check(not errors, f"{type_name} is invalid: {errors[:3]}", exchange)


@case("cimi.version", "The server states its CIMI version", requirements=["DSP0263/version.header"])
def version(ctx: CaseContext) -> None:
    exchange, _ = ctx.cimi.cep(JSON)
    if not exchange.response.header("CIMI-Specification-Version"):
        ctx.skip("the optional CIMI-Specification-Version header is not sent")


@case(
    "cimi.properties",
    "The provider adds no properties of its own",
    requirements=["DSP0263/common.properties"],
    profile="full",
)
def properties(ctx: CaseContext) -> None:
    exchange, volume = ctx.cimi.read(ctx.cimi.fixture("volume"))
    given = {"conformance-run": ctx.session.run_id}
    ctx.check(
        volume.get("properties") == given,
        f"properties are {volume.get('properties')!r}, the harness gave {given}",
        exchange,
    )
