"""Templates: saved creation requests, launched into computes, volumes and networks.

CIMI's MachineTemplate, VolumeTemplate and NetworkTemplate (DSP0263 §5.11,
§5.16, §5.22): a tenant keeps the parameters of a creation and launches them
later, through the same services as a direct creation.

Entry points:
    :class:`~engine.templates.service.TemplateService`; the table in
    :mod:`~engine.templates.models`.

Uses: tenancy, jobs, resources, catalog, storage, network, compute.
"""
