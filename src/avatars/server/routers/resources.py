"""Resource sets: the YAML documents describing a run (protocol.md §4).

``PUT /resources/{display_name}`` stores a new set under a new UUID, every time; ``POST
/resources/{set_name}`` adds documents to one. Validation and the snapshot of the inputs are
in :mod:`avatars.server.services.resources`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from avatars.protocol.wire import ResourceSetResponse
from avatars.server.db.models import ResourceSet as ResourceSetRow
from avatars.server.deps import CurrentCaller, State
from avatars.server.errors import ApiError
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import resources

router = APIRouter(prefix="/resources", tags=["resources"], responses=AUTH_ERRORS)

MAX_YAML_BYTES = 16 * 1024 * 1024
YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}
# The YAML text; no schema: tools that parse YAML responses get documents, not a string.
YAML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/yaml": {"schema": {}}}}
}


async def read_text_body(request: Request, limit: int = MAX_YAML_BYTES) -> str:
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "the body is not UTF-8 text") from None


def to_wire(row: ResourceSetRow) -> ResourceSetResponse:
    return ResourceSetResponse(set_name=row.id, display_name=row.display_name)


def yaml_response(text: str) -> Response:
    return Response(text, media_type="application/yaml")


@router.get(
    "/volume",
    responses={**YAML_RESPONSE, **errors(404)},
    response_class=Response,
    summary="The YAML of a volume (legacy, clients 1.0)",
)
def get_user_volume(
    state: State,
    caller: CurrentCaller,
    volume_name: Annotated[str, Query(max_length=255)],
    purpose: Annotated[str, Query(pattern="^(input|results)$")],
    set_name: uuid.UUID | None = None,
    display_name: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    text = resources.volume_yaml(
        state, caller, volume_name=volume_name, purpose=purpose, set_name=set_name
    )
    return yaml_response(text)


@router.get(
    "/{set_name}",
    responses={**YAML_RESPONSE, **errors(404)},
    response_class=Response,
    summary="The YAML of a resource set",
)
def get_resources(set_name: uuid.UUID, state: State, caller: CurrentCaller) -> Response:
    return yaml_response(resources.get_set(state, caller, set_name).yaml)


@router.post(
    "/{set_name}",
    response_model=ResourceSetResponse,
    responses=errors(404, 413, 422),
    openapi_extra=YAML_BODY,
    summary="Add documents to a resource set",
)
async def create_resource(
    set_name: uuid.UUID, request: Request, state: State, caller: CurrentCaller
) -> ResourceSetResponse:
    text = await read_text_body(request)
    row = await run_in_threadpool(resources.append_to_set, state, caller, set_name, text)
    return to_wire(row)


@router.put(
    "/{display_name:path}",
    response_model=ResourceSetResponse,
    responses=errors(413, 422),
    openapi_extra=YAML_BODY,
    summary="Store a new resource set (a new UUID every time)",
)
async def put_resources(
    display_name: str, request: Request, state: State, caller: CurrentCaller
) -> ResourceSetResponse:
    resources.check_display_name(display_name)  # before reading a body that may be large
    text = await read_text_body(request)
    row = await run_in_threadpool(resources.create_set, state, caller, display_name, text)
    return to_wire(row)
