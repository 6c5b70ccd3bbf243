"""Federation: what a Concord site shares with the clouds it federates with.

Autonomous sites federate through thin planes around their APIs (see
docs/federation.rst). Built here: identity (tokens of trusted OpenID Connect
issuers sign federated users in, placed into local tenants by mapping rules
the operator writes as data, and Keystone-style tokens for OCCI clients of
the EGI era), site discovery (what the site offers, for GLUE documents),
image lists, the accounting repository (trusted sites' APEL records and
their monthly summaries), and monitoring (a registry's probes of its members'
endpoints and the GLUE health derived from them).

Entry points:
    :class:`~engine.federation.identity.FederatedIdentityService` (trusted
    issuers, mapping rules, sign-in); :class:`~engine.federation.mapping.MappingRules`;
    :class:`~engine.federation.tokens.TokenService`;
    :func:`~engine.federation.site.describe_site`;
    :class:`~engine.federation.image_lists.ImageListService` (subscriptions),
    :func:`~engine.federation.image_list_publish.signed_site_list` (publishing),
    :mod:`~engine.federation.image_fetch` (subscribed images' bytes, verified);
    :class:`~engine.federation.accounting.AccountingRepository`;
    :class:`~engine.federation.monitoring.MonitorService`; the
    schedule's claims in :mod:`~engine.federation.schedule`; the tables in
    :mod:`~engine.federation.models`.

Uses: tenancy (the tenants federated users land in, quotas of shares),
inventory (the site's size), catalog (public images and offerings),
compute (guest counts), usage (the APEL record format).
"""
