"""The neutral OCCI model the cases work with, whatever rendering it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OCCI = "http://schemas.ogf.org/occi/"
CORE = OCCI + "core#"
INFRA = OCCI + "infrastructure#"
ENTITY, RESOURCE, LINK = CORE + "entity", CORE + "resource", CORE + "link"
COMPUTE, STORAGE, NETWORK = INFRA + "compute", INFRA + "storage", INFRA + "network"
NETWORKINTERFACE, STORAGELINK = INFRA + "networkinterface", INFRA + "storagelink"
OS_TPL, RESOURCE_TPL = INFRA + "os_tpl", INFRA + "resource_tpl"
IPNETWORK = OCCI + "infrastructure/network#ipnetwork"
IPNETWORKINTERFACE = OCCI + "infrastructure/networkinterface#ipnetworkinterface"
SSH_KEY = OCCI + "infrastructure/credentials#ssh_key"
USER_DATA = OCCI + "infrastructure/compute#user_data"

#: OCCI media types.
TEXT_PLAIN, TEXT_OCCI_PLAIN, TEXT_OCCI = "text/plain", "text/occi+plain", "text/occi"
URI_LIST, OCCI_JSON = "text/uri-list", "application/occi+json"
TEXT_RENDERINGS = (TEXT_PLAIN, TEXT_OCCI)
RENDERINGS = (TEXT_PLAIN, TEXT_OCCI, OCCI_JSON)


@dataclass
class AttributeDef:
    """An attribute definition as discovered (GFD.221 Attribute)."""

    name: str
    required: bool = False
    mutable: bool = True
    type: str | None = None
    has_default: bool = False
    default: Any = None
    description: str | None = None
    pattern: Any = None


@dataclass
class Category:
    """A Kind, Mixin or Action as the query interface renders it."""

    term: str
    scheme: str
    cls: str
    title: str | None = None
    #: Kind: [parent]; Mixin: depends (text: at most the first).
    rel: list[str] = field(default_factory=list)
    #: Mixin applies (JSON only: the text rendering cannot carry it).
    applies: list[str] = field(default_factory=list)
    location: str | None = None
    attributes: dict[str, AttributeDef] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    @property
    def type_id(self) -> str:
        """The concatenated type identifier (GFD.221: scheme then term)."""
        return self.scheme + self.term


@dataclass
class LinkRef:
    """A Link as rendered inside a Resource (text ``Link:`` or a JSON link object)."""

    target: str
    rel: list[str] = field(default_factory=list)
    self_location: str | None = None
    categories: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Entity:
    """A Resource or Link as rendered by GET on its location."""

    kind: str | None = None
    mixins: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    #: Type identifiers of the applicable Actions.
    actions: list[str] = field(default_factory=list)
    #: (href, action type id) of text ActionLinks.
    action_links: list[tuple[str, str]] = field(default_factory=list)
    links: list[LinkRef] = field(default_factory=list)

    @property
    def id(self) -> Any:
        """occi.core.id, if rendered."""
        return self.attributes.get("occi.core.id")


@dataclass
class Model:
    """Everything the query interface advertises, by type identifier."""

    categories: dict[str, Category] = field(default_factory=dict)

    def kinds(self) -> list[Category]:
        """The Kinds, in the order served."""
        return [c for c in self.categories.values() if c.cls == "kind"]

    def mixins(self) -> list[Category]:
        """The Mixins, in the order served."""
        return [c for c in self.categories.values() if c.cls == "mixin"]

    def actions(self) -> list[Category]:
        """The Actions, in the order served."""
        return [c for c in self.categories.values() if c.cls == "action"]

    def get(self, type_id: str) -> Category | None:
        """The Category with this type identifier, if advertised."""
        return self.categories.get(type_id)

    def ancestors(self, category: Category) -> list[Category]:
        """The parent chain of a Kind (or depends chain of a Mixin), nearest first."""
        seen: list[Category] = []
        current = category
        while current.rel:
            parent = self.categories.get(current.rel[0])
            if parent is None or parent in seen or parent is category:
                break
            seen.append(parent)
            current = parent
        return seen

    def all_attributes(self, category: Category) -> dict[str, AttributeDef]:
        """The attributes a Kind defines itself or inherits from its parents."""
        merged: dict[str, AttributeDef] = {}
        for cat in reversed([category, *self.ancestors(category)]):
            merged.update(cat.attributes)
        return merged

    def templates(self, parent: str) -> list[Category]:
        """The Mixins that depend, directly or not, on Mixin ``parent`` (os_tpl, resource_tpl)."""
        return [
            m
            for m in self.mixins()
            if m.type_id != parent
            and (parent in m.rel or any(a.type_id == parent for a in self.ancestors(m)))
        ]
