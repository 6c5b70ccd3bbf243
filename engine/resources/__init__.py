"""Resources: what every tenant resource kind shares.

The owned-resource columns (:class:`~engine.resources.models.OwnedResource`,
:class:`~engine.resources.models.ZonedResource`), tags, client-chosen ids,
the checks of what clients send, the conditional state changes that keep one
job in flight per resource, the event emitters, the generic service of owned
resources that storage and network build on, and the registry of which rows
use a row of a lower capability (so that the catalog and the inventory refuse
to delete what is used without importing what uses it).

Entry points:
    :class:`~engine.resources.owned.OwnedResources`,
    :func:`~engine.resources.state.change_state`, :func:`~engine.resources.state.pin`,
    :func:`~engine.resources.emitters.resource_emitter`,
    :func:`~engine.resources.ids.choose_id`, :mod:`~engine.resources.checks`,
    :func:`~engine.resources.references.refers_to` and
    :func:`~engine.resources.references.count_users`,
    :class:`~engine.resources.tags.TagService`.

Uses: tenancy, events, jobs.
"""
