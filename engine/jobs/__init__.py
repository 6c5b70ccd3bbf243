"""Jobs: the persisted queue of work on hypervisors, and the workers that run it.

A mutating request records its intent and a job in one transaction; a worker
claims the job with a row lock (any number of workers in any number of
processes), runs its handler, and records the outcome. A worker that dies
leaves a job that another resumes or fails (DESIGN.md "Behaviour": a crash
loses nothing).

Entry points:
    :class:`~engine.jobs.service.JobService` (submit, read, cancel, claim),
    :class:`~engine.jobs.worker.Worker`, :class:`~engine.jobs.worker.HandlerRegistry`
    and :class:`~engine.jobs.worker.JobHandler` (what capabilities register),
    :func:`~engine.jobs.worker.notify`; the table in :mod:`~engine.jobs.models`.

Uses: tenancy (job owners), events.
"""
