"""Login, token refresh, logout and password reset (protocol.md §2.2, §2.3 "Auth").

- ``POST /login``: OAuth2 password grant (form); failed logins are limited per account and
  client address, per account and per client address (429 with ``Retry-After``).
- ``POST /refresh?token=``: single-use refresh tokens; a replayed one revokes its session.
- ``POST /login/forgotten_password`` / ``POST /login/reset_password``: single-use tokens, sent
  by e-mail only (an admin issues one with ``avatars users reset-password`` otherwise);
  requests are limited per address and per client.

The rules are in :mod:`avatars.server.services.accounts`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from avatars.protocol.wire import (
    ForgottenPasswordRequest,
    LoginResponse,
    Message,
    ResetPasswordRequest,
)
from avatars.server.deps import CurrentCaller, State, client_ip
from avatars.server.routers import AUTH_ERRORS, errors
from avatars.server.services import accounts
from avatars.server.services.passwords import MAX_PASSWORD_LENGTH

router = APIRouter(tags=["auth"])


def to_wire(tokens: accounts.Tokens) -> LoginResponse:
    return LoginResponse(
        access_token=tokens.access_token, refresh_token=tokens.refresh_token, token_type="bearer"
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
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    scope: Annotated[str, Form()] = "",
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> LoginResponse:
    tokens = accounts.login(state, username=username, password=password, ip=client_ip(request))
    return to_wire(tokens)


@router.post(
    "/refresh",
    response_model=LoginResponse,
    responses=errors(401, 422),
    summary="Exchange a refresh token for new tokens",
)
def refresh(state: State, token: Annotated[str, Query(max_length=512)]) -> LoginResponse:
    return to_wire(accounts.refresh(state, token))


@router.get(
    "/refresh", response_model=LoginResponse, responses=errors(401, 422), include_in_schema=False
)
def refresh_legacy(state: State, token: Annotated[str, Query(max_length=512)]) -> LoginResponse:
    """Clients up to 1.15 refresh with GET."""
    return to_wire(accounts.refresh(state, token))


@router.post(
    "/logout", response_model=Message, responses=AUTH_ERRORS, summary="Revoke this session"
)
def logout(state: State, caller: CurrentCaller) -> Message:
    accounts.logout(state, caller)
    return Message(message="logged out")


@router.post(
    "/login/forgotten_password",
    response_model=Message,
    responses=errors(422, 429),
    summary="Send a password reset token (by e-mail)",
)
def forgotten_password(body: ForgottenPasswordRequest, request: Request, state: State) -> Message:
    accounts.request_password_reset(state, body.email, ip=client_ip(request))
    # The same answer whether or not the address is known.
    return Message(message="if this address belongs to a user, a reset token has been sent")


@router.post(
    "/login/reset_password",
    response_model=Message,
    responses=errors(400, 422),
    summary="Set a new password with a reset token",
)
def reset_password(body: ResetPasswordRequest, request: Request, state: State) -> Message:
    accounts.reset_password(
        state,
        token=body.token,
        email=body.email,
        new_password=body.new_password,
        new_password_repeated=body.new_password_repeated,
        ip=client_ip(request),
    )
    return Message(message="password changed")
