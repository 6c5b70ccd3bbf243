"""ETSI TS 103 142 V1.1.1, "Test Descriptions for Cloud Interoperability": the OCCI tests.

These are test descriptions, not requirements of a specification: each checks a
scenario built on GFD.221/223/224 statements, and carries the level of the
strongest statement it rests on. The ids are the document's own test ids (the
ones pOCCI reports); the summaries are ours.
"""

from __future__ import annotations

from conformance.requirements.model import MUST, SHOULD, table

REQUIREMENTS = table(
    "ETSI-TS-103-142",
    "ETSI OCCI tests",
    "occi",
    [
        (
            "OCCI/CORE/DISCOVERY/001",
            "OCCI/CORE/DISCOVERY",
            MUST,
            "Retrieve every Category the server supports from the query interface; the Core "
            "Kinds are among them.",
        ),
        (
            "OCCI/CORE/DISCOVERY/002",
            "OCCI/CORE/DISCOVERY",
            SHOULD,
            "Retrieve Categories with a Category filter: the answer holds the filtered one "
            "and is no larger than the unfiltered answer.",
        ),
        (
            "OCCI/CORE/READ/001",
            "OCCI/CORE/READ",
            MUST,
            "Retrieve the locations of the entities of a Kind collection.",
        ),
        (
            "OCCI/CORE/READ/002",
            "OCCI/CORE/READ",
            SHOULD,
            "Retrieve a Kind collection with an attribute filter.",
        ),
        (
            "OCCI/CORE/READ/007",
            "OCCI/CORE/READ",
            MUST,
            "Retrieve the rendering of one entity: its Kind, id and attributes.",
        ),
        (
            "OCCI/CORE/CREATE/001",
            "OCCI/CORE/CREATE",
            MUST,
            "Create a Resource with POST on its Kind's location; it can then be read back.",
        ),
        (
            "OCCI/CORE/CREATE/006",
            "OCCI/CORE/CREATE",
            SHOULD,
            "Add a user-defined Mixin through the query interface; it is then listed.",
        ),
        ("OCCI/CORE/DELETE/001", "OCCI/CORE/DELETE", MUST, "Delete a Resource; it is then gone."),
        (
            "OCCI/CORE/UPDATE/001",
            "OCCI/CORE/UPDATE",
            MUST,
            "Fully update an entity with PUT; the new attribute values are then read back.",
        ),
        (
            "OCCI/CORE/MISC/001",
            "OCCI/CORE/MISC",
            MUST,
            "Trigger an Action on a Resource; it succeeds.",
        ),
        ("OCCI/INFRA/CREATE/001", "OCCI/INFRA/CREATE", MUST, "Create a compute Resource."),
        ("OCCI/INFRA/CREATE/002", "OCCI/INFRA/CREATE", MUST, "Create a storage Resource."),
        ("OCCI/INFRA/CREATE/003", "OCCI/INFRA/CREATE", MUST, "Create a network Resource."),
        (
            "OCCI/INFRA/CREATE/004",
            "OCCI/INFRA/CREATE",
            MUST,
            "Create a compute Resource from an OS template and a resource template.",
        ),
        (
            "OCCI/INFRA/CREATE/005",
            "OCCI/INFRA/CREATE",
            MUST,
            "Create a compute Resource with an inline storagelink and networkinterface.",
        ),
        (
            "OCCI/INFRA/CREATE/006",
            "OCCI/INFRA/CREATE",
            MUST,
            "Create a storagelink between an existing compute and storage.",
        ),
        (
            "OCCI/INFRA/CREATE/007",
            "OCCI/INFRA/CREATE",
            MUST,
            "Create a networkinterface between an existing compute and network.",
        ),
    ],
)
