"""Accounts: organizations, users, passwords, login (with its lockout), sessions and their
tokens, password reset.

- Login counts failed attempts per (user name, client address) in the database, so that
  several API processes agree; past ``login_max_failures`` within
  ``login_failure_window_seconds`` it answers :class:`RateLimited`, even for the right password.
- A login starts a session: a family of single-use refresh tokens. Each refresh returns a new
  pair; presenting a used token again revokes its whole family (it was stolen, or replayed).
  Access tokens carry their family, so they die with the session instead of living to expiry.
- Password-reset tokens are single use and expire after ``password_reset_minutes``; they are
  delivered by e-mail or to the server log (:mod:`avatars.server.mail`).

The functions taking a ``session`` are building blocks (the command line and the admin
bootstrap use them); the others take the :class:`Context` and open their own transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from avatars.protocol.enums import ObjectType, Verb
from avatars.server import security
from avatars.server.clock import utc_now
from avatars.server.db import affected_rows
from avatars.server.db.models import (
    ApiKey,
    LoginAttempt,
    Organization,
    PasswordResetToken,
    RefreshToken,
    StorageCredential,
    User,
)
from avatars.server.mail import deliver_reset_token
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from avatars.server.services.events import record, record_event

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
ADMIN_ROLE = "admin"
USER_ROLE = "user"


# -- organizations and users: building blocks ------------------------------------------------------


def get_or_create_organization(
    session: Session, name: str, *, now: dt.datetime | None = None
) -> Organization:
    org = session.scalars(select(Organization).where(Organization.name == name)).first()
    if org is None:
        org = Organization(name=name, created_at=now or utc_now())
        session.add(org)
        session.flush()
    return org


def live_user_with(session: Session, *, email: str | None, username: str | None) -> User | None:
    """The live (not deleted) user with this e-mail, else with this user name, or None."""
    conditions = []
    if email:
        conditions.append(User.email == email)
    if username:
        conditions.append(User.username == username)
    for condition in conditions:
        found = session.scalars(select(User).where(User.deleted_at.is_(None), condition)).first()
        if found is not None:
            return found
    return None


def create_user(
    session: Session,
    *,
    organization_id: uuid.UUID,
    email: str | None,
    username: str | None = None,
    password: str | None = None,
    role: str = USER_ROLE,
    password_hash: str | None = None,
    now: dt.datetime | None = None,
) -> User:
    """A new user; :class:`InvalidInput` for a bad e-mail, role or password, :class:`Conflict`
    when the e-mail or user name is taken."""
    email = (email or "").strip().lower()
    username = username.strip() if username else None
    if not email and username and _EMAIL.match(username):
        email = username.lower()  # 1.20's CreateUser allows a user name only
    if not email or not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInput("a valid e-mail address is required to create a user")
    if role not in (ADMIN_ROLE, USER_ROLE):
        raise InvalidInput("role must be 'admin' or 'user'")
    if password is not None:
        problem = security.password_problem(password)
        if problem:
            raise InvalidInput(problem)
        password_hash = security.hash_password(password)
    if live_user_with(session, email=email, username=username) is not None:
        raise Conflict("a user with this e-mail or user name already exists")
    user = User(
        organization_id=organization_id,
        email=email,
        username=username,
        password_hash=password_hash,
        role=role,
        created_at=now or utc_now(),
    )
    session.add(user)
    session.flush()
    return user


def delete_user(session: Session, user: User, *, now: dt.datetime) -> None:
    """Soft delete: the user can no longer log in; keys, sessions and storage keys are revoked.
    Their jobs and files stay (an admin of the organization still sees them)."""
    user.deleted_at = now
    for table in (ApiKey, RefreshToken, StorageCredential):
        session.execute(
            update(table)
            .where(table.user_id == user.id, table.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def ensure_admin(ctx: Context) -> None:
    """Create the admin named by AVATAR_ADMIN_EMAIL / AVATAR_ADMIN_PASSWORD if absent."""
    settings = ctx.settings
    if not settings.admin_email or settings.admin_password is None:
        return
    email = settings.admin_email.strip().lower()
    try:
        with ctx.db.writing() as session:
            if live_user_with(session, email=email, username=None) is not None:
                return
            org = get_or_create_organization(session, settings.admin_organization, now=ctx.now())
            create_user(
                session,
                organization_id=org.id,
                email=email,
                password=settings.admin_password.get_secret_value(),
                role=ADMIN_ROLE,
                now=ctx.now(),
            )
    except IntegrityError:  # another API process starting at the same time created it
        return
    log.info("created the admin user %s", email)


def has_users(ctx: Context) -> bool:
    """Whether anybody can log in at all (a live user exists)."""
    with ctx.db.reading() as session:
        live = select(User.id).where(User.deleted_at.is_(None)).limit(1)
        return session.scalars(live).first() is not None


def list_all_users(session: Session) -> list[tuple[User, str]]:
    """Every live user of the platform with their organization's name (the command line's
    listing: it is the platform's operator who asks)."""
    rows = session.execute(
        select(User, Organization.name)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.deleted_at.is_(None))
        .order_by(User.created_at)
    )
    return [(user, name) for user, name in rows.tuples()]


# -- users of an organization ----------------------------------------------------------------------


def _visible_user(session: Session, caller: Caller, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if (
        user is None
        or user.deleted_at is not None
        or not caller.can_see(user.id, user.organization_id)
    ):
        raise NotFound.of("user")
    return user


def list_users(
    ctx: Context, caller: Caller, *, email: str | None = None, username: str | None = None
) -> list[User]:
    """Live users the caller may see (an admin: their organization's; a user: themself)."""
    query = select(User).where(User.deleted_at.is_(None))
    if caller.is_admin:
        query = query.where(User.organization_id == caller.organization_id)
    else:
        query = query.where(User.id == caller.user_id)
    if email:
        query = query.where(User.email == email.strip().lower())
    if username:
        query = query.where(User.username == username.strip())
    with ctx.db.reading() as session:
        return list(session.scalars(query.order_by(User.created_at)))


def get_user(ctx: Context, caller: Caller, user_id: uuid.UUID) -> User:
    with ctx.db.reading() as session:
        return _visible_user(session, caller, user_id)


def _need_admin(caller: Caller, message: str = "this action needs an organization admin") -> None:
    if not caller.is_admin:
        raise Forbidden(message)


def create_member(
    ctx: Context,
    caller: Caller,
    *,
    email: str | None,
    username: str | None = None,
    password: str | None = None,
    role: str = USER_ROLE,
) -> User:
    """A new user in the admin caller's organization."""
    _need_admin(caller)
    with ctx.db.writing() as session:
        user = create_user(
            session,
            organization_id=caller.organization_id,
            email=email,
            username=username,
            password=password,
            role=role,
            now=ctx.now(),
        )
        record(
            session,
            ctx,
            caller,
            Verb.create,
            ObjectType.user,
            object_id=user.id,
            object_name=user.email,
        )
        return user


def delete_member(ctx: Context, caller: Caller, user_id: uuid.UUID) -> User:
    """Delete (softly) a user of the admin caller's organization, not themself."""
    with ctx.db.writing() as session:
        user = _visible_user(session, caller, user_id)
        _need_admin(caller, "deleting a user needs an organization admin")
        if user.id == caller.user_id:
            raise Conflict("you cannot delete yourself")
        delete_user(session, user, now=ctx.now())
        record(
            session,
            ctx,
            caller,
            Verb.delete,
            ObjectType.user,
            object_id=user.id,
            object_name=user.email,
        )
        return user


# -- authentication by access token ----------------------------------------------------------------


def caller_from(user: Any, *, ip: str, **extra: Any) -> Caller:
    """``user``: a User, or a row with its ``id``, ``organization_id``, ``role``, ``email``
    and ``username``."""
    return Caller(
        user_id=user.id,
        organization_id=user.organization_id,
        role=user.role,
        email=user.email,
        username=user.username,
        ip=ip,
        **extra,
    )


# Built once: they run on every request (plain columns, no ORM objects).
_USER_LOOKUP = select(
    User.id, User.organization_id, User.role, User.email, User.username, User.deleted_at
).where(User.id == bindparam("user_id"))
#: A session (a refresh-token family) is over once any of its tokens is revoked: logout,
#: replay of a used refresh token and password reset revoke the whole family at once.
_SESSION_REVOKED = (
    select(RefreshToken.id)
    .where(RefreshToken.family_id == bindparam("family_id"), RefreshToken.revoked_at.is_not(None))
    .limit(1)
)


def authenticate_bearer(
    ctx: Context, connection: Connection | Session, token: str, *, ip: str
) -> Caller:
    """The caller an access token stands for, or :class:`Unauthenticated`. An expired token
    says "Access token credentials expired": the official client looks for "credentials
    expired" to refresh its tokens (protocol.md §2.2)."""
    try:
        claims = security.decode_access_token(ctx.secret_key, token, now=ctx.now())
    except security.TokenExpired:
        raise Unauthenticated("Access token credentials expired") from None
    except security.TokenInvalid:
        raise Unauthenticated("Not authenticated: invalid access token") from None
    try:
        user_id = uuid.UUID(claims["sub"])
        family = uuid.UUID(claims["fam"]) if claims.get("fam") else None
    except (ValueError, TypeError):
        raise Unauthenticated("Not authenticated: invalid access token") from None
    user = connection.execute(_USER_LOOKUP, {"user_id": user_id}).first()
    if user is None or user.deleted_at is not None:
        raise Unauthenticated("Not authenticated: this user no longer exists")
    if family is not None and connection.execute(_SESSION_REVOKED, {"family_id": family}).first():
        raise Unauthenticated("Not authenticated: this session was logged out or revoked")
    return caller_from(user, ip=ip, via="bearer", family_id=family)


# -- login, sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """What a login or a refresh gives: a short-lived access token and a refresh token."""

    access_token: str
    refresh_token: str


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
    session: Session, ctx: Context, user: User, family_id: uuid.UUID | None = None
) -> Tokens:
    """A new access token and a new refresh token (in ``family_id``, or a new family)."""
    settings = ctx.settings
    now = ctx.now()
    family_id = family_id or uuid.uuid4()
    refresh_token = security.new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=security.sha256_hex(refresh_token),
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.refresh_token_days),
        )
    )
    access = security.create_access_token(
        ctx.secret_key,
        user.id,
        family_id,
        dt.timedelta(minutes=settings.access_token_minutes),
        now=now,
    )
    return Tokens(access_token=access, refresh_token=refresh_token)


def _check_rate_limit(session: Session, ctx: Context, username: str, ip: str) -> None:
    settings = ctx.settings
    window = dt.timedelta(seconds=settings.login_failure_window_seconds)
    now = ctx.now()
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.created_at)).where(
            LoginAttempt.username == username,
            LoginAttempt.ip == ip,
            LoginAttempt.created_at > now - window,
        )
    ).one()
    if count >= settings.login_max_failures:
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        wait = (oldest + window - now).total_seconds() if oldest else window.total_seconds()
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many failed logins; try again in {retry_after} seconds", retry_after=retry_after
        )


def login(ctx: Context, *, username: str, password: str, ip: str) -> Tokens:
    """Log in with a user name (or e-mail) and password: a new session's tokens."""
    key = username.strip().lower()
    with ctx.db.reading() as session:
        _check_rate_limit(session, ctx, key, ip)
        user = find_login_user(session, username)
    # argon2 is slow on purpose: verify outside any transaction.
    ok = security.verify_password(user.password_hash if user else None, password)
    now = ctx.now()
    with ctx.db.writing() as session:
        if not ok or user is None:
            session.add(LoginAttempt(username=key, ip=ip, created_at=now))
            # Keep the table small: forget failures older than the window.
            horizon = now - dt.timedelta(seconds=ctx.settings.login_failure_window_seconds)
            session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < horizon))
        else:
            session.execute(
                delete(LoginAttempt).where(LoginAttempt.username == key, LoginAttempt.ip == ip)
            )
            tokens = issue_tokens(session, ctx, user)
            record_event(
                session,
                Verb.login,
                ObjectType.user,
                object_id=user.id,
                user_id=user.id,
                organization_id=user.organization_id,
                ip=ip,
                at=now,
            )
    if not ok or user is None:
        raise Unauthenticated("incorrect user name or password")
    return tokens


def _refresh_problem(session: Session, row: RefreshToken | None, now: dt.datetime) -> str | None:
    if row is None:
        return "invalid refresh token; log in again"
    if row.revoked_at is not None:
        return "this session was revoked; log in again"
    if row.used_at is not None:
        # A used token presented again: whoever holds it, the family is compromised.
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return "this refresh token was already used; the session is revoked, log in again"
    if row.expires_at <= now:
        return "the refresh token has expired; log in again"
    return None


def refresh(ctx: Context, token: str) -> Tokens:
    """Exchange a refresh token (single use) for a new pair in the same session."""
    token_hash = security.sha256_hex(token)
    now = ctx.now()
    with ctx.db.writing() as session:
        row = session.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        ).first()
        problem = _refresh_problem(session, row, now)
        if problem is None and row is not None:
            user = session.get(User, row.user_id)
            if user is None or user.deleted_at is not None:
                problem = "this user no longer exists"
            else:
                claimed = affected_rows(
                    session.execute(
                        update(RefreshToken)
                        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                        .values(used_at=now)
                    )
                )
                if claimed != 1:
                    problem = "this refresh token was already used; log in again"
                else:
                    tokens = issue_tokens(session, ctx, user, row.family_id)
    if problem is not None:
        raise Unauthenticated(problem)
    return tokens


def logout(ctx: Context, caller: Caller) -> None:
    """End the caller's session (all its tokens), if they came with one."""
    with ctx.db.writing() as session:
        if caller.family_id is not None:
            session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.family_id == caller.family_id, RefreshToken.revoked_at.is_(None)
                )
                .values(revoked_at=ctx.now())
            )
        record(session, ctx, caller, Verb.logout, ObjectType.user, object_id=caller.user_id)


# -- password reset --------------------------------------------------------------------------------


def request_password_reset(ctx: Context, email: str) -> None:
    """Send a reset token to the user with this e-mail (or user name), if there is one. Says
    nothing either way: the answer must not tell who has an account."""
    settings = ctx.settings
    token = uuid.uuid4()
    now = ctx.now()
    with ctx.db.writing() as session:
        user = find_login_user(session, email)
        if user is not None:
            session.add(
                PasswordResetToken(
                    user_id=user.id,
                    token_hash=security.sha256_hex(str(token)),
                    created_at=now,
                    expires_at=now + dt.timedelta(minutes=settings.password_reset_minutes),
                )
            )
    if user is not None:
        deliver_reset_token(settings, user.email, str(token), settings.password_reset_minutes)


def reset_password(
    ctx: Context,
    *,
    token: uuid.UUID | str,
    email: str,
    new_password: str,
    new_password_repeated: str,
    ip: str,
) -> None:
    """Set a new password with a reset token; ends every session and clears the lockout."""
    if new_password != new_password_repeated:
        raise InvalidRequest("the two passwords are different")
    problem = security.password_problem(new_password)
    if problem:
        raise InvalidRequest(problem)
    new_hash = security.hash_password(new_password)
    now = ctx.now()
    token_hash = security.sha256_hex(str(token))
    with ctx.db.writing() as session:
        reset = session.scalars(
            select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash)
        ).first()
        user = session.get(User, reset.user_id) if reset is not None else None
        if (
            reset is None
            or user is None
            or user.deleted_at is not None
            or user.email != email.strip().lower()
            or reset.used_at is not None
            or reset.expires_at <= now
        ):
            valid = False
        else:
            valid = True
            reset.used_at = now
            user.password_hash = new_hash
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
                ip=ip,
                at=now,
                details={"what": "password reset"},
            )
    if not valid:
        raise InvalidRequest("invalid or expired reset token")
