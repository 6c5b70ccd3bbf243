"""High availability: watch hosts, fence the failed ones safely, restart HA guests elsewhere.

A host is checked every second through its libvirt connection; silent for a
while it is *suspect* (HA's own state: it still takes guests), silent longer
and silent on an independent second connection too it is *down* (:mod:`~engine.ha.health`,
:mod:`~engine.ha.monitor`). A down host is *fenced* by the fencer its
configuration names (:mod:`engine.drivers.fencing`); only a confirmed fence
lets its HA guests restart on other hosts, through the allocation pipeline,
in priority order, a whole host's at a time (:mod:`~engine.ha.recovery`,
:mod:`~engine.ha.restart`, :mod:`~engine.ha.starts`); guests without HA become
``error`` with a state message. An unconfirmed fence raises an alert, waits
for an operator and is tried again with back-off; a zone where too many hosts
fail at once waits for an operator
(:mod:`~engine.ha.storm`). The work is a persisted queue with claims and a
history (:mod:`~engine.ha.queue`), so that any number of processes share it
and a crash mid-recovery loses nothing.

The HA flag (for the renderings and templates): a guest is restarted
elsewhere when :attr:`Compute.ha_enabled` is true. It is copied from the
offering's :attr:`ComputeOffering.ha_enabled` when the guest is created,
unless the creation gives ``ha_enabled`` (``ComputeService.create``); after
that :func:`~engine.ha.flags.set_compute_ha` changes it (and the guest's
``ha_priority``), :func:`~engine.ha.flags.set_offering_ha` an offering's.
Both take the caller's scope and raise the engine's usual errors
(``InvalidInput``, ``NotFound``, ``PermissionDenied``).

Entry points:
    :func:`~engine.ha.flags.set_compute_ha`, :func:`~engine.ha.flags.set_offering_ha`;
    :class:`~engine.ha.agent.HaAgent` (runs :class:`~engine.ha.monitor.HostMonitor`
    and :class:`~engine.ha.recovery.Recovery`) with its
    :class:`~engine.ha.config.HaConfig`; the operator's functions in
    :mod:`~engine.ha.operator` (fencing configuration, ``confirm_fenced``,
    ``resume_zone``, status, history, metrics); a failed host's return
    (:func:`~engine.ha.returning.prepare_return`); the tables in
    :mod:`~engine.ha.models`.

Uses: tenancy, events, jobs, inventory, catalog, allocation, storage, compute.
"""
