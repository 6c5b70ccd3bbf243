"""Jobs and asynchronous operations (DSP0263 4.2.1.7, 5.17)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.cases import CIMI_RENDERINGS, case
from conformance.cases.cimi.machines import is_integer
from conformance.cases.context import CaseContext
from conformance.client import Exchange
from conformance.formats.cimi import JSON

JOB_STATES = ("QUEUED", "RUNNING", "FAILED", "SUCCESS", "STOPPING", "STOPPED")
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")


@dataclass(frozen=True)
class OwnJob:
    """An asynchronous action of the run, and what it should lead to."""

    exchange: Exchange
    job: str
    machine: str
    end: str


def need_jobs(ctx: CaseContext) -> str:
    """The jobs collection URL, or a skip when the provider offers no Jobs."""
    return ctx.cimi.collection_url("jobs")


def own_job(ctx: CaseContext) -> OwnJob:
    """Stop or start the run's Machine and keep the Job the server answers with."""

    def make() -> OwnJob:
        need_jobs(ctx)
        machine = ctx.cimi.fixture("machine")
        name, end = (
            ("stop", "STOPPED") if ctx.cimi.state(machine) == "STARTED" else ("start", "STARTED")
        )
        exchange = ctx.cimi.invoke(machine, name)
        job = exchange.response.header("CIMI-Job-URI")
        if exchange.status != 202 or not job:
            ctx.skip(f"the {name} action was not asynchronous with a Job ({exchange.summary()})")
        return OwnJob(exchange, ctx.cimi.resolve(job), machine, end)

    return ctx.session.memo("an asynchronous action with a Job", make)


def sample_job(ctx: CaseContext) -> str:
    """A Job to read: the run's own in the full profile, else the first listed."""
    if ctx.full:
        return own_job(ctx).job
    need_jobs(ctx)
    return ctx.cimi.first("jobs")


@case(
    "cimi.job.attributes",
    "A Job has id, state, targetResource, action, progress, times",
    requirements=["DSP0263/job.attributes"],
    renderings=CIMI_RENDERINGS,
)
def attributes(ctx: CaseContext) -> None:
    exchange, job = ctx.cimi.read(sample_job(ctx), ctx.media)
    ctx.check(job.get("id") and job.get("state"), "a Job without id or state", exchange)
    ctx.check(job.href("targetResource"), "targetResource is not a reference", exchange)
    ctx.check(job.get("action"), "the Job has no action", exchange)
    progress = job.get("progress")
    if progress is not None:
        ctx.check(
            is_integer(progress, ctx.media) and 0 <= int(progress) <= 100,
            f"progress is {progress!r}",
            exchange,
        )
    changed = job.get("timeOfStatusChange")
    if changed is not None:
        ctx.check(
            isinstance(changed, str) and DATETIME.match(changed),
            f"timeOfStatusChange is {changed!r}",
            exchange,
        )


@case("cimi.job.state", "Job.state takes a value of the spec", requirements=["DSP0263/job.state"])
def state(ctx: CaseContext) -> None:
    exchange, job = ctx.cimi.read(sample_job(ctx))
    ctx.check(job.get("state") in JOB_STATES, f"state is {job.get('state')!r}", exchange)


@case(
    "cimi.job.target",
    "A Job's targetResource is the resource acted on",
    requirements=["DSP0263/job.target"],
    profile="full",
)
def target(ctx: CaseContext) -> None:
    own = own_job(ctx)
    exchange, job = ctx.cimi.read(own.job)
    href = job.href("targetResource")
    ctx.check(
        href and ctx.cimi.resolve(href) == own.machine,
        f"targetResource is {href!r}, not {own.machine}",
        exchange,
    )


@case(
    "cimi.job.completes",
    "A Job finishes, and after SUCCESS its effect is visible",
    requirements=["DSP0263/job.completes"],
    profile="full",
)
def completes(ctx: CaseContext) -> None:
    own = own_job(ctx)
    job = ctx.cimi.wait_job(own.job)
    if job.get("state") == "SUCCESS":
        now = ctx.cimi.state(own.machine)
        ctx.check(now == own.end, f"the Job succeeded but the Machine is {now}, not {own.end}")


@case(
    "cimi.job.listed",
    "A Job is an entry of the jobs collection",
    requirements=["DSP0263/job.listed"],
    profile="full",
)
def listed(ctx: CaseContext) -> None:
    own = own_job(ctx)
    exchange, document = ctx.cimi.collection("jobs")
    ids = [ctx.cimi.resolve(str(e.get("id"))) for e in document.entries]
    ctx.check(own.job in ids, f"{own.job} is not in the jobs collection", exchange)


def _accepted(ctx: CaseContext) -> list[Exchange]:
    found = [e for e in ctx.session.recorder.of("cimi") if e.status == 202]
    if not found:
        ctx.skip("no operation of the run was answered 202")
    return found


@case(
    "cimi.final.job-header",
    "Every 202 of the run named its Job in CIMI-Job-URI",
    requirements=["DSP0263/job.header"],
    phase="final",
)
def job_header(ctx: CaseContext) -> None:
    document = ctx.cimi.cep(JSON)[1]
    if document.href("jobs") is None:
        ctx.skip("the provider offers no Jobs")
    for exchange in _accepted(ctx):
        ctx.check(
            exchange.response.header("CIMI-Job-URI"),
            f"{exchange.summary()} without CIMI-Job-URI",
            exchange,
        )


@case(
    "cimi.final.job-location",
    "Every 202 to a creation gave the new resource's Location",
    requirements=["DSP0263/job.location"],
    phase="final",
)
def job_location(ctx: CaseContext) -> None:
    creations = [e for e in _accepted(ctx) if b"Create" in e.request.body]
    if not creations:
        ctx.skip("no creation was answered 202")
    for exchange in creations:
        ctx.check(
            exchange.response.header("Location"), f"{exchange.summary()} without Location", exchange
        )
