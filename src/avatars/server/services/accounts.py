"""Accounts: organizations, users, passwords, login (with its lockout), sessions and their
tokens, password reset.

- Users answer to their e-mail and user name in one normalized namespace
  (:mod:`avatars.server.services.identities`): a login finds exactly one account.
- Login counts failed attempts (:mod:`avatars.server.services.ratelimit`) per account and
  client address, per account, and per client address (password spraying); past a limit it
  answers :class:`RateLimited`, even for the right password.
- A login starts a session: a family of single-use refresh tokens. Each refresh returns a new
  pair; presenting a used token again revokes its whole family (it was stolen, or replayed).
  Access tokens carry their family, so they die with the session instead of living to expiry.
- Password-reset tokens are single use and expire after ``password_reset_minutes``. They are
  sent by e-mail (:mod:`avatars.server.mail`) when SMTP is configured, else an admin issues
  one with ``avatars users reset-password``; no token is ever written to a log. Requests are
  limited per address and per client.
- Storage key pairs die with the API key or session that obtained them, and all of a user's
  with a password reset (:mod:`avatars.server.services.credentials`).

The functions taking a ``session`` are building blocks (the command line and the admin
bootstrap use them); the others take the :class:`Context` and open their own transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from avatars.protocol.enums import ObjectType, Verb
from avatars.server import security
from avatars.server.clock import utc_now
from avatars.server.db import affected_rows
from avatars.server.db.models import (
    ApiKey,
    LoginName,
    Organization,
    PasswordResetToken,
    RefreshToken,
    User,
)
from avatars.server.mail import deliver_reset_token
from avatars.server.services import credentials, identities, passwords, ratelimit
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidRequest,
    NotFound,
    ServiceError,
    Unauthenticated,
)
from avatars.server.services.events import record, record_event
from avatars.server.services.identities import identity_key
from avatars.server.services.ratelimit import Limit

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
ADMIN_ROLE = "admin"
USER_ROLE = "user"
MAX_USERNAME_LENGTH = 255

#: The one answer to a name already taken, in the caller's organization or another: it says
#: nothing of whose it is (an admin can list their own organization's users).
NAME_TAKEN = "this e-mail address or user name is not available; choose another"
#: Refused creations (name taken) an admin may have per hour: bounds probing for names.
MAX_TAKEN_NAME_REFUSALS = 10


class NameTaken(Conflict):
    """The e-mail or user name of a new user already belongs to a live user."""

    def __init__(self) -> None:
        super().__init__(NAME_TAKEN)


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


def find_login_user(session: Session, login: str) -> User | None:
    """The live user whose e-mail or user name is ``login`` (case-insensitive, one namespace:
    :mod:`avatars.server.services.identities`)."""
    return identities.find_user(session, login)


def _clean_identity(email: str | None, username: str | None) -> tuple[str, str | None]:
    """``(e-mail, user name)`` as stored, or :class:`InvalidInput`."""
    email = (email or "").strip().lower()
    username = username.strip() if username else None
    if not email and username and _EMAIL.match(username):
        email = username.lower()  # 1.20's CreateUser allows a user name only
    if not email or not _EMAIL.match(email) or len(email) > identities.MAX_NAME_LENGTH:
        raise InvalidInput("a valid e-mail address is required to create a user")
    if username is not None and len(username) > MAX_USERNAME_LENGTH:
        raise InvalidInput(f"the user name must have at most {MAX_USERNAME_LENGTH} characters")
    return email, username


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
    min_password_length: int = passwords.DEFAULT_MIN_LENGTH,
) -> User:
    """A new user; :class:`InvalidInput` for a bad e-mail, user name, role or password
    (:mod:`avatars.server.services.passwords`), :class:`NameTaken` when a live user already
    answers to the e-mail or user name."""
    email, username = _clean_identity(email, username)
    if role not in (ADMIN_ROLE, USER_ROLE):
        raise InvalidInput("role must be 'admin' or 'user'")
    names = identities.names_of(email, username)
    if password is not None:
        passwords.check_password(
            password, min_length=min_password_length, personal=(email, username)
        )
        password_hash = security.hash_password(password)
    if identities.taken(session, names):
        raise NameTaken()
    user = User(
        organization_id=organization_id,
        email=email,
        username=username,
        password_hash=password_hash,
        role=role,
        created_at=now or utc_now(),
    )
    session.add(user)
    try:
        session.flush()
        identities.claim(session, user.id, names)
        session.flush()
    except IntegrityError:  # created at the same moment by another request
        raise NameTaken() from None
    return user


def delete_user(session: Session, user: User, *, now: dt.datetime) -> None:
    """Soft delete: the user can no longer log in; keys, sessions and storage keys are revoked.
    Their jobs and files stay (an admin of the organization still sees them)."""
    user.deleted_at = now
    for table in (ApiKey, RefreshToken):
        session.execute(
            update(table)
            .where(table.user_id == user.id, table.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    credentials.revoke(session, now, user_id=user.id)
    identities.release(session, user.id)


def ensure_admin(ctx: Context) -> None:
    """Create the admin named by AVATAR_ADMIN_EMAIL / AVATAR_ADMIN_PASSWORD if absent."""
    settings = ctx.settings
    if not settings.admin_email or settings.admin_password is None:
        return
    email = settings.admin_email.strip().lower()
    try:
        with ctx.db.writing() as session:
            if find_login_user(session, email) is not None:
                return
            org = get_or_create_organization(session, settings.admin_organization, now=ctx.now())
            create_user(
                session,
                organization_id=org.id,
                email=email,
                password=settings.admin_password.get_secret_value(),
                role=ADMIN_ROLE,
                now=ctx.now(),
                min_password_length=settings.password_min_length,
            )
    except (IntegrityError, NameTaken):  # another API process starting now created it
        return
    except ServiceError as exc:
        raise RuntimeError(
            f"AVATAR_ADMIN_EMAIL/AVATAR_ADMIN_PASSWORD: the admin cannot be created: {exc.message}"
        ) from None
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
        named = select(LoginName.user_id).where(LoginName.name == identity_key(username))
        query = query.where(User.username.is_not(None), User.id.in_(named))
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
    """A new user in the admin caller's organization.

    A name already taken answers :class:`NameTaken` whatever the organization of its owner,
    and counts against the admin: past :data:`MAX_TAKEN_NAME_REFUSALS` an hour they are
    :class:`RateLimited`, so that nobody can list another organization's members by trying."""
    _need_admin(caller)
    probes = [(_taken_name_limit(), str(caller.user_id))]
    try:
        with ctx.db.writing() as session:
            ratelimit.check(session, ctx.now(), probes)
            user = create_user(
                session,
                organization_id=caller.organization_id,
                email=email,
                username=username,
                password=password,
                role=role,
                now=ctx.now(),
                min_password_length=ctx.settings.password_min_length,
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
    except NameTaken:
        with ctx.db.writing() as session:
            ratelimit.record(session, ctx.now(), probes)
        raise


def _taken_name_limit() -> Limit:
    return Limit(
        "user-name-taken",
        MAX_TAKEN_NAME_REFUSALS,
        dt.timedelta(hours=1),
        "too many users refused for a name already taken; try again in {seconds} seconds",
    )


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
        # Every token names its session (``fam``): without one it could not be logged out.
        user_id = uuid.UUID(claims["sub"])
        family = uuid.UUID(claims["fam"])
    except (KeyError, ValueError, TypeError):
        raise Unauthenticated("Not authenticated: invalid access token") from None
    user = connection.execute(_USER_LOOKUP, {"user_id": user_id}).first()
    if user is None or user.deleted_at is not None:
        raise Unauthenticated("Not authenticated: this user no longer exists")
    if connection.execute(_SESSION_REVOKED, {"family_id": family}).first():
        raise Unauthenticated("Not authenticated: this session was logged out or revoked")
    return caller_from(user, ip=ip, via="bearer", family_id=family)


# -- login, sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """What a login or a refresh gives: a short-lived access token and a refresh token."""

    access_token: str
    refresh_token: str


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


def login_limits(ctx: Context, account: str, ip: str) -> list[tuple[Limit, str]]:
    """The failed-login limits of a login to ``account`` from ``ip``: per account and client
    (the usual lockout), per account from any client (one account attacked from many
    addresses) and per client to any account (one password tried on many: spraying)."""
    settings = ctx.settings
    window = dt.timedelta(seconds=settings.login_failure_window_seconds)
    message = "too many failed logins; try again in {seconds} seconds"
    return [
        (Limit("login-pair", settings.login_max_failures, window, message), f"{account}|{ip}"),
        (Limit("login-account", settings.login_max_failures_per_account, window, message), account),
        (Limit("login-client", settings.login_max_failures_per_client, window, message), ip),
    ]


def _account_key(user: User | None, login: str) -> str:
    # An unknown name is limited like an account, so that limits tell nobody who exists.
    return f"user:{user.id}" if user is not None else f"name:{identity_key(login)}"


def login(ctx: Context, *, username: str, password: str, ip: str) -> Tokens:
    """Log in with a user name (or e-mail) and password: a new session's tokens."""
    with ctx.db.reading() as session:
        user = find_login_user(session, username)
        limits = login_limits(ctx, _account_key(user, username), ip)
        ratelimit.check(session, ctx.now(), limits)
    # argon2 is slow on purpose: verify outside any transaction.
    ok = security.verify_password(user.password_hash if user else None, password)
    now = ctx.now()
    with ctx.db.writing() as session:
        if not ok or user is None:
            ratelimit.record(session, now, limits)
        else:
            # The account's failures are forgotten; the client's count stays (a sprayer's
            # success on their own account must not reset it).
            ratelimit.clear(session, limits[:2])
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
            credentials.revoke(session, ctx.now(), session_id=caller.family_id)
        record(session, ctx, caller, Verb.logout, ObjectType.user, object_id=caller.user_id)


# -- password reset --------------------------------------------------------------------------------


def reset_limits(ctx: Context, email: str, ip: str) -> list[tuple[Limit, str]]:
    """Reset requests per address (nobody's mailbox is flooded) and per client."""
    settings = ctx.settings
    hour = dt.timedelta(hours=1)
    message = "too many password reset requests; try again in {seconds} seconds"
    return [
        (Limit("reset-address", settings.password_reset_max_per_address, hour, message), email),
        (Limit("reset-client", settings.password_reset_max_per_client, hour, message), ip),
    ]


def new_reset_token(session: Session, user: User, *, minutes: float, now: dt.datetime) -> str:
    """A new single-use reset token for ``user``, valid ``minutes`` (only its hash is stored)."""
    token = str(uuid.uuid4())
    session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=security.sha256_hex(token),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
    )
    return token


def request_password_reset(ctx: Context, email: str, *, ip: str) -> None:
    """Send a reset token to the user with this e-mail (or user name), if there is one. Says
    nothing either way: the answer must not tell who has an account.

    Without SMTP nothing can be sent: no token is made (a token in a log would let whoever
    reads logs take the account over), the log says how an admin issues one
    (``avatars users reset-password``). :class:`RateLimited` past the limits of
    :func:`reset_limits`, which count every request, known address or not."""
    settings = ctx.settings
    limits = reset_limits(ctx, identity_key(email), ip)
    token = None
    with ctx.db.writing() as session:
        ratelimit.check(session, ctx.now(), limits)
        ratelimit.record(session, ctx.now(), limits)
        user = find_login_user(session, email)
        if user is not None and settings.smtp_host:
            token = new_reset_token(
                session, user, minutes=settings.password_reset_minutes, now=ctx.now()
            )
    if user is None:
        return
    if token is None:
        log.warning(
            "password reset requested for user %s, but no SMTP server is configured "
            "(AVATAR_SMTP_HOST): nothing was sent. An admin can issue a reset token with "
            "`avatars users reset-password --email <address>`",
            user.id,
        )
        return
    deliver_reset_token(settings, user.email, token, settings.password_reset_minutes)


def issue_reset_token(ctx: Context, login: str) -> tuple[User, str]:
    """An admin's way to reset a password without e-mail: a new reset token for the user
    whose e-mail or user name is ``login`` (:class:`NotFound` if none), to hand over.
    Used by ``avatars users reset-password``."""
    with ctx.db.writing() as session:
        user = find_login_user(session, login)
        if user is None:
            raise NotFound(f"no user {login}")
        token = new_reset_token(
            session, user, minutes=ctx.settings.password_reset_minutes, now=ctx.now()
        )
    return user, token


def reset_password(
    ctx: Context,
    *,
    token: uuid.UUID | str,
    email: str,
    new_password: str,
    new_password_repeated: str,
    ip: str,
) -> None:
    """Set a new password with a reset token; ends every session and storage key pair and
    clears the account's lockout."""
    if new_password != new_password_repeated:
        raise InvalidRequest("the two passwords are different")
    problem = passwords.password_problem(
        new_password, min_length=ctx.settings.password_min_length, personal=(email,)
    )
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
            or identity_key(user.email) != identity_key(email)
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
            # Every storage key pair ends, those of the API keys (which survive) too.
            credentials.revoke(session, now, user_id=user.id)
            ratelimit.clear(session, login_limits(ctx, _account_key(user, email), ip)[:2])
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
