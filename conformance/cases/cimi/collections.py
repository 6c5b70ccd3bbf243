"""Collections, query parameters and isolation (DSP0263 5.5.12, 4.1.6, 4.3)."""

from __future__ import annotations

from conformance.cases import CIMI_RENDERINGS, case
from conformance.cases.cimi.entry_point import collection_keys
from conformance.cases.cimi.protocol import MAIN, with_query
from conformance.cases.context import CaseContext
from conformance.formats import cimi
from conformance.formats.cimi import JSON


@case(
    "cimi.collection.resource-uri",
    "A collection's resourceURI is <namespace>/<Type>Collection",
    requirements=["DSP0263/collection.resource-uri"],
    renderings=CIMI_RENDERINGS,
)
def resource_uri(ctx: CaseContext) -> None:
    for key in collection_keys(ctx):
        exchange, document = ctx.cimi.collection(key, ctx.media)
        uri = document.resource_uri or ""
        ctx.check(
            uri.startswith(ctx.cimi.namespace + "/") and uri.endswith("Collection"),
            f"{key}: resourceURI {uri!r}",
            exchange,
        )


@case(
    "cimi.collection.id",
    "A collection has an id",
    requirements=["DSP0263/collection.id"],
    renderings=CIMI_RENDERINGS,
)
def collection_id(ctx: CaseContext) -> None:
    for key in collection_keys(ctx):
        exchange, document = ctx.cimi.collection(key, ctx.media)
        ctx.check(document.get("id"), f"{key} has no id", exchange)


@case(
    "cimi.collection.count",
    "count equals the number of entries",
    requirements=["DSP0263/collection.count"],
    renderings=CIMI_RENDERINGS,
)
def count(ctx: CaseContext) -> None:
    for key in collection_keys(ctx):
        exchange, document = ctx.cimi.collection(key, ctx.media)
        value = document.get("count")
        ctx.check(
            str(value) == str(len(document.entries)),
            f"{key}: count is {value!r} for {len(document.entries)} entries",
            exchange,
        )


@case(
    "cimi.collection.entries",
    "Entries sit under the plural key or their type's element",
    requirements=["DSP0263/collection.entries"],
    renderings=CIMI_RENDERINGS,
)
def entries(ctx: CaseContext) -> None:
    for key in collection_keys(ctx):
        exchange, document = ctx.cimi.collection(key, ctx.media)
        if not document.entries:
            continue
        type_name = (document.resource_uri or "").rsplit("/", 1)[-1].removesuffix("Collection")
        expected = cimi.entry_key(type_name) if ctx.media == JSON else type_name
        ctx.check(
            document.entries_key == expected,
            f"{key}: entries under {document.entries_key!r}, not {expected!r}",
            exchange,
        )
        for entry in document.entries:
            ctx.check(entry.get("id"), f"{key}: an entry without id", exchange)


@case(
    "cimi.collection.entry-read",
    "Every entry can be read at its id",
    requirements=["DSP0263/collection.entry-read", "DSP0263/crud.read"],
)
def entry_read(ctx: CaseContext) -> None:
    checked = 0
    offered = ctx.cimi.cep(JSON)[1]
    for key in MAIN:
        if not offered.href(key):
            continue
        _, document = ctx.cimi.collection(key)
        for entry in document.entries[:3]:
            url = ctx.cimi.resolve(str(entry.get("id")))
            exchange, read = ctx.cimi.read(url)
            ctx.check(
                ctx.cimi.resolve(str(read.get("id"))) == url,
                f"{url} reads back with id {read.get('id')!r}",
                exchange,
            )
            checked += 1
    if not checked:
        ctx.skip("no entry to read in the main collections")


@case(
    "cimi.collection.add",
    "machines, volumes and networks advertise add",
    requirements=["DSP0263/collection.add"],
)
def add(ctx: CaseContext) -> None:
    offered = ctx.cimi.cep(JSON)[1]
    keys = [k for k in ("machines", "volumes", "networks") if offered.href(k)]
    if not keys:
        ctx.skip("the provider offers no machines, volumes or networks")
    for key in keys:
        exchange, document = ctx.cimi.collection(key)
        ctx.check(document.operation("add"), f"{key} advertises no add operation", exchange)


def _listed(ctx: CaseContext, key: str, query: str) -> tuple[list[dict[str, object]], object]:
    exchange = ctx.client.get(with_query(ctx.cimi.collection_url(key), query), JSON)
    if exchange.status == 400:
        ctx.skip(f"the server refuses {query} (400): the parameter is optional")
    document = ctx.cimi.parse(exchange, JSON, f"{key}?{query}")
    return document.entries, exchange


@case(
    "cimi.query.first-last",
    "$first and $last select a range of entries",
    requirements=["DSP0263/query.first-last"],
)
def first_last(ctx: CaseContext) -> None:
    offered = ctx.cimi.cep(JSON)[1]
    key = next(
        (k for k in MAIN if offered.href(k) and len(ctx.cimi.collection(k)[1].entries) >= 2), None
    )
    if key is None:
        ctx.skip("no collection has two entries to select from")
    found, _ = _listed(ctx, key, "$first=1&$last=1")
    if len(found) == len(ctx.cimi.collection(key)[1].entries):
        ctx.skip("the server ignores $first/$last (optional)")
    ctx.check(len(found) == 1, f"$first=1&$last=1 gave {len(found)} entries")


@case("cimi.query.select", "$select is accepted", requirements=["DSP0263/query.select"])
def select(ctx: CaseContext) -> None:
    key = next((k for k in MAIN if ctx.cimi.cep(JSON)[1].href(k)), None)
    if key is None:
        ctx.skip("no collection to query")
    _listed(ctx, key, "$select=name")


@case(
    "cimi.query.filter",
    "$filter returns only matching entries",
    requirements=["DSP0263/query.filter"],
    profile="full",
)
def filter_(ctx: CaseContext) -> None:
    url = ctx.cimi.fixture("volume")
    name = ctx.cimi.read(url)[1].get("name")
    found, _ = _listed(ctx, "volumes", f"$filter=name='{name}'")
    everything = ctx.cimi.collection("volumes")[1].entries
    if len(everything) > 1 and len(found) == len(everything):
        ctx.skip("the server ignores $filter (optional)")
    ctx.check([e.get("name") for e in found] == [name], f"$filter=name='{name}' gave {found}")


@case(
    "cimi.security.isolation",
    "Another identity neither lists nor reads our resources",
    requirements=["DSP0263/security.isolation"],
    profile="full",
)
def isolation(ctx: CaseContext) -> None:
    other = ctx.session.other
    if other is None:
        ctx.skip("needs a second identity (--other-user/--other-password or --other-api-key)")
    url = ctx.cimi.fixture("volume")
    read = other.get(url, JSON)
    ctx.check(
        read.status in (401, 403, 404), f"the other identity reads it: {read.summary()}", read
    )
    listing = other.get(ctx.cimi.collection_url("volumes"), JSON)
    if listing.status == 200:
        ids = [
            ctx.cimi.resolve(str(e.get("id")))
            for e in cimi.parse_json(listing.response.body).entries
        ]
        ctx.check(url not in ids, "the other identity lists it", listing)
