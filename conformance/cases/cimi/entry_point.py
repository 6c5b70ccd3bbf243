"""The Cloud Entry Point (DSP0263 5.12)."""

from __future__ import annotations

import re

from conformance.cases import CIMI_RENDERINGS, case
from conformance.cases.context import CaseContext
from conformance.formats.cimi import JSON, XML

#: CEP keys by the type of the Collection they reference (cimi.md §2.1, short *Configs keys).
CEP_KEYS = {
    "ResourceMetadataCollection": "resourceMetadata",
    "SystemCollection": "systems",
    "SystemTemplateCollection": "systemTemplates",
    "MachineCollection": "machines",
    "MachineTemplateCollection": "machineTemplates",
    "MachineConfigurationCollection": "machineConfigs",
    "MachineImageCollection": "machineImages",
    "CredentialCollection": "credentials",
    "CredentialTemplateCollection": "credentialTemplates",
    "VolumeCollection": "volumes",
    "VolumeTemplateCollection": "volumeTemplates",
    "VolumeConfigurationCollection": "volumeConfigs",
    "VolumeImageCollection": "volumeImages",
    "NetworkCollection": "networks",
    "NetworkTemplateCollection": "networkTemplates",
    "NetworkConfigurationCollection": "networkConfigs",
    "NetworkPortCollection": "networkPorts",
    "NetworkPortTemplateCollection": "networkPortTemplates",
    "NetworkPortConfigurationCollection": "networkPortConfigs",
    "AddressCollection": "addresses",
    "AddressTemplateCollection": "addressTemplates",
    "ForwardingGroupCollection": "forwardingGroups",
    "ForwardingGroupTemplateCollection": "forwardingGroupTemplates",
    "JobCollection": "jobs",
    "MeterCollection": "meters",
    "MeterTemplateCollection": "meterTemplates",
    "MeterConfigurationCollection": "meterConfigs",
    "EventLogCollection": "eventLogs",
    "EventLogTemplateCollection": "eventLogTemplates",
}


def collection_keys(ctx: CaseContext) -> list[str]:
    """The CEP members that are references (the collections)."""
    document = ctx.cimi.cep(JSON)[1]
    return [k for k, v in document.data.items() if isinstance(v, dict) and "href" in v]


@case(
    "cimi.cep.read",
    "GET on the Cloud Entry Point is 200 with a CloudEntryPoint",
    requirements=["DSP0263/cep.read"],
    renderings=CIMI_RENDERINGS,
)
def read(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.cep(ctx.media, failing=True)
    uri = document.resource_uri or ""
    ctx.check(uri.endswith("/CloudEntryPoint"), f"the resource is a {uri or 'thing'}", exchange)


@case(
    "cimi.cep.base-uri", "The CEP gives an absolute baseURI", requirements=["DSP0263/cep.base-uri"]
)
def base_uri(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.cep(JSON)
    value = document.get("baseURI")
    ctx.check(
        isinstance(value, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", value),
        f"baseURI is {value!r}",
        exchange,
    )


@case(
    "cimi.cep.base-uri-slash",
    "baseURI ends with a slash",
    requirements=["DSP0263/cep.base-uri-slash"],
)
def base_uri_slash(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.cep(JSON)
    value = document.get("baseURI")
    ctx.check(isinstance(value, str) and value.endswith("/"), f"baseURI is {value!r}", exchange)


@case(
    "cimi.cep.collections",
    "Every CEP collection answers 200 with its Collection",
    requirements=["DSP0263/cep.collections"],
    renderings=CIMI_RENDERINGS,
)
def collections(ctx: CaseContext) -> None:
    keys = collection_keys(ctx)
    ctx.check(keys, "the Cloud Entry Point lists no collection", ctx.cimi.cep(JSON)[0])
    for key in keys:
        exchange, document = ctx.cimi.collection(key, ctx.media)
        uri = document.resource_uri or ""
        ctx.check(
            uri.endswith("Collection"), f"{key} is a {uri or 'thing'}, not a Collection", exchange
        )


@case(
    "cimi.cep.keys",
    "Collections are listed under the spec's names",
    requirements=["DSP0263/cep.keys"],
)
def keys(ctx: CaseContext) -> None:
    for key in collection_keys(ctx):
        exchange, document = ctx.cimi.collection(key, JSON)
        kind = (document.resource_uri or "").rsplit("/", 1)[-1]
        expected = CEP_KEYS.get(kind)
        if expected is not None:
            ctx.check(
                key == expected, f"the {kind} is listed as {key!r}, not {expected!r}", exchange
            )


@case(
    "cimi.cep.namespace",
    "JSON and XML name the same CIMI namespace",
    requirements=["DSP0263/xml.namespace"],
)
def namespace(ctx: CaseContext) -> None:
    exchange, document = ctx.cimi.cep(XML)
    ctx.check(
        document.namespace == ctx.cimi.namespace,
        f"XML namespace {document.namespace!r}, JSON {ctx.cimi.namespace!r}",
        exchange,
    )
    ctx.check(document.root == "CloudEntryPoint", f"the XML root is <{document.root}>", exchange)
