"""Datasets: the caller's uploaded tables, over plain HTTP (this platform's addition).

- ``GET    /datasets``          list (``DatasetList``)
- ``PUT    /datasets/{name}``   upload the request body as ``name`` (replaces it)
- ``GET    /datasets/{name}``   download
- ``DELETE /datasets/{name}``   delete

Bodies stream in both directions (:mod:`avatars.server.services.datasets`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from avatars.protocol.wire import Dataset, DatasetList, Message
from avatars.server.deps import CurrentCaller, State
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import datasets
from avatars.server.services.datasets import WRITE_BLOCK, DatasetInfo

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=AUTH_ERRORS)

NamePath = Path(min_length=1, max_length=255, description="file name, e.g. iris.csv")


def to_wire(dataset: DatasetInfo) -> Dataset:
    return Dataset(
        name=dataset.name,
        size=dataset.info.size,
        etag=dataset.info.etag,
        last_modified=dataset.info.last_modified,
        url=dataset.url,
        expires_at=dataset.expires_at,
    )


def _media_type(name: str) -> str:
    if name.endswith(".parquet"):
        return "application/vnd.apache.parquet"
    if name.endswith(".csv"):
        return "text/csv"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


@router.get("", response_model=DatasetList, summary="The caller's uploaded tables")
def list_datasets(state: State, caller: CurrentCaller) -> DatasetList:
    return DatasetList(datasets=[to_wire(d) for d in datasets.list_datasets(state, caller)])


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
    declared = request.headers.get("content-length")
    dataset = await datasets.upload_dataset(
        state,
        caller,
        name,
        request.stream(),
        run_in_threadpool,
        declared_size=int(declared) if declared and declared.isdigit() else None,
    )
    return to_wire(dataset)


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
    dataset, handle = datasets.open_dataset(state, caller, name)

    def stream() -> Iterator[bytes]:
        with handle:
            while block := handle.read(WRITE_BLOCK):
                yield block

    return StreamingResponse(
        stream(),
        media_type=_media_type(name),
        headers={
            "Content-Length": str(dataset.info.size),
            "ETag": f'"{dataset.info.etag}"',
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        },
    )


@router.delete(
    "/{name}", response_model=Message, responses=errors(404, 422), summary="Delete a table"
)
def delete_dataset(state: State, caller: CurrentCaller, name: str = NamePath) -> Message:
    datasets.delete_dataset(state, caller, name)
    return Message(message=f"deleted {name}")
