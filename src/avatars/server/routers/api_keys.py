"""API keys: ``Authorization: api-key-v1 <key>``. The plaintext is shown once, at creation;
only a SHA-256 of its secret part is stored."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from avatars.models import (
    ApiKey,
    ApiKeyWithPlaintext,
    CreateApiKeyRequest,
    CreateApiKeyResponse,
    Message,
    ObjectType,
    Verb,
)
from avatars.server import accounts
from avatars.server.db.models import ApiKey as ApiKeyRow
from avatars.server.db.models import User, utcnow
from avatars.server.deps import Caller, CurrentCaller, ReadSession, State
from avatars.server.errors import ApiError, not_found
from avatars.server.events import record_event
from avatars.server.routers import AUTH_ERRORS, errors

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


def _event(
    session: Session, verb: Verb, caller: Caller, key_id: uuid.UUID | None, **details: object
) -> None:
    record_event(
        session,
        verb,
        ObjectType.api_key,
        object_id=key_id,
        user_id=caller.user_id,
        organization_id=caller.organization_id,
        ip=caller.ip,
        details=dict(details) or None,
    )


@router.get("", response_model=list[ApiKey], summary="The caller's API keys")
def list_api_keys(session: ReadSession, caller: CurrentCaller) -> list[ApiKey]:
    rows = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.user_id == caller.user_id).order_by(ApiKeyRow.created_at)
    )
    return [to_wire(r) for r in rows]


@router.post("", response_model=CreateApiKeyResponse, summary="Create an API key (shown once)")
def create_api_key(
    body: CreateApiKeyRequest, state: State, caller: CurrentCaller
) -> CreateApiKeyResponse:
    with state.db.writing() as session:
        row, plaintext = accounts.create_api_key(
            session, caller.user_id, body.name, int(body.expiration_days)
        )
        _event(session, Verb.create, caller, row.id, name=body.name)
        wire = ApiKeyWithPlaintext(**to_wire(row).model_dump(), plaintext=plaintext)
    return CreateApiKeyResponse(
        api_key=wire,
        message="Store this key now: it will not be shown again. "
        "Use it as 'Authorization: api-key-v1 <key>' or AVATAR_API_KEY.",
    )


@router.delete("", response_model=Message, summary="Revoke all the caller's API keys")
def revoke_all_api_keys(state: State, caller: CurrentCaller) -> Message:
    with state.db.writing() as session:
        count = session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.user_id == caller.user_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
        _event(session, Verb.delete, caller, None, revoked=count)
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
    if not caller.is_admin:
        raise ApiError(403, "revoking another user's keys needs an organization admin")
    if (user_id is None) == (api_key_id is None):
        raise ApiError(400, "give exactly one of user_id and api_key_id")
    query = (
        update(ApiKeyRow)
        .where(ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    with state.db.writing() as session:
        org_users = select(User.id).where(User.organization_id == caller.organization_id)
        if user_id is not None:
            target = session.get(User, user_id)
            if target is None or target.organization_id != caller.organization_id:
                raise not_found("user")
            query = query.where(ApiKeyRow.user_id == user_id)
        else:
            key = session.get(ApiKeyRow, api_key_id)
            owner = session.get(User, key.user_id) if key is not None else None
            if key is None or owner is None or owner.organization_id != caller.organization_id:
                raise not_found("API key")
            query = query.where(ApiKeyRow.id == api_key_id)
        count = session.execute(query.where(ApiKeyRow.user_id.in_(org_users))).rowcount
        _event(session, Verb.delete, caller, api_key_id, revoked=count, user=str(user_id or ""))
    return Message(message=f"revoked {count} API key(s)")


def _own_key(session: Session, caller: Caller, api_key_id: uuid.UUID) -> ApiKeyRow:
    row = session.get(ApiKeyRow, api_key_id)
    if row is None or row.user_id != caller.user_id:
        raise not_found("API key")
    return row


@router.get("/{api_key_id}", response_model=ApiKey, responses=errors(404), summary="One API key")
def get_api_key(api_key_id: uuid.UUID, session: ReadSession, caller: CurrentCaller) -> ApiKey:
    return to_wire(_own_key(session, caller, api_key_id))


@router.delete(
    "/{api_key_id}", response_model=ApiKey, responses=errors(404), summary="Revoke one API key"
)
def revoke_api_key(api_key_id: uuid.UUID, state: State, caller: CurrentCaller) -> ApiKey:
    with state.db.writing() as session:
        row = _own_key(session, caller, api_key_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            _event(session, Verb.delete, caller, row.id)
        return to_wire(row)
