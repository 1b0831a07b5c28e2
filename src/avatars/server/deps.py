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
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import ColumnElement, Connection, bindparam, select, update
from sqlalchemy.orm import Session

from avatars.server import security
from avatars.server.config import Settings
from avatars.server.db import Database
from avatars.server.db.models import ApiKey, RefreshToken, User, utcnow
from avatars.server.errors import ApiError
from avatars.server.storage import Storage

if TYPE_CHECKING:
    from avatars.server.jobs.dispatcher import Dispatcher

T = TypeVar("T")

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
    #: Small bookkeeping writes that requests do not wait for.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="avatars-background")
    )
    #: When this process last recorded each API key's use (see ``_record_use``).
    key_uses: dict[uuid.UUID, dt.datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.avatars
    return state


async def get_state(request: Request) -> AppState:
    return state_of(request)


State = Annotated[AppState, Depends(get_state)]


async def run_db(state: AppState, function: Callable[..., T], *args: Any) -> T:
    """Run blocking database work from an ``async`` endpoint.

    On SQLite it runs inline, on the event loop: a read of a local WAL database takes
    microseconds and never waits for a writer, far less than handing the work to a thread and
    back (which costs more than the query itself: it cut throughput by more than half in
    benchmarks/api_latency.py). On PostgreSQL every query is a network round trip, so it goes
    to the thread pool. Only for reads: writes may wait for SQLite's lock."""
    if state.db.is_sqlite:
        return function(*args)
    return await run_in_threadpool(function, *args)


async def read_session(request: Request) -> AsyncIterator[Session]:
    # Creating a session does no I/O; the work with it happens in the (sync) endpoint.
    session = state_of(request).db.read()
    try:
        yield session
    finally:
        session.close()


ReadSession = Annotated[Session, Depends(read_session)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def public_base(request: Request) -> str:
    """The external base URL (``https://host``), used in the URLs given to clients."""
    configured = state_of(request).settings.public_url
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


def _caller_from_user(user: Any, request: Request, **extra: Any) -> Caller:
    """``user``: a User, or a row with its ``id``, ``organization_id``, ``role``, ``email``
    and ``username``."""
    return Caller(
        user_id=user.id,
        organization_id=user.organization_id,
        role=user.role,
        email=user.email,
        username=user.username,
        ip=client_ip(request),
        **extra,
    )


# Built once: these run on every request (plain columns, no ORM objects).
_API_KEY_LOOKUP = (
    select(
        ApiKey.secret_hash,
        ApiKey.revoked_at,
        ApiKey.expires_at,
        ApiKey.last_used_at,
        User.id,
        User.organization_id,
        User.role,
        User.email,
        User.username,
        User.deleted_at,
    )
    .join(User, User.id == ApiKey.user_id)
    .where(ApiKey.id == bindparam("key_id"))
)
_USER_LOOKUP = select(
    User.id, User.organization_id, User.role, User.email, User.username, User.deleted_at
).where(User.id == bindparam("user_id"))

#: A session (a refresh-token family) is over once any of its tokens is revoked: logout,
#: replay of a used refresh token and password reset revoke the whole family at once. Access
#: tokens carry their family, so they die with the session instead of living to expiry.
_SESSION_REVOKED = (
    select(RefreshToken.id)
    .where(RefreshToken.family_id == bindparam("family_id"), RefreshToken.revoked_at.is_not(None))
    .limit(1)
)


def _authenticate_api_key(request: Request, db: Connection | Session, key: str) -> Caller:
    parsed = security.parse_api_key(key)
    if parsed is None:
        raise _unauthorized("Not authenticated: malformed API key", "api-key-v1")
    key_id, secret = parsed
    row = db.execute(_API_KEY_LOOKUP, {"key_id": key_id}).first()
    invalid = _unauthorized("Not authenticated: invalid or revoked API key", "api-key-v1")
    if row is None:
        security.same_hash(security.sha256_hex(secret), "0" * 64)  # same work either way
        raise invalid
    if not security.same_hash(security.sha256_hex(secret), row.secret_hash):
        raise invalid
    now = utcnow()
    if row.revoked_at is not None or row.deleted_at is not None:
        raise invalid
    if row.expires_at <= now:
        raise _unauthorized("Not authenticated: this API key has expired", "api-key-v1")
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        _record_use(state_of(request), key_id, now)
    return _caller_from_user(row, request, via="api_key", api_key_id=key_id)


def _record_use(state: AppState, key_id: uuid.UUID, now: dt.datetime) -> None:
    """Update ``last_used_at`` in the background (a request must not wait for the write lock),
    once per key and resolution period however many requests arrive meanwhile."""
    with state.lock:
        last = state.key_uses.get(key_id)
        if last is not None and now - last < LAST_USED_RESOLUTION:
            return
        state.key_uses[key_id] = now
    state.background.submit(_touch_api_key, state.db, key_id, now)


def _touch_api_key(db: Database, key_id: uuid.UUID, now: dt.datetime) -> None:
    try:
        with db.writing() as writer:
            writer.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    except Exception:  # bookkeeping only: never worth an error
        logging.getLogger(__name__).warning("could not record the use of an API key", exc_info=True)


def _authenticate_bearer(request: Request, db: Connection | Session, token: str) -> Caller:
    state = state_of(request)
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
    user = db.execute(_USER_LOOKUP, {"user_id": user_id}).first()
    if user is None or user.deleted_at is not None:
        raise _unauthorized("Not authenticated: this user no longer exists")
    if family is not None and db.execute(_SESSION_REVOKED, {"family_id": family}).first():
        raise _unauthorized("Not authenticated: this session was logged out or revoked")
    return _caller_from_user(user, request, via="bearer", family_id=family)


def authenticate(request: Request, db: Connection | Session) -> Caller:
    header = request.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if not header or not value:
        raise _unauthorized(NOT_AUTHENTICATED)
    scheme = scheme.lower()
    if scheme == "api-key-v1":
        return _authenticate_api_key(request, db, value)
    if scheme == "bearer":
        return _authenticate_bearer(request, db, value)
    raise _unauthorized(NOT_AUTHENTICATED)


def _authenticate_in_own_session(request: Request) -> Caller:
    with state_of(request).db.read_engine.connect() as connection:
        return authenticate(request, connection)


async def get_caller(request: Request) -> Caller:
    return await run_db(state_of(request), _authenticate_in_own_session, request)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_admin(caller: CurrentCaller) -> Caller:
    if not caller.is_admin:
        raise ApiError(403, "this action needs an organization admin")
    return caller


AdminCaller = Annotated[Caller, Depends(get_admin)]
