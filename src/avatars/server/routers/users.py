"""Users of an organization. Admins manage their organization's users; a user sees only
themself. Another organization's users answer 404 (:mod:`avatars.server.services.accounts`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from avatars.protocol.enums import FeatureScope, UserRole
from avatars.protocol.wire import (
    CreateUser,
    CreditsInfo,
    EnvironmentInfo,
    FeaturesInfo,
    MeUser,
    User,
)
from avatars.server.config import Settings
from avatars.server.db.models import User as UserRow
from avatars.server.deps import AdminCaller, CurrentCaller, State
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import accounts

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


@router.get("", response_model=list[User], summary="List users (admins: their organization)")
def find_users(
    state: State,
    caller: CurrentCaller,
    email: Annotated[str | None, Query(max_length=320)] = None,
    username: Annotated[str | None, Query(max_length=255)] = None,
) -> list[User]:
    return [to_wire(u) for u in accounts.list_users(state, caller, email=email, username=username)]


@router.post(
    "",
    response_model=User,
    responses=errors(403, 409, 429),
    summary="Create a user in the caller's organization (admins)",
)
def create_user(body: CreateUser, state: State, caller: AdminCaller) -> User:
    user = accounts.create_member(
        state,
        caller,
        email=body.email,
        username=body.username,
        password=body.password,
        role=body.role.value,
    )
    return to_wire(user)


@router.get("/me", response_model=MeUser, summary="The caller, with their limits")
def get_me(state: State, caller: CurrentCaller) -> MeUser:
    user = accounts.get_user(state, caller, caller.user_id)
    return MeUser(**to_wire(user).model_dump(), environment=environment(state.settings))


@router.get("/credits_info", response_model=CreditsInfo, summary="Credits (not enforced here)")
async def credits_info(caller: CurrentCaller) -> CreditsInfo:
    return CreditsInfo(credits=None, is_credit_enabled=False)


@router.get("/features_info", response_model=FeaturesInfo, summary="What this server can do")
async def features_info(caller: CurrentCaller) -> FeaturesInfo:
    return FeaturesInfo(feature_scopes=FEATURES)


@router.get("/{id}", response_model=User, responses=errors(404), summary="One user")
def get_user(id: uuid.UUID, state: State, caller: CurrentCaller) -> User:
    return to_wire(accounts.get_user(state, caller, id))


@router.delete(
    "/{id}",
    response_model=User,
    responses=errors(403, 404, 409),
    summary="Delete a user of the caller's organization (admins)",
)
def delete_user(id: uuid.UUID, state: State, caller: CurrentCaller) -> User:
    return to_wire(accounts.delete_member(state, caller, id))
