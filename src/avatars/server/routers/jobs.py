"""Jobs: create, list, get, cancel, delete (protocol.md §2.3 "Jobs", §2.7, §5).

A job is created ``queued``; the dispatcher starts it (``pending``) once its dependencies
have finished and a worker is free. ``GET /jobs`` lists oldest first (clients 1.20 take the
tail as the latest); with ``limit`` it keeps the newest ``limit`` jobs, still oldest first, so
that both the 1.20 and the 1.25+ reading of "the last jobs" get the same ones.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from avatars.models import (
    BulkDeleteRequest,
    BulkDeleteResponse,
    JobCreateRequest,
    JobCreateResponse,
    JobFlowCreateRequest,
    JobFlowCreateResponse,
    JobKind,
    JobResponse,
    JobResponseList,
    JobStatus,
    ObjectType,
    Verb,
)
from avatars.resource_set import (
    PARAMETER_KINDS,
    AvatarizationDocument,
    Document,
    PrivacyMetricsDocument,
    ResourceSet,
    ResourceSetError,
    SignalMetricsDocument,
    parse_resource_set,
)
from avatars.server.db.models import Job
from avatars.server.db.models import ResourceSet as ResourceSetRow
from avatars.server.deps import (
    AppState,
    Caller,
    CurrentCaller,
    ReadSession,
    State,
    authenticate,
    run_db,
    state_of,
)
from avatars.server.errors import ApiError, not_found
from avatars.server.events import record_event
from avatars.server.jobs import lifecycle
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.routers.resources import visible_set

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=AUTH_ERRORS)

MAX_NAMES = 100
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


def visible_job(session: Session, caller: Caller, name: str) -> Job:
    job = session.get(Job, name)
    if job is None or not caller.can_see(job.user_id, job.organization_id):
        raise not_found("job")
    return job


def _wake(state: AppState) -> None:
    if state.dispatcher is not None:
        state.dispatcher.wake()


def _load_set(row: ResourceSetRow) -> ResourceSet:
    try:
        return parse_resource_set(row.yaml, check_references=False)
    except ResourceSetError as exc:  # pragma: no cover - stored sets were validated
        raise ApiError(422, str(exc)) from None


def _parameters_document(resources: ResourceSet, parameters_name: str) -> Document:
    doc = resources.parameters(parameters_name)
    if doc is not None:
        return doc
    other = resources.get(parameters_name)
    if other is not None:
        raise ApiError(
            422,
            f"document '{parameters_name}' is an {other.kind}, which this server cannot run as "
            f"a job",
        )
    runnable = ", ".join(d.name for d in resources if d.kind in PARAMETER_KINDS) or "none"
    raise ApiError(
        422,
        f"no parameters document named '{parameters_name}' in this set (it has: {runnable})",
    )


def _new_job(
    session: Session,
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
    )
    session.add(job)
    record_event(
        session,
        Verb.create,
        ObjectType.job,
        object_id=job.name,
        object_name=f"{row.display_name}/{doc.name}",
        user_id=caller.user_id,
        organization_id=caller.organization_id,
        ip=caller.ip,
    )
    return job


def _created(job: Job) -> JobCreateResponse:
    return JobCreateResponse(name=job.name, Location=f"/jobs/{job.name}")


@router.post(
    "",
    response_model=JobCreateResponse,
    responses=errors(404, 422),
    summary="Create a job from a parameters document of a resource set",
)
def create_job(body: JobCreateRequest, state: State, caller: CurrentCaller) -> JobCreateResponse:
    with state.db.writing() as session:
        row = visible_set(session, caller, body.set_name)
        doc = _parameters_document(_load_set(row), body.parameters_name)
        depends_on: list[str] = []
        for reference in body.depends_on or []:
            name = lifecycle.job_name_of(reference)
            parent = session.get(Job, name) if name else None
            if parent is None or not caller.can_see(parent.user_id, parent.organization_id):
                raise ApiError(422, f"depends_on: no job named '{reference}'")
            if name not in depends_on:
                depends_on.append(name)
        job = _new_job(session, caller, row, doc, depends_on)
        response = _created(job)
    _wake(state)
    return response


@router.post(
    "/flow",
    response_model=JobFlowCreateResponse,
    responses=errors(404, 422),
    summary="Create every job a resource set describes, with their dependencies",
)
def create_job_flow(
    body: JobFlowCreateRequest, state: State, caller: CurrentCaller
) -> JobFlowCreateResponse:
    with state.db.writing() as session:
        row = visible_set(session, caller, body.set_name)
        resources = _load_set(row)
        created: list[JobCreateResponse] = []
        by_document: dict[str, Job] = {}
        metrics: list[str] = []
        order = [
            "AvatarAdviceParameters",
            "AvatarParameters",
            "AvatarSignalMetricsParameters",
            "AvatarPrivacyMetricsParameters",
            "AvatarReportParameters",
        ]
        for kind in order:
            for doc in resources.of_kind(kind):
                depends: list[str] = []
                if isinstance(doc, PrivacyMetricsDocument | SignalMetricsDocument):
                    ref = doc.spec.avatarization_ref
                    standard = by_document.get(ref) if ref else None
                    if standard is None and ref is None:
                        standards = [
                            j
                            for d, j in by_document.items()
                            if isinstance(resources.parameters(d), AvatarizationDocument)
                        ]
                        standard = standards[0] if len(standards) == 1 else None
                    depends = [standard.name] if standard is not None else []
                elif kind == "AvatarReportParameters":
                    depends = list(metrics)
                job = _new_job(session, caller, row, doc, depends)
                by_document[doc.name] = job
                if kind in ("AvatarSignalMetricsParameters", "AvatarPrivacyMetricsParameters"):
                    metrics.append(job.name)
                created.append(_created(job))
        if not created:
            raise ApiError(422, "this resource set has no parameters document to run")
    _wake(state)
    return JobFlowCreateResponse(jobs=created)


@router.get(
    "",
    response_model=JobResponseList,
    responses=errors(400),
    summary="List the caller's jobs, oldest first",
)
def get_jobs(
    session: ReadSession,
    caller: CurrentCaller,
    kind: Annotated[list[JobKind] | None, Query()] = None,
    include_deleted: bool = False,
    display_name: Annotated[str | None, Query(max_length=1024)] = None,
    set_name: uuid.UUID | None = None,
    names: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> JobResponseList:
    query = select(Job).where(caller.scope(Job))
    if not include_deleted:
        query = query.where(Job.deleted_at.is_(None))
    if kind:
        query = query.where(Job.kind.in_([k.value for k in kind]))
    if display_name is not None:
        query = query.where(Job.display_name == display_name)
    if set_name is not None:
        query = query.where(Job.set_name == set_name)
    if names:
        distinct = set(names)
        if len(distinct) > MAX_NAMES:
            raise ApiError(400, f"at most {MAX_NAMES} names at once (got {len(distinct)})")
        query = query.where(Job.name.in_(distinct))
    if limit is not None:
        newest = list(
            session.scalars(query.order_by(Job.created_at.desc(), Job.name.desc()).limit(limit))
        )
        jobs = list(reversed(newest))
    else:
        jobs = list(session.scalars(query.order_by(Job.created_at, Job.name)))
    return JobResponseList(jobs=[lifecycle.to_wire(j) for j in jobs])


@router.get(
    "/last_set",
    response_model=JobResponseList,
    summary="The jobs of the caller's most recent resource set that has jobs",
)
def get_last_jobs(session: ReadSession, caller: CurrentCaller) -> JobResponseList:
    latest = session.scalars(
        select(Job.set_name)
        .where(caller.scope(Job), Job.deleted_at.is_(None))
        .order_by(Job.created_at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return JobResponseList(jobs=[])
    jobs = session.scalars(
        select(Job)
        .where(caller.scope(Job), Job.deleted_at.is_(None), Job.set_name == latest)
        .order_by(Job.created_at, Job.name)
    )
    return JobResponseList(jobs=[lifecycle.to_wire(j) for j in jobs])


@router.post(
    "/bulk-delete",
    response_model=BulkDeleteResponse,
    responses=errors(422),
    summary="Delete up to 100 jobs",
)
def bulk_delete_jobs(
    body: BulkDeleteRequest, state: State, caller: CurrentCaller
) -> BulkDeleteResponse:
    deleted: list[JobResponse] = []
    failed: list[str] = []
    for name in body.job_names:
        try:
            deleted.append(_delete(state, caller, name))
        except ApiError:
            failed.append(name)
    return BulkDeleteResponse(deleted_jobs=deleted, failed_jobs=failed)


@router.get(
    "/{job_name}",
    response_model=JobResponse,
    responses={**AUTH_ERRORS, **errors(404)},
    summary="One job",
)
async def get_job_status(job_name: str, request: Request) -> Response:
    # The endpoint clients poll (benchmarks/api_latency.py): authentication and lookup on one
    # connection, run inline on SQLite (see deps.run_db), serialized once; no dependency at all.
    state = state_of(request)

    def load() -> bytes:
        with state.db.read_engine.connect() as connection:
            caller = authenticate(request, connection)
            row = connection.execute(_JOB_LOOKUP, {"name": job_name}).first()
        if row is None or not caller.can_see(row.user_id, row.organization_id):
            raise not_found("job")
        return lifecycle.to_wire(row).model_dump_json().encode()

    return Response(await run_db(state, load), media_type="application/json")


def _delete(state: AppState, caller: Caller, job_name: str) -> JobResponse:
    with state.db.writing() as session:
        job = visible_job(session, caller, job_name)
        if job.deleted_at is not None:
            raise not_found("job")
        lifecycle.request_cancel(session, job, f"cancelled: deleted by {caller.email}")
        job.deleted_at = lifecycle.utcnow()
        record_event(
            session,
            Verb.delete,
            ObjectType.job,
            object_id=job.name,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
        session.flush()
        response = lifecycle.to_wire(job)
        prefix = lifecycle.results_prefix_of(job)
    # A running job's worker sees the deletion when it ends and removes what it wrote.
    lifecycle.delete_results(state.storage, job, prefix)
    return response


@router.delete(
    "/{job_name}", response_model=JobResponse, responses=errors(404), summary="Delete a job"
)
def delete_job(job_name: str, state: State, caller: CurrentCaller) -> JobResponse:
    return _delete(state, caller, job_name)


@router.post(
    "/{job_name}/cancel",
    response_model=JobResponse,
    responses=errors(404, 409),
    summary="Cancel a job: at once if queued, at its next progress report if running",
)
def cancel_job(job_name: str, request: Request, state: State, caller: CurrentCaller) -> JobResponse:
    with state.db.writing() as session:
        job = visible_job(session, caller, job_name)
        if job.status in lifecycle.TERMINAL:
            raise ApiError(409, f"the job is already over ({job.status})")
        lifecycle.request_cancel(session, job, f"cancelled by {caller.email}")
        record_event(
            session,
            Verb.cancel,
            ObjectType.job,
            object_id=job.name,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
        response = lifecycle.to_wire(job)
    _wake(state)
    return response
