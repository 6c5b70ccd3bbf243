"""The words both renderings share for engine errors (:mod:`concord.error_facts`).

Neutral English for what neither standard names its own way: engine nouns
of things that are not a resource Kind, the problems of a refused value and
the clashes, by their ``reason`` fact (:mod:`engine.errors`). Each rendering
puts its own words first (GFD.224's Kinds and attributes, DSP0263's types
and attributes); ``{noun}``, ``{what}`` and ``{other}`` are filled with them.
"""

from __future__ import annotations

from collections.abc import Mapping

#: What is wrong with a value, by the ``reason`` fact of an InvalidInput that
#: needs no bound (the ones with bounds are worded by :func:`field_problem`).
PROBLEMS: Mapping[str, str] = {
    "empty": "must not be empty",
    "control": "contains control characters",
    "required": "is required",
    "integer": "must be a whole number",
    "number": "must be a number",
    "positive": "must be greater than 0",
    "boolean": "must be true or false",
    "map": "must be a map of names to values",
    "list": "must be a list",
    "unknown": "is not one this cloud knows",
    "not_taken": "is not taken by this request",
    "format": "is not in a form this cloud accepts",
    "address": "must be an IP address, such as 10.1.0.5 or fd00::5",
    "addresses": "must be IP addresses separated by commas",
    "cidr": "must be an address range with its prefix length, such as 10.1.0.0/24",
    "netmask": "must be a mask such as 255.255.255.0, or a prefix length such as 24",
    "host_bits": "has host bits set: give the range's own address",
    "outside": "is outside the address range",
    "reserved": "is a reserved address of its range (the first, the broadcast or the gateway)",
    "no_gateway": "leaves no address for a gateway",
    "grow": "can only grow",
    "public_key": "must be one OpenSSH public key line",
    "base64": "is not valid Base64",
    "reserved_device": "names the boot disk",
    "device": "must be vd, sd, hd or xvd followed by one or two letters, such as vdb",
    "name": (
        "must be 1 to 64 letters, digits, '.', '_', '@', '+' or '-', "
        "beginning with a letter or digit"
    ),
    "price": "must be a non-negative decimal number",
    "hostname": "must be letters, digits and hyphens in dot-separated labels",
    "unavailable": "names something that cannot be used here now",
    "conflicting": "cannot be given together with the other values of this request",
    "unsupported": "cannot be used this way yet",
    "unknown_parameters": "has parameters this cloud does not know",
    "missing_parameters": "lacks parameters it needs",
    "share": "must be a share above 0 and at most 1",
    "http_url": "must be an http(s) URL",
}


#: Engine keywords both standards' clients read as they are (neither has its
#: own name for them); a rendering's own table comes first.
FIELDS: Mapping[str, str] = {
    "name": "name",
    "description": "description",
    "properties": "properties",
    "id": "id",
    "state": "state",
    "timeout": "timeout",
    "action": "the action",
    "tags": "tags",
    "tag": "tag",
    "password": "password",
    "public_key": "public key",
    "policy": "policy",
    "group": "placement group",
    "vlan": "VLAN",
    "vni": "VNI",
    "mac": "MAC address",
    "price": "price",
    "url": "URL",
    "disk_format": "disk format",
    "isolation": "isolation",
    "account_id": "account",
    "default_cidr": "default address range",
    "allocation": "allocation",
    "label": "label",
    "start": "start",
    "interface": "interface name",
    "namespace": "namespace",
    "extends": "extends",
    "kinds": "kinds",
    "title": "title",
    "path": "path",
    "volume_templates": "disk templates",
    "type": "usage type",
    "uri": "URI",
    "location": "location",
    "placement_policy": "placement policy",
    "network_name": "the hypervisor's name for it",
    "capacity_bytes": "the size on the host",
    "bridge": "bridge",
    "boot_image_path": "the boot disk's path",
    "ha_priority": "HA priority",
    "fence": "fencing options",
    "kind": "kind",
    "allocator": "allocator",
    "level": "level",
    "resource": "resource",
    "measure": "measure",
    "share": "share",
    "cpu_disable_threshold": "CPU disable threshold",
    "memory_disable_threshold": "memory disable threshold",
    "storage_disable_threshold": "disk space disable threshold",
    "month": "month",
    "records": "APEL message",
    "jwks_uri": "JWKS URI",
    "rules": "the mapping",
}


#: Engine nouns of things that are not a resource Kind (``subject``), as a
#: client of either standard reads them: neither OCCI nor CIMI has its own word.
NOUNS: Mapping[str, str] = {
    "zone": "zone",
    "pod": "pod",
    "cluster": "cluster",
    "host": "host",
    "domain": "domain",
    "account": "account",
    "project": "project",
    "user": "user",
    "api_key": "API key",
    "ssh_key": "SSH key",
    "placement_group": "placement group",
    "tag": "tag",
    "template": "template",
    "job": "job",
    "meter": "meter",
    "sample": "sample",
    "tariff": "tariff",
    "issuer": "trusted issuer",
    "image_list": "image list",
    "site": "member site",
    "image_store": "template store",
    "threshold": "notification threshold",
    "address": "address",
    "device": "device name",
    "guest": "virtual machine",
    "resource": "resource",
    "member": "project member",
    "storage_pool": "storage pool",
    "compute_offering": "compute offering",
    "disk_offering": "disk offering",
    "network_offering": "network offering",
    "mac": "MAC address",
    "interface_name": "interface name",
    "dedication": "dedication",
    "accounting_site": "trusted accounting site",
    "glue_document": "GLUE document",
    "apel_message": "APEL message",
}


#: Conflicts by their ``reason`` fact: ``{noun}`` is the subject (with its id),
#: ``{other}`` what it clashes with (the ``other`` fact), both in the rendering's words.
CONFLICTS: Mapping[str, str] = {
    "busy": "{noun} is busy now; retry",
    "changed": "{noun} changed meanwhile; read it again and retry",
    "in_use": "{noun} is still used by a {other}; remove it first",
    "attached": "{noun} is linked to a {other} already; remove that link first",
    "not_placed": "{noun} is not placed on any host yet; retry later",
    "unreachable": "{noun} cannot be reached from this {other}",
    "owner": "{noun} and the {other} belong to different owners",
    "zone": "{noun} is in another zone than the {other}",
    "ambiguous": "several {what}s have this name; use the id",
    "taken": "{noun} is taken on this {other}",
    "full": "{noun} has no room left for another {other}",
    "last": "{noun} is the last one of its kind and must stay",
    "gone": "{noun} is going away (a DELETE was accepted)",
    "not_ready": "{noun} is not ready yet; retry later",
    "state": "{noun} is not in a state that allows this now",
    "moved": "{noun} has moved meanwhile; retry",
    "unusable": "{noun} cannot be used now; an administrator has to act",
    "policy": "{noun} exists already with another policy",
    "mismatch": "{noun} does not match the {other}",
    "not_empty": "{noun} still holds others; delete them first",
    "root": "{noun} is the root of all the others and must stay",
    "apart": "the {what}s are where no single host reaches them all; they cannot all "
    "be linked to one {other}",
}


#: Refusals of a request about a subject, by ``reason`` (``{noun}`` as in CONFLICTS).
INPUTS: Mapping[str, str] = {
    "unavailable": "{noun} cannot be used here now",
    "owner": "only an account can own a {what}; act as a user of one",
    "unknown": "{noun} is not known here",
    "kind": "{noun} does not go on a {other}",
    "ambiguous": "several {what}s have this name; name the one you mean",
    "rejected": "the host refused the configuration of {noun}",
    "no_disk": "{noun} has no disk to save",
    "size": "a {what} needs a size: give it, or a template that sets it",
    "action": "a {what} has no such action",
    "malformed": "{noun} is not well-formed",
    "signer": "{noun} is not signed by the endorser it was subscribed with",
    "expired": "{noun} has expired",
    "signing": "the certificate or key that signs {noun} cannot be used",
}


#: Refusals of a caller's right by ``reason`` (``{noun}`` as in CONFLICTS); without
#: one, a PermissionDenied about a subject is worded as a matter of role.
DENIALS: Mapping[str, str] = {
    "own_records": "{noun} may push only its own records",
}


__all__ = ["CONFLICTS", "DENIALS", "FIELDS", "INPUTS", "NOUNS", "PROBLEMS"]
