"""Storage (S3) key pairs, each tied to the grant that obtained it.

``/access`` hands out a static key pair (the official clients send no session token,
protocol.md §3.2) on behalf of a *grant*: the API key, or the login session (a refresh-token
family), the request was authenticated with. A pair works only while

- it is not revoked, and younger than ``storage_credential_minutes`` (default 60);
- its grant is alive: the API key neither revoked nor expired, the session not logged out
  nor revoked, the user not deleted.

The grant is checked live at every S3 request (:func:`resolve`), and the pairs are also
revoked explicitly when their grant ends (:func:`revoke`, called on key revocation, logout,
password reset and user deletion), so that no path can forget them. A password reset ends
every pair of the user, including those of their API keys, which survive the reset.

Each grant has one current pair, handed out again while it has at least half its lifetime
left: clients that fetch credentials per file (all official clients) always get a pair valid
for half an hour or more, and renewing is simply asking ``/access`` again. The secret is
derived from the server's secret key and the key id
(:func:`avatars.server.security.derive_storage_secret`), never stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from avatars.protocol.wire import FileCredentials
from avatars.server import security
from avatars.server.db.models import ApiKey, RefreshToken, StorageCredential, User
from avatars.server.services.buckets import buckets_of
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import Forbidden

if TYPE_CHECKING:
    from avatars.server.s3 import S3Principal


def lifetime(ctx: Context) -> dt.timedelta:
    return dt.timedelta(minutes=ctx.settings.storage_credential_minutes)


def _grant_of(caller: Caller) -> ColumnElement[bool]:
    if caller.api_key_id is not None:
        return StorageCredential.api_key_id == caller.api_key_id
    if caller.family_id is not None:
        return StorageCredential.session_id == caller.family_id
    raise Forbidden("storage credentials are handed out to API keys and login sessions only")


def current(ctx: Context, caller: Caller) -> FileCredentials:
    """The caller's grant's key pair, minted when there is none with half its life left."""
    now = ctx.now()
    life = lifetime(ctx)
    grant = _grant_of(caller)
    with ctx.db.reading() as session:
        key_id = session.scalars(
            select(StorageCredential.access_key_id)
            .where(
                grant,
                StorageCredential.user_id == caller.user_id,
                StorageCredential.revoked_at.is_(None),
                StorageCredential.expires_at > now + life / 2,
            )
            .order_by(StorageCredential.created_at.desc())
            .limit(1)
        ).first()
    if key_id is None:
        key_id = security.new_access_key_id()
        with ctx.db.writing() as session:
            session.add(
                StorageCredential(
                    access_key_id=key_id,
                    user_id=caller.user_id,
                    api_key_id=caller.api_key_id,
                    session_id=None if caller.api_key_id is not None else caller.family_id,
                    created_at=now,
                    expires_at=now + life,
                )
            )
    return FileCredentials(
        access_key_id=key_id,
        secret_access_key=security.derive_storage_secret(ctx.secret_key, key_id),
        jwt_token="",
    )


def revoke(
    session: Session,
    now: dt.datetime,
    *,
    user_id: uuid.UUID | None = None,
    api_key_ids: Sequence[uuid.UUID] | None = None,
    session_id: uuid.UUID | None = None,
) -> None:
    """End the live pairs of a user (all of them), of API keys, or of a login session."""
    conditions: list[ColumnElement[bool]] = []
    if user_id is not None:
        conditions.append(StorageCredential.user_id == user_id)
    if api_key_ids:
        conditions.append(StorageCredential.api_key_id.in_(list(api_key_ids)))
    if session_id is not None:
        conditions.append(StorageCredential.session_id == session_id)
    if not conditions:
        return
    session.execute(
        update(StorageCredential)
        .where(or_(*conditions), StorageCredential.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def _grant_alive(session: Session, row: StorageCredential, now: dt.datetime) -> bool:
    if row.api_key_id is not None:
        key = session.get(ApiKey, row.api_key_id)
        return key is not None and key.revoked_at is None and key.expires_at > now
    if row.session_id is not None:
        revoked = session.scalars(
            select(RefreshToken.id)
            .where(RefreshToken.family_id == row.session_id, RefreshToken.revoked_at.is_not(None))
            .limit(1)
        ).first()
        return revoked is None
    return False  # a pair without a grant (made before grants existed) is over


def resolve(ctx: Context, access_key_id: str) -> S3Principal | None:
    """The S3 principal of a live key pair, or None (unknown, revoked, or its grant over).

    An expired pair still resolves, with its ``expires_at``: the S3 endpoint then answers
    ``ExpiredToken``, which tells the client to ask for new credentials."""
    from avatars.server.s3 import S3Principal

    if not access_key_id.startswith(security.ACCESS_KEY_ID_PREFIX) or len(access_key_id) > 32:
        return None
    now = ctx.now()
    with ctx.db.reading() as session:
        row = session.get(StorageCredential, access_key_id)
        if row is None or row.revoked_at is not None or not _grant_alive(session, row, now):
            return None
        user = session.get(User, row.user_id)
        if user is None or user.deleted_at is not None:
            return None
        return S3Principal(
            access_key_id=access_key_id,
            secret_access_key=security.derive_storage_secret(ctx.secret_key, access_key_id),
            user_id=str(user.id),
            buckets=buckets_of(session, user),
            expires_at=row.expires_at,
        )
