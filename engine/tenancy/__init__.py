"""Tenancy: who owns what, and how much they may have.

Domains (a tree), accounts in a domain, users of an account, projects that
users share, the credentials users sign in with (passwords, API keys) and the
limits and usage counters every resource is charged against (CloudStack's
resource limits; DESIGN.md "Behaviour": a state change and its quota
accounting commit in one transaction).

Entry points:
    :class:`~engine.tenancy.service.TenancyService` (domains, accounts, users,
    projects), :class:`~engine.tenancy.credentials.CredentialService`
    (sign-in, API keys), :class:`~engine.tenancy.quotas.QuotaService` (limits,
    charges and releases, in the lock order written there),
    :class:`~engine.tenancy.passwords.PasswordHasher`,
    :class:`~engine.tenancy.server_keys.ServerKeys` (API-key secrets
    encrypted at rest); the tables in
    :mod:`~engine.tenancy.models` and :mod:`~engine.tenancy.quota_models`.

Uses: no other capability (only the base modules: db, errors, scope,
naming, prepared).
"""
