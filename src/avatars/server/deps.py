"""Request dependencies: the application state, database sessions and the authenticated caller.

Authentication accepts ``Authorization: api-key-v1 <key>`` and ``Authorization: Bearer
<access token>`` on every protected endpoint. An expired access token answers 401 with
``{"detail": {"message": "Access token credentials expired"}}``: the official client looks
for "credentials expired" there to refresh its tokens (protocol.md §2.2).

Visibility: a user sees what they own; an organization admin also sees everything of their
organization. Anything else answers 404, exactly like an object that does not exist.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from avatars.server import security
from avatars.server.config import Settings
from avatars.server.db import Database
from avatars.server.errors import ApiError
from avatars.server.models import ApiKey, User, utcnow
from avatars.server.storage import Storage

if TYPE_CHECKING:
    from avatars.server.jobs.dispatcher import Dispatcher

#: ``last_used_at`` of an API key is written at most this often (a write per request would
#: serialize every reader behind SQLite's single writer).
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


@dataclass
class AppState:
    settings: Settings
    db: Database
    storage: Storage
    secret_key: str
    dispatcher: Dispatcher | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.avatars
    return state


State = Annotated[AppState, Depends(get_state)]


def read_session(request: Request) -> Iterator[Session]:
    with get_state(request).db.read() as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    """A session whose transactions take the write lock first (see ``db``). Endpoints commit
    explicitly; whatever is not committed is rolled back when the request ends."""
    with get_state(request).db.write() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def public_base(request: Request) -> str:
    """The external base URL (``https://host``), used in the URLs given to clients."""
    configured = get_state(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: str
    email: str
    username: str | None
    via: str  # "api_key" or "bearer"
    api_key_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    ip: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see(self, user_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
        if user_id == self.user_id:
            return True
        return self.is_admin and organization_id == self.organization_id

    def scope(self, model: Any) -> ColumnElement[bool]:
        """SQL condition selecting the rows of ``model`` (with ``user_id`` and
        ``organization_id`` columns) that the caller may see."""
        if self.is_admin:
            condition: ColumnElement[bool] = model.organization_id == self.organization_id
            return condition
        condition = model.user_id == self.user_id
        return condition


def _unauthorized(message: str, scheme: str = "Bearer") -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": scheme})


NOT_AUTHENTICATED = (
    "Not authenticated: send 'Authorization: api-key-v1 <key>' or 'Authorization: Bearer <token>'"
)


def _caller_from_user(user: User, request: Request, **extra: Any) -> Caller:
    return Caller(
        user_id=user.id,
        organization_id=user.organization_id,
        role=user.role,
        email=user.email,
        username=user.username,
        ip=client_ip(request),
        **extra,
    )


def _authenticate_api_key(request: Request, session: Session, key: str) -> Caller:
    parsed = security.parse_api_key(key)
    if parsed is None:
        raise _unauthorized("Not authenticated: malformed API key", "api-key-v1")
    key_id, secret = parsed
    row = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.id == key_id)
    ).first()
    invalid = _unauthorized("Not authenticated: invalid or revoked API key", "api-key-v1")
    if row is None:
        security.same_hash(security.sha256_hex(secret), "0" * 64)  # same work either way
        raise invalid
    api_key, user = row
    if not security.same_hash(security.sha256_hex(secret), api_key.secret_hash):
        raise invalid
    now = utcnow()
    if api_key.revoked_at is not None or user.deleted_at is not None:
        raise invalid
    if api_key.expires_at <= now:
        raise _unauthorized("Not authenticated: this API key has expired", "api-key-v1")
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        with get_state(request).db.writing() as writer:
            writer.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    return _caller_from_user(user, request, via="api_key", api_key_id=api_key.id)


def _authenticate_bearer(request: Request, session: Session, token: str) -> Caller:
    state = get_state(request)
    try:
        claims = security.decode_access_token(state.secret_key, token)
    except security.TokenExpired:
        raise _unauthorized("Access token credentials expired") from None
    except security.TokenInvalid:
        raise _unauthorized("Not authenticated: invalid access token") from None
    try:
        user_id = uuid.UUID(claims["sub"])
        family = uuid.UUID(claims["fam"]) if claims.get("fam") else None
    except (ValueError, TypeError):
        raise _unauthorized("Not authenticated: invalid access token") from None
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise _unauthorized("Not authenticated: this user no longer exists")
    return _caller_from_user(user, request, via="bearer", family_id=family)


def authenticate(request: Request, session: Session) -> Caller:
    header = request.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if not header or not value:
        raise _unauthorized(NOT_AUTHENTICATED)
    scheme = scheme.lower()
    if scheme == "api-key-v1":
        return _authenticate_api_key(request, session, value)
    if scheme == "bearer":
        return _authenticate_bearer(request, session, value)
    raise _unauthorized(NOT_AUTHENTICATED)


def get_caller(request: Request, session: ReadSession) -> Caller:
    caller = authenticate(request, session)
    # The read transaction of the lookup is over; do not hold it for the whole request.
    session.rollback()
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def get_admin(caller: CurrentCaller) -> Caller:
    if not caller.is_admin:
        raise ApiError(403, "this action needs an organization admin")
    return caller


AdminCaller = Annotated[Caller, Depends(get_admin)]
