"""The engine's catalog and tags as Mixins: OS templates, resource templates, user tags.

* An :class:`~engine.catalog.models.Image` is an OS template (GFD.224
  §3.5.1): term = the image's id, title = its name, in the provider scheme
  ``<PROVIDER>/occi/os_tpl#``, depending on ``os_tpl``.
* A :class:`~engine.catalog.models.ComputeOffering` is a resource template
  (GFD.224 §3.5.2) whose attribute defaults are its size: cores, memory
  (GiB) and share.
* A :class:`~engine.resources.tag_models.Tag` is a user-defined Mixin (GFD.221 §3.6)
  with the scheme, term and location its owner chose.

Terms are readable: made from the entry's name (``os_tpl#debian-12``,
``resource_tpl#small``; :func:`readable_terms`), so that a person can type
them. Names are unique per owner only (a private image may be called like a
public one), so among the entries one caller sees the oldest keeps the plain
term and a later one with the same name gets its id's first eight characters
after it (``debian-12-3f2a9c1e``): a term never changes when another entry
is added. The term the catalog id made before (``os_tpl#<id>``) stays an
alias of each template: clients that kept it are still understood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from concord.terms import make_term, readable_terms
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
#: Concord's own Mixins of compute (provider extensions, GFD.221 §3.2.3).
COMPUTE_SCHEME = provider_scheme(PROVIDER, "compute")

#: High availability: a compute carrying it is restarted on another host when
#: its host fails (and in place when it crashes; docs/ha.rst). Given
#: at creation, or implied by a resource template whose offering is HA; it
#: cannot be added or removed later. No attributes: its presence is the flag.
HA = Mixin(
    "ha",
    COMPUTE_SCHEME,
    "High availability: restarted on another host if its host fails",
    applies=(infra.COMPUTE.type_id,),
    location="/mixin/ha/",
)

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
    """The type identifier an image's id makes: its OS template's alias."""
    return OS_TPL_SCHEME + make_term(image_id)


def resource_template_id(offering_id: str) -> str:
    """The type identifier an offering's id makes: its resource template's alias."""
    return RESOURCE_TPL_SCHEME + make_term(offering_id)


def _title(name: str, description: str | None) -> str:
    return f"{name}: {description}" if description else name


def _aliases(scheme: str, entry_id: str, term: str) -> tuple[str, ...]:
    alias = scheme + make_term(entry_id)
    return () if alias == scheme + term else (alias,)


def os_template(image: Image, term: str | None = None) -> Mixin:
    """The OS template Mixin of an image (GFD.224 §3.5.1), under ``term``
    (by default the term its id makes)."""
    defaults = {}
    arch = units.occi_architecture(image.arch)
    if arch is not None:
        defaults["occi.compute.architecture"] = arch
    term = term or make_term(image.id)
    mixin = template_from_data(
        infra.OS_TPL,
        {"term": term, "title": _title(image.name, image.description), "attributes": defaults},
        provider=PROVIDER,
    )
    return replace(mixin, aliases=_aliases(OS_TPL_SCHEME, image.id, term))


def resource_template(offering: ComputeOffering, term: str | None = None) -> Mixin:
    """The resource template Mixin of a compute offering (GFD.224 §3.5.2)."""
    defaults = {
        "occi.compute.cores": offering.vcpus,
        "occi.compute.memory": units.mib_as_gib(offering.memory_mib),
        "occi.compute.share": offering.cpu_share,
    }
    term = term or make_term(offering.id)
    mixin = template_from_data(
        infra.RESOURCE_TPL,
        {
            "term": term,
            "title": _title(offering.name, offering.description),
            "attributes": defaults,
        },
        provider=PROVIDER,
    )
    return replace(mixin, aliases=_aliases(RESOURCE_TPL_SCHEME, offering.id, term))


@dataclass
class CatalogTemplates:
    """The templates of the catalog one caller sees, with readable terms.

    :param mixins: the usable templates (available images, then offerings).
    :param entries: each template's type identifier -> ``(model, entry id)``,
        for every entry the caller sees (aliases included).
    :param by_entry: ``entry id`` -> its template, usable or not.
    """

    mixins: list[Mixin] = field(default_factory=list)
    entries: dict[str, tuple[type[Image] | type[ComputeOffering], str]] = field(
        default_factory=dict
    )
    by_entry: dict[str, Mixin] = field(default_factory=dict)

    def entry(self, type_id: str) -> tuple[type[Image] | type[ComputeOffering], str] | None:
        """``(catalog model, entry id)`` of a template type identifier (or alias), or None."""
        return self.entries.get(type_id)

    def os_template_id(self, image_id: str) -> str:
        """The type identifier of image ``image_id``'s template (the id's, if not seen)."""
        found = self.by_entry.get(image_id)
        return found.type_id if found is not None else os_template_id(image_id)

    def resource_template_id(self, offering_id: str) -> str:
        """The type identifier of offering ``offering_id``'s template."""
        found = self.by_entry.get(offering_id)
        return found.type_id if found is not None else resource_template_id(offering_id)


def catalog_templates(
    images: Sequence[Image], offerings: Sequence[ComputeOffering]
) -> CatalogTemplates:
    """Every OS and resource template of the given catalog entries, images first.

    Images in a state other than ``available`` are no usable template (a
    capture in progress, a failed one), but keep their term: terms are made
    over every entry, so an image becoming available changes no other's.
    """
    found = CatalogTemplates()
    for entries in (images, offerings):
        terms = readable_terms(entries)
        for entry in entries:
            if isinstance(entry, Image):
                mixin = os_template(entry, terms[entry.id])
            else:
                mixin = resource_template(entry, terms[entry.id])
            model = type(entry)
            found.by_entry[entry.id] = mixin
            for type_id in (mixin.type_id, *mixin.aliases):
                found.entries[type_id] = (model, entry.id)
            if getattr(entry, "state", "available") == "available":
                found.mixins.append(mixin)
    return found


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


__all__ = [
    "COMPUTE_SCHEME",
    "ENGINE_KINDS",
    "HA",
    "KIND_TYPE_IDS",
    "OS_TPL_SCHEME",
    "PROVIDER",
    "RESOURCE_TPL_SCHEME",
    "CatalogTemplates",
    "catalog_templates",
    "os_template",
    "os_template_id",
    "readable_terms",
    "resource_template",
    "resource_template_id",
    "tag_as_mixin",
    "tag_type_id",
]
