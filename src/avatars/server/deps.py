"""Request dependencies: the application state and the authenticated caller.

Authentication accepts ``Authorization: api-key-v1 <key>`` and ``Authorization: Bearer
<access token>`` on every protected endpoint; the services check the credentials
(:func:`avatars.server.services.keys.authenticate_api_key`,
:func:`avatars.server.services.accounts.authenticate_bearer`).

Visibility: a user sees what they own; an organization admin also sees everything of their
organization. Anything else answers 404, exactly like an object that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from avatars.server.middleware import CALLER_SCOPE_KEY
from avatars.server.services import accounts, keys
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import Forbidden, Unauthenticated

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from avatars.server.jobs.dispatcher import Dispatcher

T = TypeVar("T")

__all__ = ["AdminCaller", "AppState", "Caller", "CurrentCaller", "State", "authenticate"]


@dataclass
class AppState(Context):
    """The services' :class:`Context`, plus what only the API process has."""

    dispatcher: Dispatcher | None = None

    def jobs_changed(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()


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


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def public_base(request: Request) -> str:
    """The external base URL (``https://host``), used in the URLs given to clients."""
    configured = state_of(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


NOT_AUTHENTICATED = (
    "Not authenticated: send 'Authorization: api-key-v1 <key>' or 'Authorization: Bearer <token>'"
)


def authenticate(request: Request, connection: Connection) -> Caller:
    """The caller of ``request``, checked on ``connection`` (:class:`Unauthenticated`)."""
    header = request.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if not header or not value:
        raise Unauthenticated(NOT_AUTHENTICATED)
    scheme = scheme.lower()
    state = state_of(request)
    if scheme == keys.SCHEME:
        return keys.authenticate_api_key(state, connection, value, ip=client_ip(request))
    if scheme == "bearer":
        return accounts.authenticate_bearer(state, connection, value, ip=client_ip(request))
    raise Unauthenticated(NOT_AUTHENTICATED)


def _authenticate_in_own_connection(request: Request) -> Caller:
    with state_of(request).db.connection() as connection:
        return authenticate(request, connection)


async def authenticate_request(request: Request) -> Caller:
    """The caller of ``request``, from its headers alone (:class:`Unauthenticated`)."""
    return await run_db(state_of(request), _authenticate_in_own_connection, request)


async def get_caller(request: Request) -> Caller:
    # Requests with a body were authenticated before it was read (middleware.RequestGuard).
    caller = request.scope.get(CALLER_SCOPE_KEY)
    if isinstance(caller, Caller):
        return caller
    return await authenticate_request(request)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_admin(caller: CurrentCaller) -> Caller:
    if not caller.is_admin:
        raise Forbidden("this action needs an organization admin")
    return caller


AdminCaller = Annotated[Caller, Depends(get_admin)]
