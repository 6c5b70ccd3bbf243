"""GFD.223, OCCI HTTP Protocol 1.2 (section numbers of the final LaTeX sources)."""

from __future__ import annotations

from conformance.requirements.model import MAY, MUST, SHOULD, table

_D, _A = "GFD.223", "OCCI HTTP"

REQUIREMENTS = table(
    _D,
    _A,
    "occi",
    [
        (
            "namespace.location-form",
            "4 Namespace",
            MUST,
            "Every rendered location is a string (a URI reference) or an RFC 6570 template.",
        ),
        (
            "namespace.unique-locations",
            "4 Namespace",
            MUST,
            "Each Kind and Mixin location is unique within the provider's namespace.",
        ),
        (
            "namespace.entity-unbound",
            "4 Namespace",
            MUST,
            "The Kind of Entity, which cannot be instantiated, is not bound to a location.",
        ),
        (
            "namespace.unbound-union",
            "4.1 Bound and Unbound Paths",
            MAY,
            "An unbound path (such as the root) may list the union of the collections below it.",
        ),
        (
            "headers.content-type",
            "5.2 Response Headers",
            MUST,
            "Every response that carries a body names its media type in Content-Type.",
        ),
        (
            "headers.content-type-matches",
            "5.2 Response Headers",
            MUST,
            "The Content-Type is the OCCI media type actually used, the one the client "
            "asked for in Accept.",
        ),
        (
            "headers.accept",
            "5.2 Response Headers",
            SHOULD,
            "The server lists the OCCI media types it supports in an Accept response header.",
        ),
        (
            "versioning.server-header",
            "5.3 Versioning",
            MUST,
            "Every response, errors included, carries OCCI/1.2 in its Server header.",
        ),
        (
            "versioning.501",
            "5.3 Versioning",
            MUST,
            "A request whose User-Agent announces a higher OCCI version than the server's is "
            "answered 501 Not Implemented.",
        ),
        (
            "versioning.older-client",
            "5.3 Versioning",
            SHOULD,
            "A client announcing OCCI/1.1 is still served (1.2 is backward compatible with 1.1).",
            "From GFD.221's introduction; GFD.223 does not say it in so many words.",
        ),
        (
            "status.404",
            "5.4 Status Codes",
            MUST,
            "A request for an entity that does not exist is answered 404 Not Found.",
        ),
        (
            "status.405",
            "5.4 Status Codes",
            MUST,
            "A method the target does not support is answered 405 Method Not Allowed.",
        ),
        (
            "status.406",
            "5.4 Status Codes",
            MUST,
            "A request whose Accept header names no rendering the server offers is answered "
            "406 Not Acceptable.",
        ),
        (
            "status.400",
            "5.4 Status Codes",
            MUST,
            "A malformed request body is answered 400 Bad Request, not 5xx.",
        ),
        (
            "status.401",
            "5.4 Status Codes",
            MUST,
            "A request without valid credentials to a server that requires them is answered "
            "401 with a WWW-Authenticate challenge (RFC 7235 §3.1).",
        ),
        (
            "pagination.page-number",
            "6 Pagination",
            SHOULD,
            "A collection GET with page and number returns at most number entities.",
        ),
        (
            "pagination.413",
            "6 Pagination",
            MUST,
            "A number the provider cannot handle is answered 413; anything else it serves.",
        ),
        (
            "pagination.past-end",
            "6 Pagination",
            MUST,
            "A page past the end of the collection is 200 with an empty collection.",
        ),
        (
            "filter.query-interface",
            "7.1 Filtering the Query Interface",
            MUST,
            "If the server filters the query interface by a Category given in the request "
            "headers, the answer holds only Categories related to it.",
        ),
        (
            "filter.collection",
            "7.2 Filtering Entity Collections",
            MUST,
            "If the server filters a collection by attributes given in the request headers, "
            "the answer holds only matching entities.",
        ),
        (
            "query.exists",
            "9 HTTP Methods Applied to Query Interface",
            MUST,
            "The query interface is implemented and found at /-/.",
        ),
        (
            "query.well-known",
            "9 HTTP Methods Applied to Query Interface",
            MAY,
            "The query interface may also be served at /.well-known/org/ogf/occi/-/, with the "
            "same content.",
        ),
        (
            "query.GET.rendering",
            "9.1 GET Method",
            MUST,
            "GET on the query interface returns a category collection rendering.",
        ),
        (
            "query.GET.200",
            "9.1 GET Method",
            MUST,
            "A successful GET on the query interface is 200 OK.",
        ),
        (
            "query.PUT.undefined",
            "9.2 PUT Method",
            SHOULD,
            "PUT is not defined on the query interface; the server refuses it (405).",
        ),
        (
            "query.POST.200",
            "9.3 POST Method",
            MUST,
            "Adding a user-defined Mixin with POST to the query interface is 200 OK.",
        ),
        (
            "query.DELETE.200",
            "9.4 DELETE Method",
            MUST,
            "Removing a user-defined Mixin with DELETE on the query interface is 200 OK.",
        ),
        (
            "entity.GET.rendering",
            "10.1 GET Method",
            MUST,
            "GET on an entity returns an entity instance rendering.",
        ),
        ("entity.GET.200", "10.1 GET Method", MUST, "A successful GET on an entity is 200 OK."),
        (
            "entity.PUT.create",
            "10.2.1 PUT Create",
            SHOULD,
            "PUT of a full rendering at an unused path under a Kind's location creates the "
            "entity there.",
        ),
        (
            "entity.PUT.response",
            "10.2 PUT Method",
            MUST,
            "A successful PUT is 201 with a Location header or 200 with the entity rendering.",
        ),
        (
            "entity.PUT.links-intact",
            "10.2.2 PUT Replace",
            MUST,
            "Replacing a Resource with PUT leaves the Links associated with it intact.",
        ),
        (
            "entity.POST.update",
            "10.3.1 Partial Update",
            MUST,
            "A successful partial update (POST on the entity) is 201 with a Location header or "
            "200 with the entity rendering, and the change is applied.",
        ),
        (
            "entity.action.query",
            "10.3.2 Trigger Action",
            MUST,
            "An action is triggered by POST with the query ?action=<the Action's term>.",
        ),
        (
            "entity.action.200",
            "10.3.2 Trigger Action",
            MUST,
            "A successful action on an entity is 200 OK.",
        ),
        (
            "entity.DELETE.status",
            "10.4 DELETE Method",
            MUST,
            "A successful DELETE of an entity is 200 OK or 204 No Content.",
        ),
        (
            "entity.DELETE.gone",
            "10.4 DELETE Method",
            MUST,
            "After a successful DELETE the entity is no longer served (404 or 410).",
        ),
        (
            "collection.GET.rendering",
            "11.1 GET Method",
            MUST,
            "GET on a collection returns an entity collection rendering.",
        ),
        (
            "collection.GET.200",
            "11.1 GET Method",
            MUST,
            "A successful GET on a collection is 200 OK.",
        ),
        (
            "collection.PUT.mixin",
            "11.2 PUT Method",
            MUST,
            "PUT on a Mixin collection replaces its members; the answer is 200 with an entity "
            "collection rendering.",
        ),
        (
            "collection.PUT.kind",
            "11.2 PUT Method",
            SHOULD,
            "PUT is defined only for Mixin collections; on a Kind collection it is refused.",
            "Not run: a server that wrongly accepted it could replace entities the harness does "
            "not own.",
        ),
        (
            "collection.POST.create",
            "11.3.1 Create Entity Instance",
            MUST,
            "Creating an entity with POST on its Kind's collection is 201 with the new "
            "location(s), or 200 with the rendering.",
        ),
        (
            "collection.POST.associate",
            "11.3.2 Associate Mixin",
            MUST,
            "POST of entity locations to a Mixin collection associates them; the answer is 200 "
            "with an entity collection rendering.",
        ),
        (
            "collection.POST.associate-mixin-only",
            "11.3.2 Associate Mixin",
            MUST,
            "Association is available only on Mixin collections: POSTing bare locations to a "
            "Kind collection is refused.",
        ),
        (
            "collection.action.200",
            "11.3.3 Trigger Action",
            MUST,
            "A successful action on a collection is 200 OK.",
        ),
        (
            "collection.DELETE.all",
            "11.4.1 Delete Entity Instances",
            MUST,
            "DELETE on a Kind collection removes its entities and is 200 or 204.",
            "Not run: it would delete entities the harness does not own.",
        ),
        (
            "collection.DELETE.disassociate",
            "11.4.2 Disassociate Mixin",
            MUST,
            "DELETE with entity locations on a Mixin collection disassociates them and is 200.",
        ),
        (
            "security.basic",
            "12 Security Considerations",
            SHOULD,
            "Authentication uses HTTP Basic (or Digest), Basic by default: a 401 offers Basic.",
        ),
        ("security.tls", "12 Security Considerations", SHOULD, "The server supports TLS."),
        (
            "security.authorization",
            "12 Security Considerations",
            MUST,
            "Authorization uses the authenticated identity: one identity's entities are neither "
            "listed to, readable by nor changeable by another.",
            "Needs a second identity (--other-user); another tenant's entity may be 403 or 404.",
        ),
        (
            "action.collection-members",
            "3.7 Actions on collections",
            SHOULD,
            "An action on a collection applies to every member it can apply to: members "
            "already in the state it leads to leave it 200, not a refusal of the whole request.",
            "GFD.223 allows actions on collections and says nothing of members already there; "
            "clients start a whole collection expecting the stopped members to start.",
        ),
        (
            "errors.vocabulary",
            "3.3 Status codes",
            SHOULD,
            "A refused action's message speaks OCCI: it names the entity's OCCI state "
            "(active, inactive, suspended...), not a hypervisor's or another standard's.",
            "GFD.223 defines no error body; the message is what a client shows its user.",
        ),
        (
            "headers.spelling",
            "5 Rendering of OCCI headers",
            SHOULD,
            "Header names go on the wire as GFD.223 spells them (X-OCCI-Location, "
            "X-OCCI-Attribute).",
            "HTTP field names are case-insensitive (RFC 9110 5.1), but OCCI clients exist "
            "that compare them as spelled.",
        ),
    ],
) + table(
    _D,
    _A,
    "occi",
    [
        (
            "headers.request-content-type",
            "5.1 Request Headers",
            MUST,
            "A client sending a body names its media type in Content-Type.",
        ),
        (
            "headers.request-user-agent",
            "5.3 Versioning",
            SHOULD,
            "A client announces the OCCI version it expects (OCCI/1.2) in User-Agent.",
        ),
        (
            "headers.request-accept",
            "5.1 Request Headers",
            SHOULD,
            "A client lists the OCCI media types it supports in Accept.",
        ),
    ],
    subject="client",
)
