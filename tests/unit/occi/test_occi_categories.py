"""The category model: GFD.224's tables, templates, tags, coercion and the registry.

The expected tables are written out from occi.md §6 (GFD.224), not read from
the code.
"""

from __future__ import annotations

import pytest

from occi.categories import (
    Attribute,
    AttributeType,
    CategoryRegistry,
    Kind,
    Mixin,
    core_registry,
    infrastructure_registry,
    make_term,
    os_template,
    provider_template,
    resource_template,
    tag_from_definition,
    tag_mixin,
    template_from_data,
)
from occi.categories.infrastructure import COMPUTE, OS_TPL, RESOURCE_TPL
from occi.model import CategoryDefinition

SCHEMA = "http://schemas.ogf.org/occi/"
INFRA = SCHEMA + "infrastructure#"

# (term, title, parent, location, {attribute: (type, mutable, required)})
KINDS = {
    "compute": (
        "Compute Resource",
        "core#resource",
        "/compute/",
        {
            "occi.compute.architecture": ("enum", True, False),
            "occi.compute.cores": ("integer", True, False),
            "occi.compute.hostname": ("string", True, False),
            "occi.compute.share": ("integer", True, False),
            "occi.compute.memory": ("float", True, False),
            "occi.compute.state": ("enum", False, False),
            "occi.compute.state.message": ("string", False, False),
        },
    ),
    "storage": (
        "Storage Resource",
        "core#resource",
        "/storage/",
        {
            "occi.storage.size": ("float", True, True),
            "occi.storage.state": ("enum", False, False),
            "occi.storage.state.message": ("string", False, False),
        },
    ),
    "network": (
        "Network Resource",
        "core#resource",
        "/network/",
        {
            "occi.network.vlan": ("integer", True, False),
            "occi.network.label": ("string", True, False),
            "occi.network.state": ("enum", False, False),
            "occi.network.state.message": ("string", False, False),
        },
    ),
    "networkinterface": (
        "NetworkInterface Link",
        "core#link",
        "/networkinterface/",
        {
            "occi.networkinterface.interface": ("string", False, False),
            "occi.networkinterface.mac": ("string", True, False),
            "occi.networkinterface.state": ("enum", False, False),
            "occi.networkinterface.state.message": ("string", False, False),
        },
    ),
    "storagelink": (
        "StorageLink Link",
        "core#link",
        "/storagelink/",
        {
            "occi.storagelink.deviceid": ("string", True, False),
            "occi.storagelink.mountpoint": ("string", True, False),
            "occi.storagelink.state": ("enum", False, False),
            "occi.storagelink.state.message": ("string", False, False),
        },
    ),
}
STATES = {
    "occi.compute.state": ("active", "inactive", "suspended", "error"),
    "occi.storage.state": ("online", "offline", "error"),
    "occi.network.state": ("active", "inactive", "error"),
    "occi.networkinterface.state": ("active", "inactive", "error"),
    "occi.storagelink.state": ("active", "inactive", "error"),
}
# (scheme suffix, term) -> {action term: {parameter: allowed values or None}}
ACTIONS = {
    "compute": {
        "start": {},
        "stop": {"method": ("graceful", "acpioff", "poweroff")},
        "restart": {"method": ("graceful", "warm", "cold")},
        "suspend": {"method": ("hibernate", "suspend")},
        "save": {"method": ("hot", "deferred"), "name": None},
    },
    "storage": {"online": {}, "offline": {}},
    "network": {"up": {}, "down": {}},
    "networkinterface": {},
    "storagelink": {},
}
# type id -> (applies, location, {attribute: (type, required)})
MIXINS = {
    INFRA + "os_tpl": ((INFRA + "compute",), "/mixin/os_tpl/", {}),
    INFRA + "resource_tpl": ((INFRA + "compute",), "/mixin/resource_tpl/", {}),
    SCHEMA + "infrastructure/network#ipnetwork": (
        (INFRA + "network",),
        "/mixin/ipnetwork/",
        {
            "occi.network.address": ("cidr", False),
            "occi.network.gateway": ("ip", False),
            "occi.network.allocation": ("enum", False),
        },
    ),
    SCHEMA + "infrastructure/networkinterface#ipnetworkinterface": (
        (INFRA + "networkinterface",),
        "/mixin/ipnetworkinterface/",
        {
            "occi.networkinterface.address": ("ip", False),
            "occi.networkinterface.gateway": ("ip", False),
            "occi.networkinterface.allocation": ("enum", False),
        },
    ),
    SCHEMA + "infrastructure/credentials#ssh_key": (
        (INFRA + "compute",),
        "/mixin/ssh_key/",
        {"occi.credentials.ssh.publickey": ("string", True)},
    ),
    SCHEMA + "infrastructure/compute#user_data": (
        (INFRA + "compute",),
        "/mixin/user_data/",
        {"occi.compute.userdata": ("string", True)},
    ),
}


@pytest.mark.parametrize("term", sorted(KINDS))
def test_infrastructure_kinds(term):
    registry = infrastructure_registry()
    kind = registry.get(INFRA + term)
    assert isinstance(kind, Kind)
    title, parent, location, attributes = KINDS[term]
    assert (kind.title, kind.parent and kind.parent.type_id, kind.location) == (
        title,
        SCHEMA + parent,
        location,
    )
    assert {a.name: (a.type.value, a.mutable, a.required) for a in kind.attributes} == attributes
    for attribute in kind.attributes:
        assert attribute.description
        if attribute.name in STATES:
            assert attribute.enum == STATES[attribute.name]
            assert attribute.value_pattern == "^(" + "|".join(STATES[attribute.name]) + ")$"
    actions = {a.term: {p.name: p.enum or None for p in a.attributes} for a in kind.actions}
    assert actions == ACTIONS[term]
    for action in kind.actions:
        assert action.scheme == f"{SCHEMA}infrastructure/{term}/action#"
        assert registry.get(action.type_id) is action


@pytest.mark.parametrize("type_id", sorted(MIXINS))
def test_infrastructure_mixins(type_id):
    mixin = infrastructure_registry().get(type_id)
    assert isinstance(mixin, Mixin)
    applies, location, attributes = MIXINS[type_id]
    assert (mixin.applies, mixin.location) == (applies, location)
    assert {a.name: (a.type.value, a.required) for a in mixin.attributes} == attributes


def test_the_registry_holds_core_and_infrastructure():
    registry = infrastructure_registry()
    assert [k.term for k in registry.kinds()] == [
        "entity",
        "resource",
        "link",
        "compute",
        "storage",
        "network",
        "networkinterface",
        "storagelink",
    ]
    assert len(list(registry.actions())) == 9
    assert len(list(registry.mixins())) == 6
    assert registry.by_location("/compute/") is registry.get(INFRA + "compute")
    assert registry.get(SCHEMA + "core#entity").location is None  # GFD.223 §3.1


def test_inherited_attributes_are_listed_for_kinds():
    names = [a.name for a in COMPUTE.rendered_attributes()]
    assert names[:3] == ["occi.core.id", "occi.core.title", "occi.core.summary"]
    assert COMPUTE.is_a(SCHEMA + "core#entity") and not COMPUTE.is_a(SCHEMA + "core#link")


def test_json_patterns():
    vlan = infrastructure_registry().get(INFRA + "network").attribute("occi.network.vlan")
    assert vlan.json_pattern() == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "integer",
        "minimum": 0,
        "maximum": 4095,
    }
    arch = COMPUTE.attribute("occi.compute.architecture")
    assert arch.json_pattern()["enum"] == ["x86", "x64"]
    assert COMPUTE.attribute("occi.compute.hostname").json_pattern() is None


def test_registry_copies_and_collisions():
    base = core_registry()
    copy = base.copy()
    copy.add(Mixin("tag", "http://p/occi/tags/t#", location="/tag/"))
    assert "http://p/occi/tags/t#tag" in copy and "http://p/occi/tags/t#tag" not in base
    with pytest.raises(ValueError, match="already registered"):
        copy.add(Mixin("tag", "http://p/occi/tags/t#", location="/other/"))
    with pytest.raises(ValueError, match="already bound"):
        copy.add(Mixin("tag2", "http://p/occi/tags/t#", location="/tag/"))
    assert copy.remove("http://p/occi/tags/t#tag").term == "tag"
    assert len(copy) == len(base)


def test_categories_check_their_terms_and_names():
    with pytest.raises(ValueError, match="invalid term"):
        Mixin("no spaces", "http://p#")
    with pytest.raises(ValueError, match="invalid attribute name"):
        Attribute("-x")
    with pytest.raises(ValueError, match="scheme"):
        Kind("k", "")
    assert isinstance(CategoryRegistry(), CategoryRegistry)


# ----------------------------------------------------------------- templates and tags


def test_os_and_resource_templates():
    debian = os_template("debian9", provider="cloud.example.org", title="Debian 9")
    assert debian.definition() == CategoryDefinition(
        term="debian9",
        scheme="http://cloud.example.org/occi/os_tpl#",
        cls="mixin",
        title="Debian 9",
        depends=(INFRA + "os_tpl",),
        applies=(INFRA + "compute",),
        location="/mixin/os_tpl/debian9/",
    )
    small = resource_template(
        "small",
        provider="https://cloud.example.org/",
        defaults={
            "occi.compute.cores": 1,
            "occi.compute.memory": 1.0,
            "occi.compute.ephemeral_storage.size": 10.0,
        },
    )
    cores, memory, ephemeral = small.attributes
    assert (cores.type, cores.default, cores.minimum) == (AttributeType.INTEGER, 1, 1)
    assert (memory.type, memory.default, memory.unit) == (AttributeType.FLOAT, 1.0, "GiB")
    assert (ephemeral.type, ephemeral.default) == (AttributeType.FLOAT, 10.0)
    assert small.scheme == "https://cloud.example.org/occi/resource_tpl#"


def test_provider_attributes_and_reserved_schemes():
    template = provider_template(
        OS_TPL,
        "img",
        provider="p.example",
        defaults={"com.example.flavor": "x"},
        attributes=[Attribute("com.example.flavor", description="d"), Attribute("com.example.y")],
    )
    assert [(a.name, a.default) for a in template.attributes] == [
        ("com.example.flavor", "x"),
        ("com.example.y", None),
    ]
    with pytest.raises(ValueError, match="reserved"):
        os_template("x", provider="http://schemas.ogf.org")


def test_templates_from_catalog_data():
    template = template_from_data(
        RESOURCE_TPL,
        {
            "id": "m1.medium (v2)",
            "name": "Medium",
            "attributes": {"occi.compute.cores": 2},
        },
        provider="cloud.example.org",
    )
    assert (template.term, template.title) == ("m1.medium__v2_", "Medium")
    assert template.location == "/mixin/resource_tpl/m1.medium__v2_/"
    with pytest.raises(ValueError, match="term or an id"):
        template_from_data(OS_TPL, {}, provider="p")


@pytest.mark.parametrize(
    ("raw", "term"),
    [
        ("debian-9", "debian-9"),
        ("Ubuntu 22.04 LTS", "Ubuntu_22.04_LTS"),
        ("_x", "x_x"),
        ("caf\u00e9", "caf_"),
    ],
)
def test_make_term(raw, term):
    assert make_term(raw) == term


def test_user_tags():
    tag = tag_mixin("web", provider="cloud.example.org", tenant="acme corp")
    assert tag.scheme == "http://cloud.example.org/occi/tags/acme%20corp#"
    assert tag.location == "/mixin/tags/acme%20corp/web/"
    assert (tag.attributes, tag.actions) == ((), ())
    chosen = tag_from_definition(
        CategoryDefinition(
            term="my_stuff",
            scheme="http://example.com/occi/my_stuff#",
            cls="mixin",
            location="/my_stuff/",
        ),
        provider="p",
        tenant="t",
    )
    assert (chosen.scheme, chosen.location) == ("http://example.com/occi/my_stuff#", "/my_stuff/")
    with pytest.raises(ValueError, match="only mixins"):
        tag_from_definition(
            CategoryDefinition(term="k", scheme="s#", cls="kind"), provider="p", tenant="t"
        )
    with pytest.raises(ValueError, match="needs a location"):
        tag_from_definition(
            CategoryDefinition(term="m", scheme="s#", cls="mixin"), provider="p", tenant="t"
        )
    with pytest.raises(ValueError, match="cannot define attributes"):
        tag_from_definition(
            CategoryDefinition(
                term="m", scheme="s#", cls="mixin", location="/m/", actions=("s#a",)
            ),
            provider="p",
            tenant="t",
        )
    with pytest.raises(ValueError, match="reserved"):
        tag_mixin("x", provider="p", tenant="t", scheme=SCHEMA + "infrastructure#")


# -------------------------------------------------------------------- coercion


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("occi.compute.cores", "2", 2),
        ("occi.compute.cores", 2.0, 2),
        ("occi.compute.memory", 2, 2.0),
        ("occi.compute.memory", "1.5", 1.5),
        ("occi.compute.architecture", "x64", "x64"),
        ("occi.compute.hostname", 42, "42"),
    ],
)
def test_coercion(name, value, expected):
    coerced = COMPUTE.attribute(name).coerce(value)
    assert (type(coerced), coerced) == (type(expected), expected)


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        (Attribute("a", AttributeType.INTEGER), True, "expected an integer, got a boolean"),
        (Attribute("a", AttributeType.INTEGER), "2.5", "expected an integer"),
        (Attribute("a", AttributeType.INTEGER, minimum=1), 0, "below 1"),
        (Attribute("a", AttributeType.INTEGER, maximum=4095), 4096, "above 4095"),
        (Attribute("a", AttributeType.FLOAT), "lots", "expected a number"),
        (Attribute("a", AttributeType.FLOAT), "inf", "expected a number"),
        (Attribute("a", AttributeType.ENUM, enum=("x86", "x64")), "arm", "not one of x86, x64"),
        (Attribute("a", AttributeType.BOOLEAN), "yes", "expected true or false"),
        (Attribute("a", AttributeType.IP), "10.0.0.300", "IPv4 or IPv6"),
        (Attribute("a", AttributeType.CIDR), "10.0.0.0/33", "CIDR"),
        (Attribute("a", AttributeType.URI), "has space", "expected a URI"),
        (Attribute("a", AttributeType.STRING, pattern="^[a-z]+$"), "ABC", "does not match"),
        (Attribute("a", AttributeType.STRING), [1], "expected a string"),
        (Attribute("a", AttributeType.LIST), "x", "expected a list"),
        (Attribute("a", AttributeType.HASH), [], "expected an object"),
    ],
)
def test_coercion_errors(attribute, value, message):
    with pytest.raises(ValueError, match=message):
        attribute.coerce(value)


def test_lenient_coercions():
    assert Attribute("a", AttributeType.BOOLEAN).coerce("True") is True
    assert Attribute("a", AttributeType.IP).coerce("192.168.0.1/24") == "192.168.0.1/24"
    assert Attribute("a", AttributeType.CIDR).coerce("fc00::/7") == "fc00::/7"
    mac = (
        infrastructure_registry()
        .get(INFRA + "networkinterface")
        .attribute("occi.networkinterface.mac")
    )
    assert mac.coerce("52:54:00:ab:CD:ef") == "52:54:00:ab:CD:ef"
    with pytest.raises(ValueError):
        mac.coerce("52:54:00:ab:cd")
