"""Users of an organization. Admins manage their organization's users; a user sees only
themself. Another organization's users answer 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from avatars.models import (
    CreateUser,
    CreditsInfo,
    EnvironmentInfo,
    FeatureScope,
    FeaturesInfo,
    MeUser,
    ObjectType,
    User,
    UserRole,
    Verb,
)
from avatars.server import accounts
from avatars.server.config import Settings
from avatars.server.db.models import User as UserRow
from avatars.server.deps import AdminCaller, Caller, CurrentCaller, ReadSession, State
from avatars.server.errors import ApiError, not_found
from avatars.server.events import record_event
from avatars.server.routers import AUTH_ERRORS, errors

router = APIRouter(prefix="/users", tags=["users"], responses=AUTH_ERRORS)

#: What this server can do (GET /users/features_info).
FEATURES = [
    FeatureScope.avatar_parameters,
    FeatureScope.single_table,
    FeatureScope.privacy_assessment,
]


def to_wire(user: UserRow) -> User:
    return User(
        id=user.id,
        organization_id=user.organization_id,
        email=user.email,
        username=user.username,
        role=UserRole(user.role),
    )


def environment(settings: Settings) -> EnvironmentInfo:
    return EnvironmentInfo(
        dataset_expiration_days=settings.dataset_expiration_days,
        max_allowed_dimensions_per_dataset=settings.max_columns,
        max_allowed_lines_per_dataset=settings.max_rows,
        license_type=settings.license_type,
    )


def _visible_user(session: ReadSession, caller: Caller, user_id: uuid.UUID) -> UserRow:
    user = session.get(UserRow, user_id)
    if (
        user is None
        or user.deleted_at is not None
        or not caller.can_see(user.id, user.organization_id)
    ):
        raise not_found("user")
    return user


@router.get("", response_model=list[User], summary="List users (admins: their organization)")
def find_users(
    session: ReadSession,
    caller: CurrentCaller,
    email: Annotated[str | None, Query(max_length=320)] = None,
    username: Annotated[str | None, Query(max_length=255)] = None,
) -> list[User]:
    query = select(UserRow).where(UserRow.deleted_at.is_(None))
    if caller.is_admin:
        query = query.where(UserRow.organization_id == caller.organization_id)
    else:
        query = query.where(UserRow.id == caller.user_id)
    if email:
        query = query.where(UserRow.email == email.strip().lower())
    if username:
        query = query.where(UserRow.username == username.strip())
    return [to_wire(u) for u in session.scalars(query.order_by(UserRow.created_at))]


@router.post(
    "",
    response_model=User,
    responses=errors(403, 409),
    summary="Create a user in the caller's organization (admins)",
)
def create_user(body: CreateUser, state: State, caller: AdminCaller) -> User:
    with state.db.writing() as session:
        user = accounts.create_user(
            session,
            organization_id=caller.organization_id,
            email=body.email,
            username=body.username,
            password=body.password,
            role=body.role.value,
        )
        record_event(
            session,
            Verb.create,
            ObjectType.user,
            object_id=user.id,
            object_name=user.email,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
        return to_wire(user)


@router.get("/me", response_model=MeUser, summary="The caller, with their limits")
def get_me(session: ReadSession, state: State, caller: CurrentCaller) -> MeUser:
    user = _visible_user(session, caller, caller.user_id)
    return MeUser(**to_wire(user).model_dump(), environment=environment(state.settings))


@router.get("/credits_info", response_model=CreditsInfo, summary="Credits (not enforced here)")
async def credits_info(caller: CurrentCaller) -> CreditsInfo:
    return CreditsInfo(credits=None, is_credit_enabled=False)


@router.get("/features_info", response_model=FeaturesInfo, summary="What this server can do")
async def features_info(caller: CurrentCaller) -> FeaturesInfo:
    return FeaturesInfo(feature_scopes=FEATURES)


@router.get("/{id}", response_model=User, responses=errors(404), summary="One user")
def get_user(id: uuid.UUID, session: ReadSession, caller: CurrentCaller) -> User:
    return to_wire(_visible_user(session, caller, id))


@router.delete(
    "/{id}",
    response_model=User,
    responses=errors(403, 404, 409),
    summary="Delete a user of the caller's organization (admins)",
)
def delete_user(id: uuid.UUID, state: State, caller: CurrentCaller) -> User:
    with state.db.writing() as session:
        user = session.get(UserRow, id)
        if (
            user is None
            or user.deleted_at is not None
            or not caller.can_see(user.id, user.organization_id)
        ):
            raise not_found("user")
        if not caller.is_admin:
            raise ApiError(403, "deleting a user needs an organization admin")
        if user.id == caller.user_id:
            raise ApiError(409, "you cannot delete yourself")
        accounts.delete_user(session, user)
        record_event(
            session,
            Verb.delete,
            ObjectType.user,
            object_id=user.id,
            object_name=user.email,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
        return to_wire(user)
