"""Job (DSP0263 5.17) over the engine's jobs: every asynchronous operation has one.

* ``state``: :data:`cimi.mapping.states.JOB` (``cancelled`` is STOPPED);
* ``targetResource``: the resource the job works on; a MachineVolume or
  MachineNetworkInterface that is gone (detached) is found through its
  events, else the reference is left out;
* ``affectedResources``: the target, or for a capture the new MachineImage;
* ``action`` (ambiguous in the sources, cimi.md 6.8): the CIMI operation
  the job carries out: ``add`` (creation, attach), ``delete`` (deletion,
  detach), ``edit`` (resize), or the action URI (``.../action/start``);
  engine actions CIMI has no word for use ``urn:x-concord:action:<name>``;
* ``returnCode``: 0 on success, 1 on failure, absent before the end;
* ``timeOfStatusChange``: when it ended, else started, else was queued;
* ``operations``: none. DSP0263 lets a Job be stopped, and the engine can
  cancel a queued job (:meth:`engine.jobs.service.JobService.cancel`), but a
  cancelled job leaves its target in its transitional state (a Machine
  CREATING for ever), so Concord does not offer it yet.

The JobCollection lists the newest :data:`JOB_WINDOW` jobs the caller can see.
"""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy as sa

from cimi.mapping import names, states
from cimi.mapping.base import Binding, Context, attr, public_id
from cimi.resources import ACTION_PREFIX
from engine.catalog.models import Image
from engine.compute.models import Compute
from engine.events.models import Event
from engine.jobs.models import Job, JobState
from engine.network.models import Network, NetworkInterface
from engine.storage.models import StorageAttachment, Volume

#: How many of the newest jobs the JobCollection shows (Job retention, cimi.md 6.8).
JOB_WINDOW = 1000
EXTENSION_PREFIX = "urn:x-concord:action:"

#: engine job verb -> CIMI action (None: the verb itself under EXTENSION_PREFIX).
VERBS = {
    "create": "add",
    "attach": "add",
    "delete": "delete",
    "detach": "delete",
    "resize": "edit",
    "start": "start",
    "resume": "start",
    "stop": "stop",
    "force_stop": "stop",
    "restart": "restart",
    "pause": "pause",
    "suspend": "suspend",
    "capture": "capture",
}
#: engine target type -> CIMI Collection key of the target.
TARGETS = {
    "compute": "machines",
    "volume": "volumes",
    "network": "networks",
    "image": "machineImages",
}
#: engine target type -> its model (its rows' public ids are the hrefs' ids).
MODELS: dict[str, type[Any]] = {
    "compute": Compute,
    "volume": Volume,
    "network": Network,
    "image": Image,
}
LINKS = {
    "network_interface": (NetworkInterface, "networkInterfaces"),
    "storage_attachment": (StorageAttachment, "volumes"),
}


def action_of(job: Job) -> str:
    """The CIMI ``action`` of a job."""
    verb = job.action.split(".", 1)[-1]
    name = VERBS.get(verb)
    if name is None:
        return EXTENSION_PREFIX + verb
    return name if name in ("add", "delete", "edit") else ACTION_PREFIX + name


def target_of(ctx: Context, job: Job) -> str | None:
    """The href of a job's target resource, if it can still be named."""
    if job.target_type in TARGETS:
        model = MODELS[job.target_type]
        if model is Image:
            return ctx.links.of("machineImages", names.href_id(ctx, Image, job.target_id))
        return ctx.links.of(TARGETS[job.target_type], public_id(ctx, model, job.target_id) or "")
    if job.target_type not in LINKS:
        return None
    model, key = LINKS[job.target_type]
    session = ctx.engine.session
    row = session.get(model, job.target_id)
    compute_id = row.compute_id if row is not None else None
    if compute_id is None:
        query = sa.select(Event.payload).where(Event.resource_id == job.target_id).limit(1)
        payload = session.scalar(query) or {}
        compute_id = payload.get("compute_id")
    if compute_id is None:
        return None
    machine = public_id(ctx, Compute, compute_id) or compute_id
    return ctx.links.of("machines", machine, key, public_id(ctx, model, job.target_id) or "")


def _affected(job: Job, ctx: Context, href: str) -> Any:
    if job.action == "compute.capture" and job.parameters.get("image_id"):
        image = names.href_id(ctx, Image, job.parameters["image_id"])
        return [{"href": ctx.links.of("machineImages", image)}]
    target = target_of(ctx, job)
    return [{"href": target}] if target else None


def _return_code(job: Job, ctx: Context, href: str) -> int | None:
    return {JobState.SUCCESS: 0, JobState.FAILED: 1}.get(job.state)


def _nested(job: Job, ctx: Context, href: str) -> Any:
    query = sa.select(Job.id).where(Job.parent_job_id == job.id).order_by(Job.created)
    return [{"href": ctx.links.of("jobs", i)} for i in ctx.engine.session.scalars(query)]


class Jobs(Binding):
    """Job (5.17) over Job."""

    type_name = "Job"
    path = ("jobs",)
    common = False
    fields = (
        ("created", attr("created")),
        ("updated", attr("updated")),
        ("state", lambda j, ctx, href: states.JOB[j.state]),
        ("targetResource", lambda j, ctx, href: {"href": t} if (t := target_of(ctx, j)) else None),
        ("affectedResources", _affected),
        ("action", lambda j, ctx, href: action_of(j)),
        ("returnCode", _return_code),
        ("progress", attr("progress")),
        ("statusMessage", attr("error")),
        ("timeOfStatusChange", lambda j, ctx, href: j.finished or j.started or j.created),
        (
            "parentJob",
            lambda j, ctx, href: (
                {"href": ctx.links.of("jobs", j.parent_job_id)} if j.parent_job_id else None
            ),
        ),
        ("nestedJobs", _nested),
    )

    def fetch(self, ctx: Context, ids: tuple[str, ...]) -> Job:
        return ctx.engine.jobs.get(ctx.scope, ids[0])

    def fetch_all(self, ctx: Context, parent: tuple[str, ...]) -> builtins.list[Job]:
        return ctx.engine.jobs.list_jobs(ctx.scope, limit=JOB_WINDOW)


__all__ = ["EXTENSION_PREFIX", "JOB_WINDOW", "Jobs", "action_of", "target_of"]
