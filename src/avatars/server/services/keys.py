"""API keys (``Authorization: api-key-v1 <key>``): create, list, revoke, authenticate.

The plaintext is shown once, at creation; only a SHA-256 of its secret part is stored (see
:mod:`avatars.server.security`). A user manages their own keys; an organization admin may
revoke the keys of their organization's users.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from avatars.protocol.enums import ObjectType, Verb
from avatars.server import security
from avatars.server.clock import utc_now
from avatars.server.db import Database
from avatars.server.db.models import ApiKey, User
from avatars.server.services import credentials
from avatars.server.services.accounts import caller_from
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated
from avatars.server.services.events import record

log = logging.getLogger(__name__)

SCHEME = "api-key-v1"
#: ``last_used_at`` of an API key is written at most this often (a write per request would
#: serialize every reader behind SQLite's single writer).
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def issue_key(
    session: Session, user_id: uuid.UUID, name: str, days: int, *, now: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key for ``user_id``: the row and the plaintext (shown once, never stored)."""
    now = now or utc_now()
    new = security.generate_api_key()
    row = ApiKey(
        id=new.id,
        user_id=user_id,
        name=name,
        secret_hash=new.secret_hash,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return row, new.plaintext


def _event(
    session: Session,
    ctx: Context,
    caller: Caller,
    verb: Verb,
    key_id: uuid.UUID | None,
    **details: object,
) -> None:
    record(
        session,
        ctx,
        caller,
        verb,
        ObjectType.api_key,
        object_id=key_id,
        details=dict(details) or None,
    )


def list_keys(ctx: Context, caller: Caller) -> list[ApiKey]:
    """The caller's keys, oldest first (revoked and expired ones included)."""
    with ctx.db.reading() as session:
        query = select(ApiKey).where(ApiKey.user_id == caller.user_id).order_by(ApiKey.created_at)
        return list(session.scalars(query))


def create_key(ctx: Context, caller: Caller, name: str, days: int) -> tuple[ApiKey, str]:
    """A new key of the caller's, living ``days`` days: the row and the plaintext."""
    with ctx.db.writing() as session:
        row, plaintext = issue_key(session, caller.user_id, name, days, now=ctx.now())
        _event(session, ctx, caller, Verb.create, row.id, name=name)
    return row, plaintext


def _own_key(session: Session, caller: Caller, key_id: uuid.UUID) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None or row.user_id != caller.user_id:
        raise NotFound.of("API key")
    return row


def get_key(ctx: Context, caller: Caller, key_id: uuid.UUID) -> ApiKey:
    with ctx.db.reading() as session:
        return _own_key(session, caller, key_id)


def revoke_key(ctx: Context, caller: Caller, key_id: uuid.UUID) -> ApiKey:
    """Revoke one of the caller's keys (revoking it again changes nothing)."""
    with ctx.db.writing() as session:
        row = _own_key(session, caller, key_id)
        if row.revoked_at is None:
            row.revoked_at = ctx.now()
            credentials.revoke(session, ctx.now(), api_key_ids=[row.id])
            _event(session, ctx, caller, Verb.delete, row.id)
        return row


def revoke_all_keys(ctx: Context, caller: Caller) -> int:
    """Revoke every live key of the caller's; how many were revoked."""
    with ctx.db.writing() as session:
        live = select(ApiKey.id).where(
            ApiKey.user_id == caller.user_id, ApiKey.revoked_at.is_(None)
        )
        ids = list(session.scalars(live))
        if ids:
            session.execute(
                update(ApiKey)
                .where(ApiKey.id.in_(ids))
                .values(revoked_at=ctx.now())
                .execution_options(synchronize_session=False)
            )
            credentials.revoke(session, ctx.now(), api_key_ids=ids)
        _event(session, ctx, caller, Verb.delete, None, revoked=len(ids))
    return len(ids)


def revoke_keys_as_admin(
    ctx: Context,
    caller: Caller,
    *,
    user_id: uuid.UUID | None = None,
    api_key_id: uuid.UUID | None = None,
) -> int:
    """An admin revokes all keys of a user, or one key, of their organization; how many."""
    if not caller.is_admin:
        raise Forbidden("revoking another user's keys needs an organization admin")
    if (user_id is None) == (api_key_id is None):
        raise InvalidRequest("give exactly one of user_id and api_key_id")
    query = select(ApiKey.id).where(ApiKey.revoked_at.is_(None))
    with ctx.db.writing() as session:
        org_users = select(User.id).where(User.organization_id == caller.organization_id)
        if user_id is not None:
            target = session.get(User, user_id)
            if target is None or target.organization_id != caller.organization_id:
                raise NotFound.of("user")
            query = query.where(ApiKey.user_id == user_id)
        else:
            key = session.get(ApiKey, api_key_id)
            owner = session.get(User, key.user_id) if key is not None else None
            if key is None or owner is None or owner.organization_id != caller.organization_id:
                raise NotFound.of("API key")
            query = query.where(ApiKey.id == api_key_id)
        ids = list(session.scalars(query.where(ApiKey.user_id.in_(org_users))))
        if ids:
            session.execute(
                update(ApiKey)
                .where(ApiKey.id.in_(ids))
                .values(revoked_at=ctx.now())
                .execution_options(synchronize_session=False)
            )
            credentials.revoke(session, ctx.now(), api_key_ids=ids)
        _event(
            session, ctx, caller, Verb.delete, api_key_id, revoked=len(ids), user=str(user_id or "")
        )
    return len(ids)


# -- authentication --------------------------------------------------------------------------------

# Built once: this runs on every request (plain columns, no ORM objects).
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


def authenticate_api_key(
    ctx: Context, connection: Connection | Session, key: str, *, ip: str
) -> Caller:
    """The caller a key belongs to, or :class:`Unauthenticated` (malformed, unknown, revoked,
    expired). Records the key's use now and then (:func:`note_use`)."""
    parsed = security.parse_api_key(key)
    if parsed is None:
        raise Unauthenticated("Not authenticated: malformed API key", scheme=SCHEME)
    key_id, secret = parsed
    row = connection.execute(_API_KEY_LOOKUP, {"key_id": key_id}).first()
    invalid = Unauthenticated("Not authenticated: invalid or revoked API key", scheme=SCHEME)
    if row is None:
        security.same_hash(security.sha256_hex(secret), "0" * 64)  # same work either way
        raise invalid
    if not security.same_hash(security.sha256_hex(secret), row.secret_hash):
        raise invalid
    now = ctx.now()
    if row.revoked_at is not None or row.deleted_at is not None:
        raise invalid
    if row.expires_at <= now:
        raise Unauthenticated("Not authenticated: this API key has expired", scheme=SCHEME)
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        note_use(ctx, key_id, now)
    return caller_from(row, ip=ip, via="api_key", api_key_id=key_id)


def note_use(ctx: Context, key_id: uuid.UUID, now: dt.datetime) -> None:
    """Update ``last_used_at`` in the background (a request must not wait for the write lock),
    once per key and resolution period however many requests arrive meanwhile."""
    with ctx.lock:
        last = ctx.key_uses.get(key_id)
        if last is not None and abs(now - last) < LAST_USED_RESOLUTION:
            return
        ctx.key_uses[key_id] = now
    ctx.background.submit(_touch, ctx.db, key_id, now)


def _touch(db: Database, key_id: uuid.UUID, now: dt.datetime) -> None:
    try:
        with db.writing() as session:
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    except Exception:  # bookkeeping only: never worth an error
        log.warning("could not record the use of an API key", exc_info=True)
