"""The MCP server on the platform: ``avatars serve --mcp`` (or ``AVATAR_MCP=1``) answers MCP
over streamable HTTP at ``/mcp``.

Every request carries ``Authorization: Bearer <API key>`` (the MCP clients' way of sending a
credential); the key is checked by the platform's own rule,
:func:`avatars.server.services.keys.authenticate_api_key`, before any tool runs, and a
request without a valid key gets 401. Tools then act for the caller and nobody else: they use
the platform's API with the caller's key (the SDK, over the address the request came in
on), so every listing and every result is scoped by the same services as the REST API, and
the MCP layer keeps no state of its own (stateless HTTP: any API process can answer any
request). Tools read no file of the server's machine and write none.
"""

from __future__ import annotations

import json

from fastmcp.server.auth import AccessToken
from fastmcp.server.dependencies import get_access_token, get_http_request
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from avatars.mcp.errors import UsageError
from avatars.mcp.platform import PlatformRuns
from avatars.mcp.runs import Runs
from avatars.mcp.server import Access, create_server
from avatars.server.deps import AppState, run_db
from avatars.server.middleware import SOCKET_SCHEME_KEY
from avatars.server.services import keys
from avatars.server.services.context import Caller
from avatars.server.services.errors import Unauthenticated

PATH = "/mcp"
NO_KEY = (
    "Not authenticated: send 'Authorization: Bearer <API key>' (create a key with `avatars "
    "api-keys create` or POST /api/api-keys)"
)


class ApiKeyGate:
    """Lets a request through to the MCP app only with a valid API key, as
    ``Authorization: Bearer <key>`` (or ``api-key-v1 <key>``, the REST API's scheme); the
    caller is then in the request as FastMCP's authenticated user (``get_access_token``)."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scheme, _, key = Headers(scope=scope).get("authorization", "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() not in ("bearer", keys.SCHEME) or not key:
            await _refuse(send, NO_KEY)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        try:
            caller = await run_db(self.state, self._authenticate, key, ip)
        except Unauthenticated as exc:
            await _refuse(send, exc.message)
            return
        token = AccessToken(
            token=key,
            client_id=str(caller.user_id),
            scopes=[],
            claims={"organization_id": str(caller.organization_id)},
        )
        scope = {**scope, "user": AuthenticatedUser(token), "auth": AuthCredentials([])}
        await self.app(scope, receive, send)

    def _authenticate(self, key: str, ip: str) -> Caller:
        with self.state.db.connection() as connection:
            return keys.authenticate_api_key(self.state, connection, key, ip=ip)


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b"Bearer"),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class CallerAccess(Access):
    """The platform, as the authenticated caller of the current request."""

    files_allowed = False

    def places(self) -> list[Runs]:
        token = get_access_token()
        if token is None:  # the route is protected: only a misconfiguration gets here
            raise UsageError("not authenticated: send Authorization: Bearer <API key>")
        return [PlatformRuns(_own_base_url(), token.token)]


def _own_base_url() -> str:
    return own_base_url(get_http_request().scope)


def own_base_url(scope: Scope) -> str:
    """This server's address as the request of ``scope`` reached it (the listening socket
    and its scheme, not the Host header a client chose nor the scheme a TLS-terminating
    proxy told), for the SDK's calls back to the API."""
    host, port = scope.get("server") or (None, None)
    if not host or port is None:
        raise UsageError("this server listens on a socket without an address: use TCP")
    shown = f"[{host}]" if ":" in str(host) else str(host)
    socket_scheme = scope.get(SOCKET_SCHEME_KEY, scope.get("scheme"))
    scheme = "https" if socket_scheme == "https" else "http"
    return f"{scheme}://{shown}:{port}"


def create_mcp_app() -> Starlette:
    """The ASGI app answering MCP at :data:`PATH`: route it there behind :class:`ApiKeyGate`
    (:func:`mcp_route`) and run its lifespan."""
    # No FastMCP auth provider: ApiKeyGate is the only way in, and says what to do in the
    # platform's words (FastMCP's bearer errors talk about OAuth re-registration).
    server = create_server(CallerAccess())
    return server.http_app(path=PATH, stateless_http=True, json_response=True)


def mcp_route(app: Starlette, state: AppState) -> Route:
    """A route of the platform's app that hands :data:`PATH` to ``app`` once the caller's API
    key is checked."""
    return Route(PATH, endpoint=ApiKeyGate(app, state), methods=["GET", "POST", "DELETE"])
