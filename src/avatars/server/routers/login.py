"""Login, token refresh, logout and password reset (protocol.md §2.2, §2.3 "Auth").

- ``POST /login``: OAuth2 password grant (form). Failed attempts are counted per (user name,
  client address) in the database, so that several API processes agree; past
  ``login_max_failures`` within ``login_failure_window_seconds`` the answer is 429 with
  ``Retry-After``, even for the right password.
- ``POST /refresh?token=``: refresh tokens are single use. Each refresh returns a new pair;
  presenting a used token again revokes its whole family (it was stolen, or replayed).
- ``POST /login/forgotten_password`` / ``POST /login/reset_password``: single-use tokens that
  expire after ``password_reset_minutes``, delivered by e-mail or to the server log.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from avatars.models import (
    ForgottenPasswordRequest,
    LoginResponse,
    Message,
    ObjectType,
    ResetPasswordRequest,
    Verb,
)
from avatars.server import security
from avatars.server.db.models import LoginAttempt, PasswordResetToken, RefreshToken, User, utcnow
from avatars.server.deps import AppState, CurrentCaller, State, client_ip
from avatars.server.errors import ApiError
from avatars.server.events import record_event
from avatars.server.mail import deliver_reset_token
from avatars.server.routers import AUTH_ERRORS, errors

router = APIRouter(tags=["auth"])


def find_login_user(session: Session, login: str) -> User | None:
    """The live user whose e-mail (case-insensitive) or user name is ``login``."""
    login = login.strip()
    return session.scalars(
        select(User).where(
            User.deleted_at.is_(None),
            or_(User.email == login.lower(), User.username == login),
        )
    ).first()


def issue_tokens(
    session: Session, state: AppState, user: User, family_id: uuid.UUID | None = None
) -> LoginResponse:
    """A new access token and a new refresh token (in ``family_id``, or a new family)."""
    settings = state.settings
    family_id = family_id or uuid.uuid4()
    refresh = security.new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=security.sha256_hex(refresh),
            expires_at=utcnow() + dt.timedelta(days=settings.refresh_token_days),
        )
    )
    access = security.create_access_token(
        state.secret_key, user.id, family_id, dt.timedelta(minutes=settings.access_token_minutes)
    )
    return LoginResponse(access_token=access, refresh_token=refresh, token_type="bearer")


def _rate_limit(session: Session, state: AppState, username: str, ip: str) -> None:
    settings = state.settings
    window = dt.timedelta(seconds=settings.login_failure_window_seconds)
    since = utcnow() - window
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.created_at)).where(
            LoginAttempt.username == username,
            LoginAttempt.ip == ip,
            LoginAttempt.created_at > since,
        )
    ).one()
    if count >= settings.login_max_failures:
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        wait = (oldest + window - utcnow()).total_seconds() if oldest else window.total_seconds()
        retry_after = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"too many failed logins; try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


@router.post(
    "/login",
    response_model=LoginResponse,
    responses=errors(401, 422, 429),
    summary="Log in with a user name (or e-mail) and password",
)
def login(
    request: Request,
    state: State,
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    scope: Annotated[str, Form()] = "",
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> LoginResponse:
    key = username.strip().lower()
    ip = client_ip(request)
    with state.db.reading() as session:
        _rate_limit(session, state, key, ip)
        user = find_login_user(session, username)
    # argon2 is slow on purpose: verify outside any transaction.
    ok = security.verify_password(user.password_hash if user else None, password)
    with state.db.writing() as session:
        if not ok or user is None:
            session.add(LoginAttempt(username=key, ip=ip))
            # Keep the table small: forget failures older than the window.
            horizon = utcnow() - dt.timedelta(seconds=state.settings.login_failure_window_seconds)
            session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < horizon))
        else:
            session.execute(
                delete(LoginAttempt).where(LoginAttempt.username == key, LoginAttempt.ip == ip)
            )
            tokens = issue_tokens(session, state, user)
            record_event(
                session,
                Verb.login,
                ObjectType.user,
                object_id=user.id,
                user_id=user.id,
                organization_id=user.organization_id,
                ip=ip,
            )
    if not ok or user is None:
        raise ApiError(
            401, "incorrect user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return tokens


def _refresh(request: Request, state: AppState, token: str) -> LoginResponse:
    token_hash = security.sha256_hex(token)
    now = utcnow()
    with state.db.writing() as session:
        row = session.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        ).first()
        problem = None
        if row is None:
            problem = "invalid refresh token; log in again"
        elif row.revoked_at is not None:
            problem = "this session was revoked; log in again"
        elif row.used_at is not None:
            # A used token presented again: whoever holds it, the family is compromised.
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            problem = "this refresh token was already used; the session is revoked, log in again"
        elif row.expires_at <= now:
            problem = "the refresh token has expired; log in again"
        user = session.get(User, row.user_id) if row is not None and problem is None else None
        if row is not None and problem is None and (user is None or user.deleted_at is not None):
            problem = "this user no longer exists"
        if problem is None and row is not None and user is not None:
            claimed = session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                .values(used_at=now)
            ).rowcount
            if claimed != 1:
                problem = "this refresh token was already used; log in again"
            else:
                tokens = issue_tokens(session, state, user, row.family_id)
    if problem is not None:
        raise ApiError(401, problem, headers={"WWW-Authenticate": "Bearer"})
    return tokens


@router.post(
    "/refresh",
    response_model=LoginResponse,
    responses=errors(401, 422),
    summary="Exchange a refresh token for new tokens",
)
def refresh(
    request: Request, state: State, token: Annotated[str, Query(max_length=512)]
) -> LoginResponse:
    return _refresh(request, state, token)


@router.get(
    "/refresh", response_model=LoginResponse, responses=errors(401, 422), include_in_schema=False
)
def refresh_legacy(
    request: Request, state: State, token: Annotated[str, Query(max_length=512)]
) -> LoginResponse:
    """Clients up to 1.15 refresh with GET."""
    return _refresh(request, state, token)


@router.post(
    "/logout", response_model=Message, responses=AUTH_ERRORS, summary="Revoke this session"
)
def logout(request: Request, state: State, caller: CurrentCaller) -> Message:
    with state.db.writing() as session:
        if caller.family_id is not None:
            session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.family_id == caller.family_id, RefreshToken.revoked_at.is_(None)
                )
                .values(revoked_at=utcnow())
            )
        record_event(
            session,
            Verb.logout,
            ObjectType.user,
            object_id=caller.user_id,
            user_id=caller.user_id,
            organization_id=caller.organization_id,
            ip=caller.ip,
        )
    return Message(message="logged out")


@router.post(
    "/login/forgotten_password",
    response_model=Message,
    responses=errors(422),
    summary="Send a password reset token",
)
def forgotten_password(body: ForgottenPasswordRequest, state: State) -> Message:
    settings = state.settings
    token = uuid.uuid4()
    with state.db.writing() as session:
        user = find_login_user(session, body.email)
        if user is not None:
            session.add(
                PasswordResetToken(
                    user_id=user.id,
                    token_hash=security.sha256_hex(str(token)),
                    expires_at=utcnow() + dt.timedelta(minutes=settings.password_reset_minutes),
                )
            )
    if user is not None:
        deliver_reset_token(settings, user.email, str(token), settings.password_reset_minutes)
    # The same answer whether or not the address is known.
    return Message(message="if this address belongs to a user, a reset token has been sent")


@router.post(
    "/login/reset_password",
    response_model=Message,
    responses=errors(400, 422),
    summary="Set a new password with a reset token",
)
def reset_password(body: ResetPasswordRequest, request: Request, state: State) -> Message:
    if body.new_password != body.new_password_repeated:
        raise ApiError(400, "the two passwords are different")
    problem = security.password_problem(body.new_password)
    if problem:
        raise ApiError(400, problem)
    new_hash = security.hash_password(body.new_password)
    now = utcnow()
    token_hash = security.sha256_hex(str(body.token))
    with state.db.writing() as session:
        reset = session.scalars(
            select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash)
        ).first()
        user = session.get(User, reset.user_id) if reset is not None else None
        valid = (
            reset is not None
            and user is not None
            and user.deleted_at is None
            and user.email == body.email.strip().lower()
            and reset.used_at is None
            and reset.expires_at > now
        )
        if valid and reset is not None and user is not None:
            reset.used_at = now
            user.password_hash = new_hash
            # A new password ends every session and clears the lockout.
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            session.execute(delete(LoginAttempt).where(LoginAttempt.username == user.email))
            record_event(
                session,
                Verb.update,
                ObjectType.user,
                object_id=user.id,
                user_id=user.id,
                organization_id=user.organization_id,
                ip=client_ip(request),
                details={"what": "password reset"},
            )
    if not valid:
        raise ApiError(400, "invalid or expired reset token")
    return Message(message="password changed")
