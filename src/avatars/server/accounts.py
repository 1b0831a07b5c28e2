"""Organizations, users and API keys: the operations shared by the API and the command line."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from avatars.server import security
from avatars.server.config import Settings
from avatars.server.db import Database
from avatars.server.db.models import (
    ApiKey,
    Organization,
    RefreshToken,
    StorageCredential,
    User,
    utcnow,
)
from avatars.server.errors import ApiError

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def get_or_create_organization(session: Session, name: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.name == name)).first()
    if org is None:
        org = Organization(name=name)
        session.add(org)
        session.flush()
    return org


def live_user_with(session: Session, *, email: str | None, username: str | None) -> User | None:
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
    role: str = "user",
    password_hash: str | None = None,
) -> User:
    """A new user; raises :class:`ApiError` (422 bad input, 409 taken)."""
    email = (email or "").strip().lower()
    username = username.strip() if username else None
    if not email and username and _EMAIL.match(username):
        email = username.lower()  # 1.20's CreateUser allows a user name only
    if not email or not _EMAIL.match(email) or len(email) > 320:
        raise ApiError(422, "a valid e-mail address is required to create a user")
    if role not in ("admin", "user"):
        raise ApiError(422, "role must be 'admin' or 'user'")
    if password is not None:
        problem = security.password_problem(password)
        if problem:
            raise ApiError(422, problem)
        password_hash = security.hash_password(password)
    if live_user_with(session, email=email, username=username) is not None:
        raise ApiError(409, "a user with this e-mail or user name already exists")
    user = User(
        organization_id=organization_id,
        email=email,
        username=username,
        password_hash=password_hash,
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def delete_user(session: Session, user: User) -> None:
    """Soft delete: the user can no longer log in; keys, sessions and storage keys are revoked.
    Their jobs and files stay (an admin of the organization still sees them)."""
    now = utcnow()
    user.deleted_at = now
    session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(StorageCredential)
        .where(StorageCredential.user_id == user.id, StorageCredential.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def create_api_key(
    session: Session, user_id: uuid.UUID, name: str, days: int
) -> tuple[ApiKey, str]:
    """A new key for ``user_id``: the row and the plaintext (shown once, never stored)."""
    new = security.generate_api_key()
    row = ApiKey(
        id=new.id,
        user_id=user_id,
        name=name,
        secret_hash=new.secret_hash,
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return row, new.plaintext


def ensure_admin(settings: Settings, db: Database) -> None:
    """Create the admin named by AVATAR_ADMIN_EMAIL / AVATAR_ADMIN_PASSWORD if absent."""
    if not settings.admin_email or settings.admin_password is None:
        return
    email = settings.admin_email.strip().lower()
    try:
        with db.writing() as session:
            if live_user_with(session, email=email, username=None) is not None:
                return
            org = get_or_create_organization(session, settings.admin_organization)
            create_user(
                session,
                organization_id=org.id,
                email=email,
                password=settings.admin_password.get_secret_value(),
                role="admin",
            )
    except IntegrityError:  # another API process starting at the same time created it
        return
    log.info("created the admin user %s", email)
