"""Who may touch which storage bucket, and the S3 key pairs that prove it.

A bucket is a user's id. Its owner may use it, and so may the admins of the owner's
organization. Each user has one static key pair at a time (the official client sends no
session token, protocol.md §3.2); ``GET /access`` hands out the current one, minting a new one
when there is none or it has expired. The secret is derived from the server's secret key and
the key id (:func:`avatars.server.security.derive_storage_secret`), never stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from avatars.models import FileCredentials
from avatars.server import security
from avatars.server.db import Database
from avatars.server.db.models import StorageCredential, User, utcnow

if TYPE_CHECKING:
    from avatars.server.deps import Caller
    from avatars.server.s3 import S3Principal


def bucket_owner(session: Session, bucket: str) -> User | None:
    try:
        user_id = uuid.UUID(bucket)
    except ValueError:
        return None
    if str(user_id) != bucket:  # only the canonical spelling names a bucket
        return None
    return session.get(User, user_id)


def may_use_bucket(session: Session, caller: Caller, bucket: str) -> bool:
    owner = bucket_owner(session, bucket)
    return owner is not None and caller.can_see(owner.id, owner.organization_id)


def buckets_of(session: Session, user: User) -> frozenset[str]:
    """The buckets ``user`` may use: their own and, for an admin, their organization's."""
    if user.role != "admin":
        return frozenset({str(user.id)})
    ids = session.scalars(select(User.id).where(User.organization_id == user.organization_id))
    return frozenset({str(user.id), *(str(i) for i in ids)})


def current_credentials(
    db: Database, secret_key: str, user_id: uuid.UUID, lifetime_days: float
) -> FileCredentials:
    """The user's valid key pair, minting one if needed."""
    now = utcnow()
    # Handed out until 1 day before expiry, so a client never starts with a dying key.
    margin = min(dt.timedelta(days=1), dt.timedelta(days=lifetime_days) / 2)
    with db.reading() as session:
        current = session.scalars(
            select(StorageCredential)
            .where(
                StorageCredential.user_id == user_id,
                StorageCredential.revoked_at.is_(None),
                StorageCredential.expires_at > now + margin,
            )
            .order_by(StorageCredential.created_at.desc())
        ).first()
        key_id = current.access_key_id if current is not None else None
    if key_id is None:
        key_id = security.new_access_key_id()
        with db.writing() as session:
            session.add(
                StorageCredential(
                    access_key_id=key_id,
                    user_id=user_id,
                    expires_at=now + dt.timedelta(days=lifetime_days),
                )
            )
    return FileCredentials(
        access_key_id=key_id,
        secret_access_key=security.derive_storage_secret(secret_key, key_id),
        jwt_token="",
    )


def principal_resolver(db: Database, secret_key: str) -> Callable[[str], S3Principal | None]:
    """``resolve_principal`` for the S3 router: the principal of a key id, or None."""
    from avatars.server.s3 import S3Principal

    def resolve(access_key_id: str) -> S3Principal | None:
        if not access_key_id.startswith(security.ACCESS_KEY_ID_PREFIX) or len(access_key_id) > 32:
            return None
        with db.reading() as session:
            row = session.get(StorageCredential, access_key_id)
            if row is None or row.revoked_at is not None:
                return None
            user = session.get(User, row.user_id)
            if user is None or user.deleted_at is not None:
                return None
            buckets = buckets_of(session, user)
            return S3Principal(
                access_key_id=access_key_id,
                secret_access_key=security.derive_storage_secret(secret_key, access_key_id),
                user_id=str(user.id),
                buckets=buckets,
                expires_at=row.expires_at,
            )

    return resolve
