"""The engine's catalog and tags as Mixins: OS templates, resource templates, user tags.

* An :class:`~engine.catalog.models.Image` is an OS template (GFD.224
  §3.5.1): term = the image's id, title = its name, in the provider scheme
  ``<PROVIDER>/occi/os_tpl#``, depending on ``os_tpl``.
* A :class:`~engine.catalog.models.ComputeOffering` is a resource template
  (GFD.224 §3.5.2) whose attribute defaults are its size: cores, memory
  (GiB) and share.
* A :class:`~engine.resources.tag_models.Tag` is a user-defined Mixin (GFD.221 §3.6)
  with the scheme, term and location its owner chose.

Terms are catalog ids, not names: names are unique per owner only (a
private image may be called like a public one), ids everywhere, and an
entity's template type identifier is then known from its row alone, with no
catalog query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from engine.catalog.models import ComputeOffering, Image
from engine.lifecycle import Kind as EngineKind
from engine.resources.tag_models import Tag
from occi.categories import infrastructure as infra
from occi.categories.templates import provider_scheme, tag_mixin, template_from_data
from occi.categories.types import Mixin
from occi.mapping import units

#: The base of Concord's provider schemes. A scheme only names a namespace
#: (GFD.221 §3.2.1) and must not change with the Host a client used, so it is
#: fixed; ``.invalid`` (RFC 2606) says it is not meant to be fetched.
PROVIDER = "http://schemas.concord.invalid"
OS_TPL_SCHEME = provider_scheme(PROVIDER, "os_tpl")
RESOURCE_TPL_SCHEME = provider_scheme(PROVIDER, "resource_tpl")

#: Engine kinds <-> the type identifiers of their OCCI Kinds (a tag's ``applies``).
KIND_TYPE_IDS: Mapping[str, str] = MappingProxyType(
    {
        EngineKind.COMPUTE.value: infra.COMPUTE.type_id,
        EngineKind.VOLUME.value: infra.STORAGE.type_id,
        EngineKind.NETWORK.value: infra.NETWORK.type_id,
        EngineKind.NETWORK_INTERFACE.value: infra.NETWORKINTERFACE.type_id,
        EngineKind.STORAGE_ATTACHMENT.value: infra.STORAGELINK.type_id,
    }
)
ENGINE_KINDS: Mapping[str, str] = MappingProxyType({v: k for k, v in KIND_TYPE_IDS.items()})


def os_template_id(image_id: str) -> str:
    """The type identifier of the OS template of image ``image_id``."""
    return OS_TPL_SCHEME + image_id


def resource_template_id(offering_id: str) -> str:
    """The type identifier of the resource template of offering ``offering_id``."""
    return RESOURCE_TPL_SCHEME + offering_id


def template_entry(type_id: str) -> tuple[type[Image] | type[ComputeOffering], str] | None:
    """``(catalog model, entry id)`` of a template type identifier, or None."""
    for scheme, model in ((OS_TPL_SCHEME, Image), (RESOURCE_TPL_SCHEME, ComputeOffering)):
        if type_id.startswith(scheme) and len(type_id) > len(scheme):
            return model, type_id[len(scheme) :]
    return None


def _title(name: str, description: str | None) -> str:
    return f"{name}: {description}" if description else name


def os_template(image: Image) -> Mixin:
    """The OS template Mixin of an image (GFD.224 §3.5.1)."""
    defaults = {}
    arch = units.occi_architecture(image.arch)
    if arch is not None:
        defaults["occi.compute.architecture"] = arch
    return template_from_data(
        infra.OS_TPL,
        {"term": image.id, "title": _title(image.name, image.description), "attributes": defaults},
        provider=PROVIDER,
    )


def resource_template(offering: ComputeOffering) -> Mixin:
    """The resource template Mixin of a compute offering (GFD.224 §3.5.2)."""
    defaults = {
        "occi.compute.cores": offering.vcpus,
        "occi.compute.memory": units.mib_as_gib(offering.memory_mib),
        "occi.compute.share": offering.cpu_share,
    }
    return template_from_data(
        infra.RESOURCE_TPL,
        {
            "term": offering.id,
            "title": _title(offering.name, offering.description),
            "attributes": defaults,
        },
        provider=PROVIDER,
    )


def tag_as_mixin(tag: Tag) -> Mixin:
    """A tag as the user-defined Mixin its owner defined (GFD.221 §3.6)."""
    return tag_mixin(
        tag.name,
        provider=PROVIDER,
        tenant=tag.account_id,
        title=tag.title or "",
        scheme=tag.namespace,
        location=tag.path,
        depends=tuple(tag.extends),
        applies=tuple(KIND_TYPE_IDS[kind] for kind in tag.kinds if kind in KIND_TYPE_IDS),
    )


def tag_type_id(tag: Tag) -> str:
    """The type identifier of a tag's Mixin."""
    return tag.namespace + tag.name


def templates(images: Iterable[Image], offerings: Iterable[ComputeOffering]) -> list[Mixin]:
    """Every OS and resource template of the given catalog entries, images first.

    Images in a state other than ``available`` are left out: they cannot be
    used (a capture in progress, a failed one).
    """
    found = [os_template(image) for image in images if image.state == "available"]
    return found + [resource_template(offering) for offering in offerings]


__all__ = [
    "ENGINE_KINDS",
    "KIND_TYPE_IDS",
    "OS_TPL_SCHEME",
    "PROVIDER",
    "RESOURCE_TPL_SCHEME",
    "os_template",
    "os_template_id",
    "resource_template",
    "resource_template_id",
    "tag_as_mixin",
    "tag_type_id",
    "template_entry",
    "templates",
]
