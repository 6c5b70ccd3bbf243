"""The OCCI category model and the categories Concord offers.

* :mod:`~occi.categories.types`: Attribute, Kind, Mixin, Action (GFD.221 §3.2).
* :mod:`~occi.categories.registry`: the registry renderings are driven by.
* :mod:`~occi.categories.core`: Entity, Resource, Link (GFD.221 §3.4).
* :mod:`~occi.categories.infrastructure`: compute, storage, network and their
  links, actions and mixins (GFD.224).
* :mod:`~occi.categories.templates`: provider templates and user tags built from data.
"""

from occi.categories.core import CORE, ENTITY, LINK, RESOURCE, core_registry
from occi.categories.infrastructure import infrastructure_registry
from occi.categories.registry import CategoryRegistry
from occi.categories.templates import (
    make_term,
    os_template,
    provider_scheme,
    provider_template,
    resource_template,
    tag_from_definition,
    tag_mixin,
    tag_scheme,
    template_from_data,
)
from occi.categories.types import (
    Action,
    Attribute,
    AttributeType,
    Category,
    Kind,
    Mixin,
    as_definition,
)

__all__ = [
    "CORE",
    "ENTITY",
    "LINK",
    "RESOURCE",
    "Action",
    "Attribute",
    "AttributeType",
    "Category",
    "CategoryRegistry",
    "Kind",
    "Mixin",
    "as_definition",
    "core_registry",
    "infrastructure_registry",
    "make_term",
    "os_template",
    "provider_scheme",
    "provider_template",
    "resource_template",
    "tag_from_definition",
    "tag_mixin",
    "tag_scheme",
    "template_from_data",
]
