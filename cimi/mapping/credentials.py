"""Credential (DSP0263 5.14) over the engine's SSH keys.

DSP0263 leaves a Credential's content to the provider (cimi.md 3.1). Concord's
are SSH public keys, injected into the Machines created with them: ``key`` is
the public key line; ``username`` and ``password`` (in the table for the
credentials of other clouds) are refused. A Credential is created from a
CredentialTemplate (by reference, by value, or both), synchronously (201),
edited (name, description, properties) and deleted (200).
"""

from __future__ import annotations

import builtins
from typing import Any

from cimi.mapping.base import COMMON_EDITS, Binding, Context, Outcome, attr
from cimi.mapping.templates import name_for, template_parameters
from engine.compute.models import SSHKey
from engine.templates.models import TemplateKind


class Credentials(Binding):
    """Credential over SSHKey."""

    type_name = "Credential"
    path = ("credentials",)
    fields = (("key", attr("public_key")),)
    edits = COMMON_EDITS

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> SSHKey:
        return ctx.engine.keys.get(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[SSHKey]:
        return ctx.engine.keys.list(ctx.scope)

    def can_add(self, ctx: Context, parent: tuple[str, ...]) -> bool:
        return ctx.scope.account_id is not None

    def add(self, ctx: Context, parent: tuple[str, ...], value: dict[str, Any]) -> Outcome:
        params = template_parameters(ctx, value, "credentialTemplate", TemplateKind.CREDENTIAL)
        key = ctx.engine.templates.launch_credential(
            ctx.scope,
            name=name_for(value, "credential"),
            description=value.get("description"),
            properties=value.get("properties"),
            parameters=params,
        )
        return Outcome(key, location=self.href(ctx, key), created=True)

    def update(self, ctx: Context, obj: SSHKey, kwargs: dict[str, Any]) -> Any:
        return ctx.engine.keys.update(ctx.scope, obj.id, **kwargs)

    def can_delete(self, ctx: Context, obj: SSHKey) -> bool:
        return True

    def delete(self, ctx: Context, obj: SSHKey) -> Outcome:
        ctx.engine.keys.delete(ctx.scope, obj.id)
        return Outcome()


__all__ = ["Credentials"]
