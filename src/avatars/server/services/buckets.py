"""Who may use which storage bucket.

A bucket is a user's id. Its owner may use it, and so may the admins of the owner's
organization (the rule of :meth:`Caller.can_see`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from avatars.server.db.models import User
from avatars.server.services.context import Caller


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
