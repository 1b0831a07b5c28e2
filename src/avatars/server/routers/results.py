"""Results and storage access (protocol.md §2.3 "Results and storage access", §3.4, §5.4).

Data never flows through these endpoints: they hand out URLs and S3 credentials, and the
client moves the bytes through the ``/storage`` S3 endpoint
(:mod:`avatars.server.services.results`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import Field

from avatars.protocol.wire import FileAccess
from avatars.server import files
from avatars.server.deps import CurrentCaller, State, public_base
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import results

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
    job_name: str, request: Request, state: State, caller: CurrentCaller
) -> dict[str, list[str]]:
    keys = results.result_keys(state, caller, job_name)
    base = public_base(request)
    return {
        kind: [files.access_url(base, key) for key in kind_keys] for kind, kind_keys in keys.items()
    }


@router.get(
    "/access",
    response_model=FileAccess,
    responses=errors(404),
    summary="Credentials to read or write one storage path",
)
def get_permission_to_download(
    state: State,
    caller: CurrentCaller,
    url: Annotated[str, Query(min_length=1, max_length=MAX_URL_LENGTH)],
) -> FileAccess:
    return FileAccess(url=url, credentials=results.grant_access(state, caller, url))


@router.post(
    "/access/batch",
    response_model=list[FileAccess],
    responses=errors(422),
    summary="Credentials for several paths; refused ones are left out",
)
def get_permissions_to_download_batch(
    state: State,
    caller: CurrentCaller,
    urls: Annotated[
        list[Annotated[str, Field(max_length=MAX_URL_LENGTH)]], Body(max_length=MAX_BATCH)
    ],
) -> list[FileAccess]:
    allowed, credentials = results.grant_access_batch(state, caller, urls)
    if credentials is None:
        return []
    # Each ``url`` is echoed byte for byte: the client matches answers to requests by it.
    return [FileAccess(url=url, credentials=credentials) for url in allowed]


@router.get(
    "/upload_url", response_model=str, summary="Where to upload tables: s3://<bucket>/<prefix>"
)
def get_upload_url(state: State, caller: CurrentCaller) -> str:
    return results.upload_url(state, caller)
