"""Resource sets: the YAML documents describing a run (protocol.md §4).

``PUT /resources/{display_name}`` stores a new set under a new UUID, every time. Its documents
are validated (422 naming document, field and problem) and every input file it names is
snapshotted (``Storage.copy``: a hard link locally) into ``<user>/sets/<set>/input/``, so that
a later upload with the same name cannot change what this set's jobs read.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from avatars.models import ObjectType, ResourceSetResponse, Verb
from avatars.resource_set import (
    ResourceSet,
    ResourceSetError,
    SchemaDocument,
    parse_resource_set,
)
from avatars.server import files
from avatars.server.access import may_use_bucket
from avatars.server.db.models import ResourceSet as ResourceSetRow
from avatars.server.deps import AppState, Caller, CurrentCaller, ReadSession, State
from avatars.server.errors import ApiError, not_found
from avatars.server.events import record_event
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.storage import StorageError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/resources", tags=["resources"], responses=AUTH_ERRORS)

MAX_YAML_BYTES = 16 * 1024 * 1024
YAML_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}
# The YAML text; no schema: tools that parse YAML responses get documents, not a string.
YAML_RESPONSE = {200: {"content": {"application/yaml": {"schema": {}}}}}


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


def invalid_set(exc: ResourceSetError) -> ApiError:
    return ApiError(422, str(exc), issues=[i.as_dict() for i in exc.issues])


def visible_set(session: Session, caller: Caller, set_name: uuid.UUID) -> ResourceSetRow:
    row = session.get(ResourceSetRow, set_name)
    if row is None or not caller.can_see(row.user_id, row.organization_id):
        raise not_found("resource set")
    return row


def _source_key(
    session: Session,
    state: AppState,
    caller: Caller,
    owner_id: uuid.UUID,
    resources: ResourceSet,
    volume: str | None,
    file: str,
) -> str:
    """The storage key a ``{volume, file}`` reference reads."""
    if volume in (None, "", "input"):
        return files.upload_key(owner_id, state.settings.dataset_expiration_days, file)
    declared = resources.volume(volume)
    if declared is None:
        raise ValueError(f"unknown volume '{volume}' (use 'input', or declare an AvatarVolume)")
    try:
        bucket, prefix = files.parse_storage_url(declared.spec.url)
    except files.BadStorageUrl as exc:
        raise ValueError(f"volume '{volume}': {exc}") from None
    if not may_use_bucket(session, caller, bucket):
        raise ValueError(f"volume '{volume}': you may not read {declared.spec.url}")
    return "/".join(p for p in (bucket, prefix, file) if p)


def snapshot_inputs(
    session: Session,
    state: AppState,
    caller: Caller,
    owner_id: uuid.UUID,
    set_name: uuid.UUID,
    resources: ResourceSet,
    already: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Snapshot every file the schemas name; ``{"<volume>/<file>": snapshot key}``."""
    inputs: dict[str, str] = dict(already or {})
    problems: list[str] = []
    for doc in resources.of_kind(SchemaDocument.KIND):
        assert isinstance(doc, SchemaDocument)
        for table in doc.spec.tables:
            for data in (table.data, table.avatars_data):
                if data is None or not data.file:
                    continue
                ref = f"{data.volume or 'input'}/{data.file}"
                if ref in inputs:
                    continue
                try:
                    source = _source_key(
                        session, state, caller, owner_id, resources, data.volume, data.file
                    )
                    target = files.snapshot_key(owner_id, set_name, data.file)
                    if target in inputs.values():
                        raise ValueError(
                            f"another volume already provides a file named '{data.file}'"
                        )
                    if not state.storage.exists(source):
                        volume = data.volume or "input"
                        raise ValueError(
                            f"file '{data.file}' is not in volume '{volume}'; upload it first"
                        )
                    state.storage.copy(source, target)
                except ValueError as exc:  # includes invalid storage keys
                    problems.append(f"{doc.label}: table '{table.name}': {exc}")
                    continue
                except StorageError as exc:  # details (endpoints...) go to the log only
                    log.error("could not snapshot input file %s: %s", data.file, exc)
                    raise ApiError(503, "the storage backend is unavailable; retry later") from None
                inputs[ref] = target
    if problems:
        state.storage.delete_prefix(f"{owner_id}/{files.SETS_DIR}/{set_name}/")
        raise ApiError(422, "; ".join(problems), problems=problems)
    return inputs


def _create_set(
    state: AppState, caller: Caller, display_name: str, text: str
) -> ResourceSetResponse:
    try:
        resources = parse_resource_set(text)
    except ResourceSetError as exc:
        raise invalid_set(exc) from None
    set_name = uuid.uuid4()
    with state.db.reading() as session:
        inputs = snapshot_inputs(session, state, caller, caller.user_id, set_name, resources)
    try:
        with state.db.writing() as session:
            session.add(
                ResourceSetRow(
                    id=set_name,
                    display_name=display_name,
                    user_id=caller.user_id,
                    organization_id=caller.organization_id,
                    yaml=text,
                    inputs=inputs,
                )
            )
            record_event(
                session,
                Verb.create,
                ObjectType.resource,
                object_id=set_name,
                object_name=display_name,
                user_id=caller.user_id,
                organization_id=caller.organization_id,
                ip=caller.ip,
            )
    except Exception:
        state.storage.delete_prefix(f"{caller.user_id}/{files.SETS_DIR}/{set_name}/")
        raise
    return ResourceSetResponse(set_name=set_name, display_name=display_name)


def _append_to_set(
    state: AppState, caller: Caller, set_name: uuid.UUID, text: str
) -> ResourceSetResponse:
    try:
        added = parse_resource_set(text, check_references=False)
    except ResourceSetError as exc:
        raise invalid_set(exc) from None
    with state.db.reading() as session:
        row = visible_set(session, caller, set_name)
        try:
            merged = parse_resource_set(row.yaml, check_references=False).merged(added)
        except ResourceSetError as exc:  # pragma: no cover - stored sets were valid
            raise invalid_set(exc) from None
        issues = merged.reference_issues()
        if issues:
            raise invalid_set(ResourceSetError(issues))
        inputs = snapshot_inputs(session, state, caller, row.user_id, set_name, merged, row.inputs)
    with state.db.writing() as session:
        row = visible_set(session, caller, set_name)
        row.yaml = row.yaml.rstrip("\n") + "\n---\n" + text
        row.inputs = inputs
        record_event(
            session,
            Verb.update,
            ObjectType.resource,
            object_id=set_name,
            object_name=row.display_name,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
        return ResourceSetResponse(set_name=set_name, display_name=row.display_name)


@router.get(
    "/volume",
    responses={**YAML_RESPONSE, **errors(404)},
    response_class=Response,
    summary="The YAML of a volume (legacy, clients 1.0)",
)
def get_user_volume(
    session: ReadSession,
    state: State,
    caller: CurrentCaller,
    volume_name: Annotated[str, Query(max_length=255)],
    purpose: Annotated[str, Query(pattern="^(input|results)$")],
    set_name: uuid.UUID | None = None,
    display_name: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response:
    days = state.settings.dataset_expiration_days
    url = files.upload_url(caller.user_id, days)
    if purpose == "results":
        url += f"/{files.RESULTS_DIR}"
        if set_name is not None:
            url += f"/{visible_set(session, caller, set_name).id}"
    document = {"kind": "AvatarVolume", "metadata": {"name": volume_name}, "spec": {"url": url}}
    return Response(yaml.safe_dump(document, sort_keys=False), media_type="application/yaml")


@router.get(
    "/{set_name}",
    responses={**YAML_RESPONSE, **errors(404)},
    response_class=Response,
    summary="The YAML of a resource set",
)
def get_resources(set_name: uuid.UUID, session: ReadSession, caller: CurrentCaller) -> Response:
    row = visible_set(session, caller, set_name)
    return Response(row.yaml, media_type="application/yaml")


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
    return await run_in_threadpool(_append_to_set, state, caller, set_name, text)


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
    if not display_name or len(display_name) > 1024:
        raise ApiError(422, "the display name must have 1 to 1024 characters")
    text = await read_text_body(request)
    return await run_in_threadpool(_create_set, state, caller, display_name, text)
