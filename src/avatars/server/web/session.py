"""The browser's session: one signed, HttpOnly, SameSite cookie tied to a login session.

A login through the web calls :func:`avatars.server.services.accounts.login`, exactly as
``POST /api/login`` does: it starts a session, that is a family of refresh tokens. The cookie
names the user and that family, signed (HS256) with a key derived from the server's secret key.
Every request checks them again through :func:`accounts.authenticate_bearer`, so whatever ends
an API session ends the web session at once: logging out (here or through the API), a password
reset, a replayed refresh token, the user's deletion.

The cookie also ends by itself: after ``web_session_idle_minutes`` without a request, and at
the latest ``refresh_token_days`` after the login (when the login's refresh token would have
expired). Times are read from the application's clock.

CSRF: the cookie carries a random token that every form and script must send back, in the
form field ``csrf_token`` or the header ``X-CSRF-Token`` (compared in constant time). Visitors
who are not logged in get one too, so that the login form is protected as well; a login gets a
fresh one. Besides, the cookie is ``SameSite=Lax``: another site's form posts carry no cookie.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from fastapi import Request, Response

from avatars.server import security
from avatars.server.services import accounts
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import Unauthenticated

COOKIE_NAME = "avatars_web"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Methods that change nothing: no CSRF token needed.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: A visitor's cookie (no login) lives this long without a visit.
ANONYMOUS_LIFETIME = dt.timedelta(days=1)
#: The cookie is signed again (its idle deadline moved) at most this often.
RENEW_AFTER = dt.timedelta(seconds=60)
_TYPE = "avatars-web"


class LoginRequired(Exception):
    """The page needs a logged-in user and the request has none (or its session ended)."""


class CsrfRefused(Exception):
    """An unsafe request without the session's CSRF token."""


@dataclass
class WebSession:
    """What the cookie holds. ``user_id``/``family_id`` are set while logged in."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    language: str | None = None
    user_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    #: Login time and last signature, in seconds since the epoch (the application's clock).
    started_at: float | None = None
    signed_at: float = 0.0
    #: A message for the next page shown (then forgotten), e.g. "password changed".
    flash: str | None = None
    #: Whether the cookie must be written with the response.
    changed: bool = False

    @property
    def logged_in(self) -> bool:
        return self.user_id is not None and self.family_id is not None

    def update(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)
        self.changed = True


def _signing_key(ctx: Context) -> bytes:
    """A key of its own for the cookie: an access token can never pass for a cookie, nor the
    reverse."""
    return hmac.new(ctx.secret_key.encode(), b"avatars-web-session", hashlib.sha256).digest()


def _now(ctx: Context) -> float:
    return ctx.now().timestamp()


def encode(ctx: Context, web: WebSession) -> str:
    claims: dict[str, Any] = {
        "typ": _TYPE,
        "csrf": web.csrf,
        "lang": web.language,
        "iat": web.signed_at,
    }
    if web.logged_in:
        claims.update(sub=str(web.user_id), fam=str(web.family_id), started=web.started_at)
    if web.flash:
        claims["flash"] = web.flash
    return jwt.encode(claims, _signing_key(ctx), algorithm="HS256")


def _idle_limit(ctx: Context) -> dt.timedelta:
    return dt.timedelta(minutes=ctx.settings.web_session_idle_minutes)


def decode(ctx: Context, token: str) -> WebSession | None:
    """The session of a cookie value, or None when it is forged, malformed or expired. A login
    that has expired leaves a visitor's session (same CSRF token and language)."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(ctx),
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["typ", "csrf", "iat"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != _TYPE or not isinstance(claims.get("csrf"), str):
        return None
    now = _now(ctx)
    signed_at = float(claims["iat"])
    language = claims.get("lang") if isinstance(claims.get("lang"), str) else None
    web = WebSession(csrf=claims["csrf"], language=language, signed_at=signed_at)
    web.flash = claims.get("flash") if isinstance(claims.get("flash"), str) else None
    if claims.get("sub") and claims.get("fam"):
        started = float(claims.get("started") or 0)
        lifetime = dt.timedelta(days=ctx.settings.refresh_token_days).total_seconds()
        fresh = now - signed_at <= _idle_limit(ctx).total_seconds() and now - started <= lifetime
        if fresh:
            try:
                web.user_id = uuid.UUID(str(claims["sub"]))
                web.family_id = uuid.UUID(str(claims["fam"]))
            except ValueError:
                return None
            web.started_at = started
            return web
        web.changed = True  # the login is over: write the visitor's cookie back
        return web
    if now - signed_at > ANONYMOUS_LIFETIME.total_seconds():
        return None
    return web


def load(request: Request, ctx: Context) -> WebSession:
    """The request's session (a new visitor's one when there is no valid cookie), kept on
    ``request.state.web`` for the rest of the request."""
    existing = getattr(request.state, "web", None)
    if isinstance(existing, WebSession):
        return existing
    token = request.cookies.get(COOKIE_NAME)
    web = decode(ctx, token) if token else None
    if web is None:
        web = WebSession(changed=True)
    request.state.web = web
    return web


def _is_secure(request: Request, ctx: Context) -> bool:
    public = ctx.settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def save(request: Request, ctx: Context, web: WebSession, response: Response) -> None:
    """Write the cookie when the session changed, or to move its idle deadline."""
    now = _now(ctx)
    if not web.changed and now - web.signed_at < RENEW_AFTER.total_seconds():
        return
    web.signed_at = now
    lifetime = _idle_limit(ctx) if web.logged_in else ANONYMOUS_LIFETIME
    response.set_cookie(
        COOKIE_NAME,
        encode(ctx, web),
        max_age=int(lifetime.total_seconds()),
        path="/",
        secure=_is_secure(request, ctx),
        httponly=True,
        samesite="lax",
    )
    web.changed = False


# -- logging in and out -------------------------------------------------------------------------


def log_in(ctx: Context, web: WebSession, *, username: str, password: str, ip: str) -> None:
    """Log in through :func:`accounts.login` (its lockout, its events) and tie the session to
    the login's refresh-token family. A new CSRF token: nothing learnt before the login serves
    after it."""
    tokens = accounts.login(ctx, username=username, password=password, ip=ip)
    claims = security.decode_access_token(ctx.secret_key, tokens.access_token, now=ctx.now())
    web.update(
        user_id=uuid.UUID(str(claims["sub"])),
        family_id=uuid.UUID(str(claims["fam"])),
        started_at=_now(ctx),
        csrf=secrets.token_urlsafe(32),
    )


def log_out(ctx: Context, web: WebSession, caller: Caller | None) -> None:
    """End the login session everywhere (:func:`accounts.logout` revokes the family)."""
    if caller is not None:
        accounts.logout(ctx, caller)
    web.update(
        user_id=None, family_id=None, started_at=None, csrf=secrets.token_urlsafe(32), flash=None
    )


def caller_of(ctx: Context, web: WebSession, *, ip: str) -> Caller | None:
    """The logged-in user, checked now, or None (and the session forgets its login).

    The check is :func:`accounts.authenticate_bearer` on a one-minute access token of the
    session's family: the user must still exist and the family must not be revoked.
    """
    if not web.logged_in:
        return None
    assert web.user_id is not None and web.family_id is not None
    token = security.create_access_token(
        ctx.secret_key, web.user_id, web.family_id, dt.timedelta(minutes=1), now=ctx.now()
    )
    try:
        with ctx.db.connection() as connection:
            caller = accounts.authenticate_bearer(ctx, connection, token, ip=ip)
    except Unauthenticated:
        web.update(user_id=None, family_id=None, started_at=None)
        return None
    return dataclasses.replace(caller, via="web")


def check_csrf(web: WebSession, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), web.csrf.encode()):
        raise CsrfRefused()
