"""Compute: guests, their links, and keeping the records true to the hypervisors.

Creating guests from an image and an offering (placement, quota, a root disk
of its own), their power actions and capture, their links to volumes
(:mod:`~engine.compute.attachments`) and networks
(:mod:`~engine.compute.interfaces`), the SSH keys injected into them, the
jobs that drive libvirt, and reconciliation of the records with what each
host reports (:mod:`~engine.compute.reconcile`, :mod:`~engine.compute.monitor`).

Entry points:
    :class:`~engine.compute.service.ComputeService`,
    :class:`~engine.compute.attachments.AttachmentService`,
    :class:`~engine.compute.interfaces.InterfaceService`,
    :class:`~engine.compute.keys.KeyService`,
    :class:`~engine.compute.groups.PlacementGroupService` (affinity and
    anti-affinity groups),
    :func:`~engine.compute.handlers.register` (the compute and link jobs),
    :func:`~engine.compute.reconcile.reconcile`,
    :class:`~engine.compute.monitor.EventMonitor`,
    :class:`~engine.compute.maintenance.MaintenanceService` (draining hosts),
    :mod:`~engine.compute.crash_restart` (restarting crashed guests); the tables in
    :mod:`~engine.compute.models`.

Uses: tenancy, events, jobs, resources, inventory, catalog, allocation,
storage, network.
"""
