"""DSP0263 2.0.0, CIMI: the protocol (clause 4), data types and common attributes (5.5, 5.7),
the Cloud Entry Point (5.12) and Collections (5.5.12).

DSP0263 writes "shall" in the ISO style; it is read as MUST. Section numbers are
those of DSP0263 as cited in docs/conformance.rst (cimi.md §1 lists the sources).
"""

from __future__ import annotations

from conformance.requirements.model import MAY, MUST, SHOULD, table

_D = "DSP0263"

PROTOCOL = table(
    _D,
    "CIMI Protocol",
    "cimi",
    [
        (
            "serialization.both",
            "4.1 Serialization",
            MUST,
            "Every resource the provider offers is served in both JSON and XML.",
        ),
        (
            "serialization.schema",
            "4.1 Serialization",
            MUST,
            "Every representation validates against the CIMI JSON Schemas and XSD in schemas/cimi.",
            "The schemas are the project's reading of DSP0263 2.0; other namespaces are skipped.",
        ),
        (
            "json.media-type",
            "4.1 Serialization",
            MUST,
            "JSON representations are served as application/json.",
        ),
        (
            "xml.media-type",
            "4.1 Serialization",
            MUST,
            "XML representations are served as application/xml.",
        ),
        (
            "xml.namespace",
            "4.1.1 XML Namespaces",
            MUST,
            "An XML document's root element is in the CIMI namespace, named after its type.",
        ),
        (
            "xml.collection-resource-uri",
            "4.1.1 XML Namespaces",
            MUST,
            "An XML Collection carries its resourceURI as an attribute of <Collection>.",
        ),
        (
            "json.resource-uri",
            "4.1 Serialization",
            MUST,
            "A JSON resource carries resourceURI: the CIMI namespace, a slash and its type.",
        ),
        (
            "format.parameter",
            "4.1.6.5 Format",
            MUST,
            "The $format query parameter (json or xml) overrides the Accept header.",
        ),
        (
            "negotiation.406",
            "4.1 Serialization",
            SHOULD,
            "A request accepting neither JSON nor XML is answered 406.",
        ),
        (
            "errors.415",
            "4.2 HTTP protocol",
            SHOULD,
            "A request body in a media type other than JSON or XML is answered 415.",
        ),
        (
            "errors.400",
            "4.2 HTTP protocol",
            MUST,
            "A malformed request body is answered 400, not 5xx, and creates nothing.",
        ),
        (
            "errors.404",
            "4.2 HTTP protocol",
            MUST,
            "A request for a resource that does not exist is answered 404.",
        ),
        (
            "crud.create",
            "4.2.1.1 Create",
            MUST,
            "POST of a <Type>Create to a collection's add operation is 201 with a Location "
            "header, or 202 (asynchronous) with a Location header.",
        ),
        (
            "crud.read",
            "4.2.1.2 Read",
            MUST,
            "GET on a resource's id is 200 with its representation.",
        ),
        (
            "crud.update",
            "4.2.1.3 Update",
            MUST,
            "PUT to a resource's edit operation is 200 or 202 and the change is applied.",
        ),
        (
            "crud.delete",
            "4.2.1.4 Delete",
            MUST,
            "DELETE to a resource's delete operation is 200, 202 or 204, and the resource then "
            "disappears.",
        ),
        (
            "crud.delete-state",
            "4.2.1.4 Delete",
            MUST,
            "While a deletion is in progress, a resource with a state shows DELETING.",
        ),
        (
            "operations.action",
            "4.2.1.5 Other operations",
            MUST,
            "An operation beyond create/read/update/delete is a POST of an Action to the href "
            "the resource advertises for it.",
        ),
        (
            "operations.advertised",
            "5.7.1 Common attributes: operations",
            MUST,
            "Each advertised operation has a rel and an href.",
        ),
        (
            "operations.rel-form",
            "5.7.1 Common attributes: operations",
            SHOULD,
            "add, edit and delete are bare words; other operations are URIs under "
            "<namespace>/action/.",
        ),
        (
            "operations.current",
            "5.7.1 Common attributes: operations",
            SHOULD,
            "Only the operations the requester may perform now, in the current state, are "
            "advertised.",
        ),
        (
            "datatypes.datetime",
            "5.5.2 dateTime",
            MUST,
            "dateTime values are ISO 8601 with a time zone.",
        ),
        (
            "datatypes.boolean",
            "5.5.1 boolean",
            MUST,
            "Booleans are true or false (JSON booleans, XML 'true'/'false').",
        ),
        (
            "datatypes.integer",
            "5.5.x integer",
            MUST,
            "Integer attributes (cpu, memory, capacity, count...) are integers.",
        ),
        ("datatypes.empty-map", "5.5.7 map", MUST, "An empty map (properties) is not serialized."),
        (
            "common.attributes",
            "5.7.1 Common attributes",
            MUST,
            "Every resource has an id; created and updated, when present, are dateTimes.",
        ),
        (
            "common.properties",
            "5.7.1 Common attributes",
            MUST,
            "properties belong to the consumer: the provider adds none of its own keys.",
        ),
        (
            "query.first-last",
            "4.1.6.2 Paging",
            MAY,
            "$first and $last select a 1-based, inclusive range of a collection's entries.",
        ),
        (
            "query.select",
            "4.1.6.3 Subsetting",
            MAY,
            "$select limits the attributes of the entries returned.",
        ),
        (
            "query.filter",
            "4.1.6.1 Filtering",
            MAY,
            "$filter returns only the entries matching the expression.",
        ),
        (
            "version.header",
            "4.2 HTTP protocol",
            MAY,
            "The server states the CIMI version it used in CIMI-Specification-Version.",
        ),
        (
            "security.isolation",
            "4.3 Security considerations",
            SHOULD,
            "One consumer's resources are neither listed to nor readable by another.",
            "Needs a second identity (--other-user).",
        ),
        (
            "edit.read-only-refused",
            "4.2.1.3 Update",
            SHOULD,
            "An edit giving a read-only attribute (a Machine's state) a new value is refused "
            "with a client error and changes nothing.",
            "DSP0263 does not say what becomes of read-only attributes in an edit; a 200 that "
            "drops the change lets the client believe it was made.",
        ),
        (
            "errors.vocabulary",
            "4.2.1.5 Operations",
            SHOULD,
            "A refused operation's message speaks CIMI: it names the resource's CIMI state "
            "(STARTED, STOPPED...).",
            "DSP0263 defines no error resource; the message is what a client shows its user.",
        ),
        (
            "headers.job-uri-spelling",
            "4.2.1.7 Asynchronous operations",
            SHOULD,
            "The job header goes on the wire spelled CIMI-Job-URI, as DSP0263 spells it.",
            "HTTP field names are case-insensitive; clients exist that compare them as spelled.",
        ),
    ],
)

ENTRY_POINT = table(
    _D,
    "CIMI Cloud Entry Point",
    "cimi",
    [
        (
            "cep.read",
            "5.12 Cloud Entry Point",
            MUST,
            "GET on the Cloud Entry Point is 200 with a CloudEntryPoint resource.",
        ),
        (
            "cep.base-uri",
            "5.12 Cloud Entry Point",
            MUST,
            "The Cloud Entry Point gives baseURI, an absolute URI.",
        ),
        (
            "cep.base-uri-slash",
            "5.12 Cloud Entry Point",
            SHOULD,
            "baseURI ends with a slash, so relative hrefs resolve beneath it.",
        ),
        (
            "cep.collections",
            "5.12 Cloud Entry Point",
            MUST,
            "Each collection the provider supports is a reference with an href that answers "
            "200 with that Collection.",
        ),
        (
            "cep.keys",
            "5.12 Cloud Entry Point",
            MUST,
            "Collections are listed under the spec's names (machines, machineConfigs, volumes, "
            "networks, jobs...).",
        ),
    ],
)

COLLECTIONS = table(
    _D,
    "CIMI Collections",
    "cimi",
    [
        (
            "collection.resource-uri",
            "5.5.12 Collection",
            MUST,
            "A collection's resourceURI is <namespace>/<Type>Collection.",
        ),
        ("collection.id", "5.5.12 Collection", MUST, "A collection has an id."),
        (
            "collection.count",
            "5.5.12 Collection",
            MUST,
            "count equals the number of entries returned when no paging is asked for.",
        ),
        (
            "collection.entries",
            "5.5.12 Collection",
            MUST,
            "Entries sit under the plural key (JSON) or as elements named after their type "
            "(XML), each with its id.",
        ),
        (
            "collection.entry-read",
            "5.5.12 Collection",
            MUST,
            "Every entry can be read at its id, and the read gives the same id.",
        ),
        (
            "collection.add",
            "5.5.12 Collection",
            SHOULD,
            "A collection the consumer can add to advertises an add operation.",
        ),
    ],
)

REQUIREMENTS = PROTOCOL + ENTRY_POINT + COLLECTIONS
