"""The template resources (DSP0263 5.14 MachineTemplate and CredentialTemplate, 5.15
VolumeTemplate, 5.16 NetworkTemplate, 1.x AddressTemplate) over the engine's launch
templates, and the ``<Type>Create`` of the resources they create.

Templates are created directly (POST the template to its Collection, 201),
edited (PUT, 200) and deleted (200), all synchronously. A ``<Type>Create``
names a template by reference, by value, or both (the by-value attributes
override the referenced template's, 5.5.12.1); :func:`template_parameters`
turns that into engine parameters.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from cimi.mapping import parameters as p
from cimi.mapping.base import COMMON_EDITS, Binding, Context, Outcome, pruned
from cimi.resources import Access, table
from engine.errors import InvalidInput
from engine.templates.models import LaunchTemplate, TemplateKind

Value = Callable[[Context, Mapping[str, Any]], dict[str, Any]]


class TemplateBinding(Binding):
    """A CIMI template type over :class:`~engine.templates.models.LaunchTemplate`."""

    kind: ClassVar[TemplateKind]
    #: (neutral template -> engine parameters, engine parameters -> neutral template)
    convert: ClassVar[tuple[p.Convert, Value]]
    edits = COMMON_EDITS

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> LaunchTemplate:
        return ctx.engine.templates.get(ctx.scope, ids[0], self.kind)

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[LaunchTemplate]:
        return ctx.engine.templates.list(ctx.scope, self.kind)

    def render(
        self, ctx: Context, obj: LaunchTemplate, only: frozenset[str] | None = None
    ) -> dict[str, Any]:
        value = super().render(ctx, obj)
        value.update(pruned(self.convert[1](ctx, obj.parameters)))
        return value

    def editable(self) -> set[str]:
        return {f.name for f in self.table.fields if f.access is Access.READ_WRITE}

    def _specific(self, value: Mapping[str, Any]) -> dict[str, Any]:
        names = {f.name for f in self.table.fields} - {*self.edits, "id", "operations"}
        return {k: v for k, v in value.items() if k in names}

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        params = self.convert[0](ctx, self._specific(value), self.type_name)
        template = ctx.engine.templates.create(
            ctx.scope,
            self.kind,
            name=value.get("name", ""),
            description=value.get("description"),
            properties=value.get("properties"),
            parameters=params,
        )
        return Outcome(template, location=self.href(ctx, template), created=True)

    def edit(self, ctx: Context, obj: LaunchTemplate, changes: dict[str, Any]) -> Outcome:
        common = {k: v for k, v in changes.items() if k in self.edits}
        if common:
            super().edit(ctx, obj, common)
        specific = self._specific(changes)
        if specific:
            # Parameters are replaced whole: merge the change into the current template.
            current = self.convert[1](ctx, obj.parameters)
            merged = pruned({**current, **specific})
            params = self.convert[0](ctx, merged, self.type_name)
            ctx.engine.templates.update(ctx.scope, obj.id, parameters=params)
        return Outcome(obj)

    def update(self, ctx: Context, obj: LaunchTemplate, kwargs: dict[str, Any]) -> Any:
        return ctx.engine.templates.update(ctx.scope, obj.id, **kwargs)

    def can_delete(self, ctx: Context, obj: LaunchTemplate) -> bool:
        return True

    def delete(self, ctx: Context, obj: LaunchTemplate) -> Outcome:
        ctx.engine.templates.delete(ctx.scope, obj.id)
        return Outcome()


class MachineTemplates(TemplateBinding):
    """MachineTemplate (5.14): how to create a Machine."""

    type_name = "MachineTemplate"
    path = ("machineTemplates",)
    kind = TemplateKind.COMPUTE
    convert = (p.machine_parameters, p.machine_value)


class VolumeTemplates(TemplateBinding):
    """VolumeTemplate (5.15): how to create a Volume."""

    type_name = "VolumeTemplate"
    path = ("volumeTemplates",)
    kind = TemplateKind.VOLUME
    convert = (p.volume_parameters, p.volume_value)


class NetworkTemplates(TemplateBinding):
    """NetworkTemplate (5.16): how to create a Network."""

    type_name = "NetworkTemplate"
    path = ("networkTemplates",)
    kind = TemplateKind.NETWORK
    convert = (p.network_parameters, p.network_value)


class AddressTemplates(TemplateBinding):
    """AddressTemplate (1.x): kept for clients; Addresses come from interfaces."""

    type_name = "AddressTemplate"
    path = ("addressTemplates",)
    kind = TemplateKind.ADDRESS
    convert = (p.address_parameters, p.address_value)


class CredentialTemplates(TemplateBinding):
    """CredentialTemplate (5.14): an SSH public key to keep as a Credential."""

    type_name = "CredentialTemplate"
    path = ("credentialTemplates",)
    kind = TemplateKind.CREDENTIAL
    convert = (p.credential_parameters, p.credential_value)


#: The template binding of each template kind.
BY_KIND: Mapping[TemplateKind, type[TemplateBinding]] = {
    t.kind: t
    for t in (
        MachineTemplates,
        VolumeTemplates,
        NetworkTemplates,
        AddressTemplates,
        CredentialTemplates,
    )
}


def template_parameters(
    ctx: Context, value: Mapping[str, Any], field: str, kind: TemplateKind
) -> dict[str, Any]:
    """The engine parameters of the template a ``<Type>Create`` names (5.5.12.1).

    :param value: the decoded ``<Type>Create`` body.
    :param field: its template attribute (``machineTemplate``).
    :raises DecodeError: a malformed href or an unsupported attribute.
    :raises NotFound: the referenced template is gone (the view answers 400).
    """
    binding = BY_KIND[kind]()
    ref = value[field]
    params: dict[str, Any] = {}
    if "href" in ref:
        key = binding.path[0]
        template_id = ctx.links.id_of(ref["href"], key, binding.type_name, field)
        params.update(ctx.engine.templates.get(ctx.scope, template_id, kind).parameters)
    by_value = {k: v for k, v in ref.items() if k not in ("href", "id")}
    allowed = {f.name for f in table(binding.type_name).fields}
    params.update(
        binding.convert[0](ctx, {k: v for k, v in by_value.items() if k in allowed}, field)
    )
    return params


def name_for(value: Mapping[str, Any], kind: str) -> str:
    """The engine name of a new resource: the given name, else ``<kind>-<8 hex digits>``.

    CIMI names are optional (5.7.1); the engine names every resource.
    """
    name = value.get("name")
    if name is None:
        return f"{kind}-{secrets.token_hex(4)}"
    if not isinstance(name, str):
        raise InvalidInput("name must be a string", field="name")
    return name


__all__ = [
    "BY_KIND",
    "AddressTemplates",
    "CredentialTemplates",
    "MachineTemplates",
    "NetworkTemplates",
    "TemplateBinding",
    "VolumeTemplates",
    "name_for",
    "template_parameters",
]
