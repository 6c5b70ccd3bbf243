"""Usage: exact usage records from the event log, rated, reported and exported.

The engine records an event in the same transaction as every lifecycle
change (:mod:`engine.events`). Usage accounting folds those events, period
by period, into intervals of what each resource held (a running guest, its
vCPUs and memory, a volume's GiB, an address...) and writes one record per
resource, usage type and offering per period: the exact integral of the
resource's state over the period, to the second. Periods are claimed by a
conditional insert, so several aggregators never write a period twice, and
each is one transaction, so a crash leaves no partial period.

Entry points:
    :func:`~engine.usage.runner.run_aggregation`,
    :func:`~engine.usage.aggregate.aggregate_period`,
    :func:`~engine.usage.aggregate.recompute`,
    :class:`~engine.usage.reports.UsageReports`,
    :class:`~engine.usage.meters.MeterService`,
    :class:`~engine.usage.rating.TariffService`,
    :mod:`~engine.usage.export`, :mod:`~engine.usage.types`;
    the tables in :mod:`~engine.usage.models`.

Uses: events (the log it reads), tenancy (domains, for reports over a
subtree, and who may read whose usage).
"""
