"""Jobs: create (one, or every job of a set as a flow), list and filter, cancel, delete.

A job is created ``queued``; the dispatcher (:mod:`avatars.server.jobs.dispatcher`) starts it
once its dependencies have finished and a worker is free. Listings are oldest first (clients
1.20 take the tail as the latest); with ``limit`` they keep the newest ``limit`` jobs, still
oldest first, so that both the 1.20 and the 1.25+ reading of "the last jobs" get the same ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from avatars.protocol.documents import (
    PARAMETER_KINDS,
    AdviceDocument,
    AvatarizationDocument,
    Document,
    PrivacyMetricsDocument,
    ReportDocument,
    ResourceSet,
    ResourceSetError,
    SignalMetricsDocument,
    parse_resource_set,
)
from avatars.protocol.enums import JobKind, JobStatus, ObjectType, Verb
from avatars.server.db.models import Job
from avatars.server.db.models import ResourceSet as ResourceSetRow
from avatars.server.jobs import lifecycle
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import Conflict, InvalidInput, InvalidRequest, NotFound
from avatars.server.services.events import record
from avatars.server.services.resources import visible_set

#: At most this many names in one ``names`` filter.
MAX_NAMES = 100
#: The order a flow creates jobs in: each kind may depend on the kinds before it.
FLOW_ORDER = (
    AdviceDocument.KIND,
    AvatarizationDocument.KIND,
    SignalMetricsDocument.KIND,
    PrivacyMetricsDocument.KIND,
    ReportDocument.KIND,
)


def visible_job(session: Session, caller: Caller, name: str) -> Job:
    job = session.get(Job, name)
    if job is None or not caller.can_see(job.user_id, job.organization_id):
        raise NotFound.of("job")
    return job


def get_job(ctx: Context, caller: Caller, name: str) -> Job:
    with ctx.db.reading() as session:
        return visible_job(session, caller, name)


#: The columns ``lifecycle.to_wire`` reads, and visibility needs: a plain row is enough.
_JOB_LOOKUP = select(
    Job.name,
    Job.set_name,
    Job.parameters_name,
    Job.display_name,
    Job.created_at,
    Job.kind,
    Job.status,
    Job.exception,
    Job.progress,
    Job.phase,
    Job.phase_done,
    Job.phase_total,
    Job.deleted_at,
    Job.user_id,
    Job.organization_id,
).where(Job.name == bindparam("name"))


def job_status(connection: Connection | Session, caller: Caller, name: str) -> Any:
    """The status columns of a job the caller may see, as a plain row (the endpoint clients
    poll: no ORM object, one query on the connection that authenticated the caller)."""
    row = connection.execute(_JOB_LOOKUP, {"name": name}).first()
    if row is None or not caller.can_see(row.user_id, row.organization_id):
        raise NotFound.of("job")
    return row


# -- creation --------------------------------------------------------------------------------------


def _load_set(row: ResourceSetRow) -> ResourceSet:
    try:
        return parse_resource_set(row.yaml, check_references=False)
    except ResourceSetError as exc:  # pragma: no cover - stored sets were validated
        raise InvalidInput(str(exc)) from None


def _parameters_document(resources: ResourceSet, parameters_name: str) -> Document:
    doc = resources.parameters(parameters_name)
    if doc is not None:
        return doc
    other = resources.get(parameters_name)
    if other is not None:
        raise InvalidInput(
            f"document '{parameters_name}' is an {other.kind}, which this server cannot run as "
            f"a job"
        )
    runnable = ", ".join(d.name for d in resources if d.kind in PARAMETER_KINDS) or "none"
    raise InvalidInput(
        f"no parameters document named '{parameters_name}' in this set (it has: {runnable})"
    )


def _new_job(
    session: Session,
    ctx: Context,
    caller: Caller,
    row: ResourceSetRow,
    doc: Document,
    depends_on: list[str],
) -> Job:
    job = Job(
        name=str(uuid.uuid4()),
        set_name=row.id,
        user_id=caller.user_id,
        organization_id=caller.organization_id,
        parameters_name=doc.name,
        display_name=row.display_name,
        kind=lifecycle.KIND_OF_DOCUMENT[doc.kind].value,
        status=JobStatus.queued.value,
        exception="",
        progress=0.0,
        depends_on=depends_on,
        outputs={},
        created_at=ctx.now(),
    )
    session.add(job)
    record(
        session,
        ctx,
        caller,
        Verb.create,
        ObjectType.job,
        object_id=job.name,
        object_name=f"{row.display_name}/{doc.name}",
    )
    return job


def create_job(
    ctx: Context,
    caller: Caller,
    *,
    set_name: uuid.UUID,
    parameters_name: str,
    depends_on: Iterable[str] = (),
) -> Job:
    """A queued job running the parameters document ``parameters_name`` of a set, after the
    jobs of ``depends_on`` (names, or ``/jobs/<name>`` locations)."""
    with ctx.db.writing() as session:
        row = visible_set(session, caller, set_name)
        doc = _parameters_document(_load_set(row), parameters_name)
        parents: list[str] = []
        for reference in depends_on:
            name = lifecycle.job_name_of(reference)
            parent = session.get(Job, name) if name else None
            if parent is None or not caller.can_see(parent.user_id, parent.organization_id):
                raise InvalidInput(f"depends_on: no job named '{reference}'")
            if name not in parents:
                parents.append(name)
        job = _new_job(session, ctx, caller, row, doc, parents)
    ctx.jobs_changed()
    return job


def _flow_dependencies(
    doc: Document, resources: ResourceSet, by_document: dict[str, Job], metrics: list[str]
) -> list[str]:
    """The jobs a flow's job for ``doc`` waits for: a metrics job its standard job (named by
    ``avatarization_ref``, or the set's only one), a report every metrics job."""
    if isinstance(doc, PrivacyMetricsDocument | SignalMetricsDocument):
        ref = doc.spec.avatarization_ref
        standard = by_document.get(ref) if ref else None
        if standard is None and ref is None:
            standards = [
                job
                for name, job in by_document.items()
                if isinstance(resources.parameters(name), AvatarizationDocument)
            ]
            standard = standards[0] if len(standards) == 1 else None
        return [standard.name] if standard is not None else []
    if isinstance(doc, ReportDocument):
        return list(metrics)
    return []


def create_flow(ctx: Context, caller: Caller, set_name: uuid.UUID) -> list[Job]:
    """Every job a set describes, with their dependencies, in :data:`FLOW_ORDER`."""
    with ctx.db.writing() as session:
        row = visible_set(session, caller, set_name)
        resources = _load_set(row)
        created: list[Job] = []
        by_document: dict[str, Job] = {}
        metrics: list[str] = []
        for kind in FLOW_ORDER:
            for doc in resources.of_kind(kind):
                depends = _flow_dependencies(doc, resources, by_document, metrics)
                job = _new_job(session, ctx, caller, row, doc, depends)
                by_document[doc.name] = job
                if isinstance(doc, PrivacyMetricsDocument | SignalMetricsDocument):
                    metrics.append(job.name)
                created.append(job)
        if not created:
            raise InvalidInput("this resource set has no parameters document to run")
    ctx.jobs_changed()
    return created


# -- listings --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobFilter:
    """What :func:`list_jobs` keeps; every field left empty keeps everything."""

    kinds: Sequence[JobKind] = ()
    include_deleted: bool = False
    display_name: str | None = None
    set_name: uuid.UUID | None = None
    names: Sequence[str] = ()
    #: Only the newest ``limit`` jobs (still listed oldest first).
    limit: int | None = None


def list_jobs(ctx: Context, caller: Caller, where: JobFilter | None = None) -> list[Job]:
    """The jobs the caller may see, oldest first."""
    where = where or JobFilter()
    query = select(Job).where(caller.scope(Job))
    if not where.include_deleted:
        query = query.where(Job.deleted_at.is_(None))
    if where.kinds:
        query = query.where(Job.kind.in_([JobKind(k).value for k in where.kinds]))
    if where.display_name is not None:
        query = query.where(Job.display_name == where.display_name)
    if where.set_name is not None:
        query = query.where(Job.set_name == where.set_name)
    if where.names:
        distinct = set(where.names)
        if len(distinct) > MAX_NAMES:
            raise InvalidRequest(f"at most {MAX_NAMES} names at once (got {len(distinct)})")
        query = query.where(Job.name.in_(distinct))
    with ctx.db.reading() as session:
        if where.limit is not None:
            newest = query.order_by(Job.created_at.desc(), Job.name.desc()).limit(where.limit)
            return list(reversed(list(session.scalars(newest))))
        return list(session.scalars(query.order_by(Job.created_at, Job.name)))


def last_set_jobs(ctx: Context, caller: Caller) -> list[Job]:
    """The jobs of the caller's most recent resource set that has jobs, oldest first."""
    live = (caller.scope(Job), Job.deleted_at.is_(None))
    with ctx.db.reading() as session:
        latest = session.scalars(
            select(Job.set_name).where(*live).order_by(Job.created_at.desc()).limit(1)
        ).first()
        if latest is None:
            return []
        query = select(Job).where(*live, Job.set_name == latest)
        return list(session.scalars(query.order_by(Job.created_at, Job.name)))


# -- cancel and delete -----------------------------------------------------------------------------


def cancel_job(ctx: Context, caller: Caller, name: str) -> Job:
    """Stop a job: at once if queued (with the queued jobs waiting on it), at its next progress
    report if running. :class:`Conflict` if it is already over."""
    with ctx.db.writing() as session:
        job = visible_job(session, caller, name)
        if job.status in lifecycle.TERMINAL:
            raise Conflict(f"the job is already over ({job.status})")
        lifecycle.request_cancel(session, job, f"cancelled by {caller.email}", now=ctx.now())
        record(session, ctx, caller, Verb.cancel, ObjectType.job, object_id=job.name)
    ctx.jobs_changed()
    return job


def delete_job(ctx: Context, caller: Caller, name: str) -> Job:
    """Delete a job (cancelling it if needed) and its results."""
    now = ctx.now()
    with ctx.db.writing() as session:
        job = visible_job(session, caller, name)
        if job.deleted_at is not None:
            raise NotFound.of("job")
        lifecycle.request_cancel(session, job, f"cancelled: deleted by {caller.email}", now=now)
        job.deleted_at = now
        record(session, ctx, caller, Verb.delete, ObjectType.job, object_id=job.name)
        session.flush()
        prefix = lifecycle.results_prefix_of(job)
    # A running job's worker sees the deletion when it ends and removes what it wrote.
    lifecycle.delete_results(ctx.storage, job, prefix)
    return job


def delete_jobs(ctx: Context, caller: Caller, names: Iterable[str]) -> tuple[list[Job], list[str]]:
    """Delete several jobs: ``(deleted, names that could not be deleted)``."""
    deleted: list[Job] = []
    failed: list[str] = []
    for name in names:
        try:
            deleted.append(delete_job(ctx, caller, name))
        except NotFound:
            failed.append(name)
    return deleted, failed
