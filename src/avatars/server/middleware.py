"""HTTP-level protections, as pure ASGI middleware (no rule of the platform lives here):

- :class:`TrustedProxies`: the client address and scheme come from ``X-Forwarded-For`` and
  ``X-Forwarded-Proto`` only when the connection comes from a proxy of
  ``AVATAR_TRUSTED_PROXIES``; otherwise they are the socket's.
- :class:`RequestGuard`: every request body is bounded (``AVATAR_MAX_REQUEST_BYTES``;
  ``AVATAR_MAX_UPLOAD_BYTES`` for uploads), by ``Content-Length`` before anything is read
  and by counting while it streams; the caller of an endpoint that needs one is
  authenticated before a byte of its body is read; JSON bodies nest at most
  :data:`MAX_JSON_DEPTH` levels.
- :class:`SecurityHeaders`: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy`` and a
  strict ``Content-Security-Policy`` with ``X-Frame-Options`` on every response that does not
  set its own policy.

They are independent of sessions and cookies: a web front end mounted on the same
application gets the same protections.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from avatars.server.bounds import MAX_JSON_DEPTH, json_too_deep

#: Body limit of the endpoints anybody may call (login, password reset): small forms.
PUBLIC_BODY_LIMIT = 64 * 1024
#: Where the authenticated caller is kept in the ASGI scope for the endpoint's dependencies.
CALLER_SCOPE_KEY = "avatars.caller"
#: Where :class:`TrustedProxies` keeps the scheme of the connection itself when a proxy's
#: ``X-Forwarded-Proto`` replaced it (a server calling itself back must use the socket's).
SOCKET_SCHEME_KEY = "avatars.socket_scheme"
#: The policy of responses that set none: nothing may load, nothing may frame them.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


# -- forwarded headers --------------------------------------------------------------------------


def _networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]


class TrustedProxies:
    """Take the client address from ``X-Forwarded-For`` only behind a trusted proxy.

    Walking the list from the right (the entries the trusted proxies appended), the first
    address that is not itself a trusted proxy is the client: what a client writes in the
    header can only be to the left of it, and is never used."""

    def __init__(self, app: ASGIApp, proxies: Iterable[str]) -> None:
        self.app = app
        self.networks = _networks(proxies)

    def trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.strip())
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            client = scope.get("client")
            if client and self.trusted(client[0]):
                scope = self._rewrite(dict(scope))
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> Scope:
        forwarded: list[str] = []
        proto: str | None = None
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded += [part.strip() for part in value.decode("latin-1").split(",")]
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").strip().lower()
        addresses = [part for part in forwarded if part]
        for address in reversed(addresses):
            if not self.trusted(address):
                scope["client"] = (address, 0)
                break
        else:
            if addresses:  # every hop is a trusted proxy: the first one is the client
                scope["client"] = (addresses[0], 0)
        if proto in ("http", "https"):
            scope[SOCKET_SCHEME_KEY] = scope.get("scheme", "http")
            scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
        return scope


# -- request bodies -----------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    """The body is larger than the endpoint accepts (413)."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(
            413, f"the request body is larger than the limit of {limit} bytes ({setting})"
        )


@dataclass(frozen=True)
class BodyPolicy:
    """How a route's request body is guarded."""

    limit: int
    setting: str  # the setting that sets ``limit``, named in the 413 message
    authenticate: bool  # the route needs a caller: authenticate before reading the body
    self_guarded: bool = False  # the route does it all itself (S3 endpoint)
    streamed: bool = False  # never buffered here (nor checked as JSON): uploads, gated routes


def _is_json(scope: Scope) -> bool:
    """Whether the body may be parsed as JSON: a JSON media type, or none at all (older
    FastAPI versions parse a body without ``Content-Type`` as JSON)."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media == "application/json" or (
                media.startswith("application/") and media.endswith("+json")
            )
    return True


def _declared_length(scope: Scope) -> tuple[bool, int | None]:
    """``(has a body, Content-Length)`` of a request."""
    length: int | None = None
    chunked = False
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
                chunked = True  # malformed: guard it like a streamed body
        elif name == b"transfer-encoding":
            chunked = True
    return chunked or bool(length), length


Authenticator = Callable[[Scope], Awaitable[Any]]
ErrorResponder = Callable[[BaseException], ASGIApp | None]


class RequestGuard:
    """Bound every request body, and authenticate before reading it.

    ``policy_of(scope)`` gives the :class:`BodyPolicy` of a request (:meth:`BodyRules.policy_of`);
    ``authenticate(scope)`` returns the caller (kept in ``scope[CALLER_SCOPE_KEY]``) or raises;
    ``respond(exc)`` turns what ``authenticate`` raised into a response (None: re-raise)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        policy_of: Callable[[Scope], BodyPolicy],
        authenticate: Authenticator,
        respond: ErrorResponder,
    ) -> None:
        self.app = app
        self.policy_of = policy_of
        self.authenticate = authenticate
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body, length = _declared_length(scope)
        if not has_body:
            await self.app(scope, receive, send)
            return
        policy = self.policy_of(scope)
        if policy.self_guarded:
            await self.app(scope, receive, send)
            return
        if length is not None and length > policy.limit:
            await _error(scope, receive, send, BodyTooLarge(policy.limit, policy.setting))
            return
        if policy.authenticate:
            try:
                scope[CALLER_SCOPE_KEY] = await self.authenticate(scope)
            except Exception as exc:
                response = self.respond(exc)
                if response is None:
                    raise
                await response(scope, receive, _closing(send))
                return
        body = _LimitedBody(receive, policy)
        try:
            if not policy.streamed and _is_json(scope):
                content = await body.read_all()
                if json_too_deep(content):
                    problem = f"the JSON body nests more than {MAX_JSON_DEPTH} levels deep"
                    await _error(scope, receive, send, HTTPException(422, problem))
                    return
                receive = _replay(content, receive)
            else:
                receive = body.receive
            await self.app(scope, receive, body.wrap_send(send))
        except BodyTooLarge as exc:
            if body.response_started:
                raise
            await _error(scope, receive, send, exc)


class _LimitedBody:
    """The request's ``receive``, counting the body's bytes against the policy's limit."""

    def __init__(self, receive: Receive, policy: BodyPolicy) -> None:
        self._receive = receive
        self._policy = policy
        self.size = 0
        self.complete = False
        self.response_started = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self._policy.limit:
                raise BodyTooLarge(self._policy.limit, self._policy.setting)
            self.complete = not message.get("more_body", False)
        return message

    async def read_all(self) -> bytes:
        chunks = []
        while not self.complete:
            message = await self.receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
        return b"".join(chunks)

    def wrap_send(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.response_started = True
                if not self.complete:
                    # An answer before the whole body arrived (an error): the rest of the body
                    # would be taken for the next request. Close the connection instead.
                    message = _with_header(message, b"connection", b"close")
            await send(message)

        return wrapped


def _replay(content: bytes, receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": content, "more_body": False}]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()  # http.disconnect, when the client goes

    return replayed


def _with_header(message: Message, name: bytes, value: bytes) -> Message:
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != name]
    return {**message, "headers": [*headers, (name, value)]}


def _closing(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = _with_header(message, b"connection", b"close")
        await send(message)

    return wrapped


async def _error(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    """A JSON error answer in the API's shape, closing the connection (the body is unread)."""
    message = str(exc.detail)
    body = json.dumps({"detail": {"message": message}, "message": message}).encode()
    await _closing(send)(
        {
            "type": "http.response.start",
            "status": exc.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class BodyRules:
    """Which requests may carry which bodies, by method and path (default: deny).

    - ``public``: ``(method, path)`` of the endpoints anybody may call with a body (login,
      password reset): :data:`PUBLIC_BODY_LIMIT`, no authentication;
    - ``uploads``: ``(method, path pattern)`` of streamed uploads: ``max_upload_bytes``;
    - ``self_guarded``: path prefixes whose endpoint authenticates and bounds its bodies
      itself (the S3 endpoint);
    - ``gated``: path prefixes whose endpoint authenticates the caller from the headers by
      its own rule before it reads a byte of the body (the MCP mount, whose bearer token is
      an API key): bounded by ``max_request_bytes`` and counted while it streams, never
      read here;
    - every other request with a body is authenticated before it is read, and bounded by
      ``max_request_bytes``: a new endpoint is protected without anyone thinking of it.
    """

    public: frozenset[tuple[str, str]]
    uploads: tuple[tuple[str, re.Pattern[str]], ...]
    self_guarded: tuple[str, ...]
    max_request_bytes: int
    max_upload_bytes: int
    gated: tuple[str, ...] = ()
    #: Where the API's credentials are required for a body; every other path is the web
    #: pages', which check their session cookie before they read a body (bounded like
    #: ``gated``, its uploads ``web_uploads`` by ``max_upload_bytes``). Empty: everywhere.
    api_prefixes: tuple[str, ...] = ()
    web_uploads: tuple[tuple[str, re.Pattern[str]], ...] = ()

    def policy_of(self, scope: Scope) -> BodyPolicy:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        method = scope.get("method", "")
        if _under(path, self.self_guarded):
            return BodyPolicy(self.max_upload_bytes, "AVATAR_MAX_UPLOAD_BYTES", False, True)
        if _under(path, self.gated):
            return BodyPolicy(
                self.max_request_bytes, "AVATAR_MAX_REQUEST_BYTES", False, streamed=True
            )
        if (method, path) in self.public:
            return BodyPolicy(
                min(PUBLIC_BODY_LIMIT, self.max_request_bytes), "public endpoint", False
            )
        for upload_method, pattern in self.uploads:
            if method == upload_method and pattern.fullmatch(path):
                return BodyPolicy(
                    self.max_upload_bytes, "AVATAR_MAX_UPLOAD_BYTES", True, streamed=True
                )
        if self.api_prefixes and not _under(path, self.api_prefixes):
            for upload_method, pattern in self.web_uploads:
                if method == upload_method and pattern.fullmatch(path):
                    return BodyPolicy(
                        self.max_upload_bytes, "AVATAR_MAX_UPLOAD_BYTES", False, streamed=True
                    )
            return BodyPolicy(
                self.max_request_bytes, "AVATAR_MAX_REQUEST_BYTES", False, streamed=True
            )
        return BodyPolicy(self.max_request_bytes, "AVATAR_MAX_REQUEST_BYTES", True)


def _under(path: str, prefixes: Iterable[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


# -- response headers ---------------------------------------------------------------------------


class SecurityHeaders:
    """``nosniff`` and ``no-referrer`` on every response; the strict :data:`DEFAULT_CSP` and
    ``X-Frame-Options: DENY`` on those that set no policy of their own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", DEFAULT_CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
