"""Security hardening (issue 16): one namespace of login names, rate-limit events, storage
key pairs tied to their grant.

- ``login_names``: every live user's e-mail and user name under their identity key (NFKC,
  case-folded), unique across organizations. Filled from the live users, oldest first: a
  name that an older account already answers to, and a user name holding ``@`` that is not
  its user's own e-mail, are left out (that user still logs in with their e-mail) and logged.
- ``rate_limit_events`` replaces ``login_attempts`` (failed logins, reset requests, ...).
- ``storage_credentials`` gains ``api_key_id`` and ``session_id``; the pairs handed out before
  (tied to no grant, valid 7 days) are revoked: clients ask ``/access`` again.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("avatars.server.db.migrations")


def _identity_key(name: str) -> str:
    # Frozen copy of avatars.server.services.identities.identity_key at this revision.
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _fill_login_names() -> None:
    connection = op.get_bind()
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("email", sa.String()),
        sa.column("username", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("deleted_at", sa.DateTime(timezone=True)),
    )
    login_names = sa.table(
        "login_names", sa.column("name", sa.String()), sa.column("user_id", sa.Uuid())
    )
    rows = connection.execute(
        sa.select(users.c.id, users.c.email, users.c.username)
        .where(users.c.deleted_at.is_(None))
        .order_by(users.c.created_at, users.c.id)
    ).all()
    owner: dict[str, object] = {}
    for user_id, email, username in rows:
        email_key = _identity_key(email)
        names = [email_key]
        if username:
            key = _identity_key(username)
            if "@" in key and key != email_key:
                log.warning(
                    "user %s: user name %r is not a login name any more (it looks like "
                    "an e-mail address that is not theirs)",
                    user_id,
                    username,
                )
            elif key and key not in names:
                names.append(key)
        for name in names:
            if name in owner:
                log.warning(
                    "user %s: login name %r already belongs to user %s; left out",
                    user_id,
                    name,
                    owner[name],
                )
                continue
            owner[name] = user_id
            connection.execute(sa.insert(login_names).values(name=name, user_id=user_id))


def upgrade() -> None:
    op.create_table(
        "login_names",
        sa.Column("name", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("login_names", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_names_user_id"), ["user_id"], unique=False)
    _fill_login_names()

    op.create_table(
        "rate_limit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rate_limit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rate_limit_events_key", ["bucket", "key_hash", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rate_limit_events_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key")
    op.drop_table("login_attempts")

    with op.batch_alter_table("storage_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_key_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("session_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_storage_credentials_api_key_id", "api_keys", ["api_key_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_storage_credentials_api_key_id"), ["api_key_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_storage_credentials_session_id"), ["session_id"], unique=False
        )
    credentials = sa.table(
        "storage_credentials", sa.column("revoked_at", sa.DateTime(timezone=True))
    )
    now = dt.datetime.now(dt.UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive UTC there (models.UTCDateTime)
    op.execute(
        sa.update(credentials).where(credentials.c.revoked_at.is_(None)).values(revoked_at=now)
    )


def downgrade() -> None:
    with op.batch_alter_table("storage_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storage_credentials_session_id"))
        batch_op.drop_index(batch_op.f("ix_storage_credentials_api_key_id"))
        batch_op.drop_constraint("fk_storage_credentials_api_key_id", type_="foreignkey")
        batch_op.drop_column("session_id")
        batch_op.drop_column("api_key_id")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempts_key", ["username", "ip", "created_at"], unique=False
        )
    with op.batch_alter_table("rate_limit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_events_created_at"))
        batch_op.drop_index("ix_rate_limit_events_key")
    op.drop_table("rate_limit_events")
    with op.batch_alter_table("login_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_names_user_id"))
    op.drop_table("login_names")
