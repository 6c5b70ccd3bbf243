"""Catalog: what resources are made from.

Images (CloudStack's templates; OCCI os_tpl, CIMI MachineImage) and the
compute, disk and network offerings (OCCI resource_tpl, CIMI
MachineConfiguration), public or owned by a tenant, and the look-ups that
every creating service makes of a zone, an offering and an image.

Entry points:
    :class:`~engine.catalog.service.CatalogService`,
    :mod:`~engine.catalog.lookups`, :func:`~engine.catalog.image_events.emit_image`;
    the tables in :mod:`~engine.catalog.models`.

Uses: tenancy (owners, the ``templates`` limit), events (``image.*``, read by
usage accounting), resources, inventory (zones, host tags).
"""
