"""Jobs: create, list, get, cancel, delete (protocol.md §2.3 "Jobs", §2.7, §5).

The rules (dependencies, flows, listing order, cancellation) are in
:mod:`avatars.server.services.jobs`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from avatars.protocol.enums import JobKind
from avatars.protocol.wire import (
    BulkDeleteRequest,
    BulkDeleteResponse,
    JobCreateRequest,
    JobCreateResponse,
    JobFlowCreateRequest,
    JobFlowCreateResponse,
    JobResponse,
    JobResponseList,
)
from avatars.server.db.models import Job
from avatars.server.deps import CurrentCaller, State, authenticate, run_db, state_of
from avatars.server.jobs.lifecycle import to_wire
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import jobs

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=AUTH_ERRORS)


def _created(job: Job) -> JobCreateResponse:
    return JobCreateResponse(name=job.name, Location=f"/jobs/{job.name}")


@router.post(
    "",
    response_model=JobCreateResponse,
    responses=errors(404, 422),
    summary="Create a job from a parameters document of a resource set",
)
def create_job(body: JobCreateRequest, state: State, caller: CurrentCaller) -> JobCreateResponse:
    job = jobs.create_job(
        state,
        caller,
        set_name=body.set_name,
        parameters_name=body.parameters_name,
        depends_on=body.depends_on or [],
    )
    return _created(job)


@router.post(
    "/flow",
    response_model=JobFlowCreateResponse,
    responses=errors(404, 422),
    summary="Create every job a resource set describes, with their dependencies",
)
def create_job_flow(
    body: JobFlowCreateRequest, state: State, caller: CurrentCaller
) -> JobFlowCreateResponse:
    return JobFlowCreateResponse(
        jobs=[_created(job) for job in jobs.create_flow(state, caller, body.set_name)]
    )


@router.get(
    "",
    response_model=JobResponseList,
    responses=errors(400),
    summary="List the caller's jobs, oldest first",
)
def get_jobs(
    state: State,
    caller: CurrentCaller,
    kind: Annotated[list[JobKind] | None, Query()] = None,
    include_deleted: bool = False,
    display_name: Annotated[str | None, Query(max_length=1024)] = None,
    set_name: uuid.UUID | None = None,
    names: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> JobResponseList:
    where = jobs.JobFilter(
        kinds=kind or (),
        include_deleted=include_deleted,
        display_name=display_name,
        set_name=set_name,
        names=names or (),
        limit=limit,
    )
    return JobResponseList(jobs=[to_wire(j) for j in jobs.list_jobs(state, caller, where)])


@router.get(
    "/last_set",
    response_model=JobResponseList,
    summary="The jobs of the caller's most recent resource set that has jobs",
)
def get_last_jobs(state: State, caller: CurrentCaller) -> JobResponseList:
    return JobResponseList(jobs=[to_wire(j) for j in jobs.last_set_jobs(state, caller)])


@router.post(
    "/bulk-delete",
    response_model=BulkDeleteResponse,
    responses=errors(422),
    summary="Delete up to 100 jobs",
)
def bulk_delete_jobs(
    body: BulkDeleteRequest, state: State, caller: CurrentCaller
) -> BulkDeleteResponse:
    deleted, failed = jobs.delete_jobs(state, caller, body.job_names)
    return BulkDeleteResponse(deleted_jobs=[to_wire(j) for j in deleted], failed_jobs=failed)


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
        with state.db.connection() as connection:
            caller = authenticate(request, connection)
            row = jobs.job_status(connection, caller, job_name)
        return to_wire(row).model_dump_json().encode()

    return Response(await run_db(state, load), media_type="application/json")


@router.delete(
    "/{job_name}", response_model=JobResponse, responses=errors(404), summary="Delete a job"
)
def delete_job(job_name: str, state: State, caller: CurrentCaller) -> JobResponse:
    return to_wire(jobs.delete_job(state, caller, job_name))


@router.post(
    "/{job_name}/cancel",
    response_model=JobResponse,
    responses=errors(404, 409),
    summary="Cancel a job: at once if queued, at its next progress report if running",
)
def cancel_job(job_name: str, state: State, caller: CurrentCaller) -> JobResponse:
    return to_wire(jobs.cancel_job(state, caller, job_name))
