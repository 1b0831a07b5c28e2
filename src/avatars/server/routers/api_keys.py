"""API keys: ``Authorization: api-key-v1 <key>``. The plaintext is shown once, at creation;
only a SHA-256 of its secret part is stored (:mod:`avatars.server.services.keys`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from avatars.protocol.wire import (
    ApiKey,
    ApiKeyWithPlaintext,
    CreateApiKeyRequest,
    CreateApiKeyResponse,
    Message,
)
from avatars.server.db.models import ApiKey as ApiKeyRow
from avatars.server.deps import CurrentCaller, State
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import keys

router = APIRouter(prefix="/api-keys", tags=["api_keys"], responses=AUTH_ERRORS)


def to_wire(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


@router.get("", response_model=list[ApiKey], summary="The caller's API keys")
def list_api_keys(state: State, caller: CurrentCaller) -> list[ApiKey]:
    return [to_wire(r) for r in keys.list_keys(state, caller)]


@router.post("", response_model=CreateApiKeyResponse, summary="Create an API key (shown once)")
def create_api_key(
    body: CreateApiKeyRequest, state: State, caller: CurrentCaller
) -> CreateApiKeyResponse:
    row, plaintext = keys.create_key(state, caller, body.name, int(body.expiration_days))
    return CreateApiKeyResponse(
        api_key=ApiKeyWithPlaintext(**to_wire(row).model_dump(), plaintext=plaintext),
        message="Store this key now: it will not be shown again. "
        "Use it as 'Authorization: api-key-v1 <key>' or AVATAR_API_KEY.",
    )


@router.delete("", response_model=Message, summary="Revoke all the caller's API keys")
def revoke_all_api_keys(state: State, caller: CurrentCaller) -> Message:
    count = keys.revoke_all_keys(state, caller)
    return Message(message=f"revoked {count} API key(s)")


@router.delete(
    "/admin",
    response_model=Message,
    responses=errors(400, 403, 404),
    summary="Revoke a user's keys, or one key, of the admin's organization",
)
def revoke_api_key_admin(
    state: State,
    caller: CurrentCaller,
    user_id: Annotated[uuid.UUID | None, Query()] = None,
    api_key_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Message:
    count = keys.revoke_keys_as_admin(state, caller, user_id=user_id, api_key_id=api_key_id)
    return Message(message=f"revoked {count} API key(s)")


@router.get("/{api_key_id}", response_model=ApiKey, responses=errors(404), summary="One API key")
def get_api_key(api_key_id: uuid.UUID, state: State, caller: CurrentCaller) -> ApiKey:
    return to_wire(keys.get_key(state, caller, api_key_id))


@router.delete(
    "/{api_key_id}", response_model=ApiKey, responses=errors(404), summary="Revoke one API key"
)
def revoke_api_key(api_key_id: uuid.UUID, state: State, caller: CurrentCaller) -> ApiKey:
    return to_wire(keys.revoke_key(state, caller, api_key_id))
