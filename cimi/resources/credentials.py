"""Credential resources (DSP0263 2.0.0 5.14): Credential, CredentialTemplate, CredentialCreate.

DSP0263 defines no attributes of its own for credentials beyond the common
ones; their content is provider-specific. Concord's credentials are login
credentials injected into new Machines, so the tables carry three Concord
extension attributes (to be advertised through ResourceMetadata, 5.11):
``username``, ``password`` (write-only: views never put it in a
representation) and ``key`` (an SSH public key).
"""

from __future__ import annotations

from cimi.resources._common import CR, RW, create_request, resource, string

CREDENTIAL = resource(
    "Credential",
    string("username", RW, doc="Concord extension: login name"),
    string("password", CR, doc="Concord extension: login password; never returned"),
    string("key", RW, doc="Concord extension: SSH public key"),
    doc="5.14 Credential: login credentials for Machines.",
)

CREDENTIAL_TEMPLATE = resource(
    "CredentialTemplate",
    string("username", RW, doc="Concord extension: login name"),
    string("password", RW, doc="Concord extension: login password; never returned"),
    string("key", RW, doc="Concord extension: SSH public key"),
    doc="5.14 CredentialTemplate: how to create a Credential.",
)

CREDENTIAL_CREATE = create_request("Credential", "credentialTemplate", "CredentialTemplate")

TABLES = (CREDENTIAL, CREDENTIAL_TEMPLATE, CREDENTIAL_CREATE)
