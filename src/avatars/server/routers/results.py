"""Results and storage access (protocol.md §2.3 "Results and storage access", §3.4, §5.4).

Data never flows through these endpoints: they hand out URLs and S3 credentials, and the
client moves the bytes through the ``/storage`` S3 endpoint.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session

from avatars.models import FileAccess, JobStatus
from avatars.server import files
from avatars.server.access import current_credentials, may_use_bucket
from avatars.server.db.models import utcnow
from avatars.server.deps import Caller, CurrentCaller, ReadSession, State, public_base
from avatars.server.errors import ApiError
from avatars.server.retention import results_expired
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.routers.jobs import visible_job

router = APIRouter(tags=["results"], responses=AUTH_ERRORS)

MAX_URL_LENGTH = 4096
MAX_BATCH = 1000


@router.get(
    "/results/{job_name}",
    response_model=dict[str, list[str]],
    responses=errors(404, 409),
    summary="The result files of a finished job: {kind: [URL]}",
)
def get_results(
    job_name: str, request: Request, session: ReadSession, state: State, caller: CurrentCaller
) -> dict[str, list[str]]:
    job = visible_job(session, caller, job_name)
    if job.deleted_at is not None:
        raise ApiError(404, f"results file for job {job_name} not found: the job was deleted")
    if job.status != JobStatus.finished.value:
        why = f": {job.exception}" if job.exception else ""
        raise ApiError(409, f"the job has no results: it is {job.status}{why}")
    keys = [key for kind_keys in job.outputs.values() for key in kind_keys]
    days = results_expired(job.finished_at, keys, state.settings.dataset_expiration_days, utcnow())
    if days is not None:
        raise ApiError(
            404, f"results file for job {job_name} expired: results are kept {days} days"
        )
    base = public_base(request)
    return {
        kind: [files.access_url(base, key) for key in keys] for kind, keys in job.outputs.items()
    }


def _allowed(session: Session, caller: Caller, url: str) -> bool:
    try:
        bucket, _key = files.parse_storage_url(url)
    except files.BadStorageUrl:
        return False
    return may_use_bucket(session, caller, bucket)


@router.get(
    "/access",
    response_model=FileAccess,
    responses=errors(404),
    summary="Credentials to read or write one storage path",
)
def get_permission_to_download(
    session: ReadSession,
    state: State,
    caller: CurrentCaller,
    url: Annotated[str, Query(min_length=1, max_length=MAX_URL_LENGTH)],
) -> FileAccess:
    if not _allowed(session, caller, url):
        raise ApiError(404, "file not found, or not yours")
    session.rollback()
    credentials = current_credentials(
        state.db, state.secret_key, caller.user_id, state.settings.storage_credential_days
    )
    return FileAccess(url=url, credentials=credentials)


@router.post(
    "/access/batch",
    response_model=list[FileAccess],
    responses=errors(422),
    summary="Credentials for several paths; refused ones are left out",
)
def get_permissions_to_download_batch(
    session: ReadSession,
    state: State,
    caller: CurrentCaller,
    urls: Annotated[
        list[Annotated[str, Field(max_length=MAX_URL_LENGTH)]], Body(max_length=MAX_BATCH)
    ],
) -> list[FileAccess]:
    allowed = [url for url in urls if _allowed(session, caller, url)]
    session.rollback()
    if not allowed:
        return []
    credentials = current_credentials(
        state.db, state.secret_key, caller.user_id, state.settings.storage_credential_days
    )
    # Each ``url`` is echoed byte for byte: the client matches answers to requests by it.
    return [FileAccess(url=url, credentials=credentials) for url in allowed]


@router.get(
    "/upload_url", response_model=str, summary="Where to upload tables: s3://<bucket>/<prefix>"
)
def get_upload_url(state: State, caller: CurrentCaller) -> str:
    return files.upload_url(caller.user_id, state.settings.dataset_expiration_days)
