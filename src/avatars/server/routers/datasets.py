"""Datasets: the caller's uploaded tables, over plain HTTP (this platform's addition).

They are the files of the caller's upload prefix, the very place the S3 endpoint writes to and
``{volume: input, file: <name>}`` reads from, so a table uploaded here can be named in a
resource set at once. Bodies stream in both directions; nothing holds a whole file in memory.

- ``GET    /datasets``          list (``DatasetList``)
- ``PUT    /datasets/{name}``   upload the request body as ``name`` (replaces it)
- ``GET    /datasets/{name}``   download
- ``DELETE /datasets/{name}``   delete
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Iterator

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from avatars.models import Dataset, DatasetList, Message, ObjectType, Verb
from avatars.server import files
from avatars.server.deps import AppState, Caller, CurrentCaller, State
from avatars.server.errors import ApiError, not_found
from avatars.server.events import record_event
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.storage import ObjectInfo, ObjectNotFoundError

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=AUTH_ERRORS)

WRITE_BLOCK = 1024 * 1024
_RESERVED = {files.RESULTS_DIR, files.SETS_DIR}
NamePath = Path(min_length=1, max_length=255, description="file name, e.g. iris.csv")


def _check_name(name: str) -> str:
    if (
        name in (".", "..")
        or name in _RESERVED
        or any(c in name for c in "/\\\x00")
        or name.startswith(".avatars-tmp-")
    ):
        raise ApiError(422, f"invalid dataset name {name!r}: use a plain file name like iris.csv")
    return name


def _prefix(state: AppState, caller: Caller) -> str:
    return files.upload_prefix(caller.user_id, state.settings.dataset_expiration_days) + "/"


def _to_wire(info: ObjectInfo, prefix: str, days: int) -> Dataset:
    return Dataset(
        name=info.key[len(prefix) :],
        size=info.size,
        etag=info.etag,
        last_modified=info.last_modified,
        url=files.s3_path(info.key),
        expires_at=info.last_modified + dt.timedelta(days=days),
    )


def _media_type(name: str) -> str:
    if name.endswith(".parquet"):
        return "application/vnd.apache.parquet"
    if name.endswith(".csv"):
        return "text/csv"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@router.get("", response_model=DatasetList, summary="The caller's uploaded tables")
def list_datasets(state: State, caller: CurrentCaller) -> DatasetList:
    prefix = _prefix(state, caller)
    found = [
        _to_wire(info, prefix, state.settings.dataset_expiration_days)
        for info in state.storage.list(prefix)
        if info.key[len(prefix) :].split("/", 1)[0] not in _RESERVED
    ]
    return DatasetList(datasets=found)


@router.put(
    "/{name}",
    response_model=Dataset,
    responses=errors(413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
    summary="Upload a table (the raw request body), replacing any of the same name",
)
async def upload_dataset(
    request: Request, state: State, caller: CurrentCaller, name: str = NamePath
) -> Dataset:
    _check_name(name)
    prefix = _prefix(state, caller)
    limit = state.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the file is larger than the limit of {limit} bytes")
    writer = await run_in_threadpool(state.storage.writer, prefix + name)
    try:
        size = 0
        buffer = bytearray()
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"the file is larger than the limit of {limit} bytes")
            buffer += chunk
            if len(buffer) >= WRITE_BLOCK:
                await run_in_threadpool(writer.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await run_in_threadpool(writer.write, bytes(buffer))
        if size == 0:
            raise ApiError(422, "the body is empty: send the file's bytes")
        info = await run_in_threadpool(writer.commit)
    except BaseException:
        writer.discard()  # nothing half-written becomes visible
        raise
    with state.db.writing() as session:
        record_event(
            session,
            Verb.create,
            ObjectType.file,
            object_name=info.key,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
            details={"size": info.size},
        )
    return _to_wire(info, prefix, state.settings.dataset_expiration_days)


@router.get(
    "/{name}",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        },
        **errors(404, 422),
    },
    summary="Download a table",
)
def download_dataset(
    state: State, caller: CurrentCaller, name: str = NamePath
) -> StreamingResponse:
    _check_name(name)
    key = _prefix(state, caller) + name
    try:
        info = state.storage.info(key)
        handle = state.storage.open_read(key)
    except (ObjectNotFoundError, ValueError):
        raise not_found("dataset") from None

    def stream() -> Iterator[bytes]:
        with handle:
            while block := handle.read(WRITE_BLOCK):
                yield block

    with state.db.writing() as session:
        record_event(
            session,
            Verb.download,
            ObjectType.file,
            object_name=key,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
    return StreamingResponse(
        stream(),
        media_type=_media_type(name),
        headers={
            "Content-Length": str(info.size),
            "ETag": f'"{info.etag}"',
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@router.delete(
    "/{name}", response_model=Message, responses=errors(404, 422), summary="Delete a table"
)
def delete_dataset(state: State, caller: CurrentCaller, name: str = NamePath) -> Message:
    _check_name(name)
    key = _prefix(state, caller) + name
    if not state.storage.exists(key):
        raise not_found("dataset")
    state.storage.delete(key)
    with state.db.writing() as session:
        record_event(
            session,
            Verb.delete,
            ObjectType.file,
            object_name=key,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
    return Message(message=f"deleted {name}")
