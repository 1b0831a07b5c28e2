"""Login identities: one normalized namespace for e-mails and user names.

Every live user answers to their e-mail and, if they have one, their user name. Both are
kept in one table (:class:`~avatars.server.db.models.LoginName`) under their
:func:`identity_key` (Unicode NFKC, case-folded, trimmed), whose primary key makes a login
name belong to at most one live user, across every organization and whatever the letter
case. So a login always finds exactly the account its name was given to.

A user name holding ``@`` could be taken for an e-mail: it is accepted only when it is the
user's own e-mail, so that nobody can take a name that another person's address would later
need, nor pose as them.
"""

from __future__ import annotations

import unicodedata
import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from avatars.server.db.models import LoginName, User
from avatars.server.services.errors import InvalidInput

#: Longest login name (an e-mail address may have 320 characters, RFC 3696 errata).
MAX_NAME_LENGTH = 320


def identity_key(name: str) -> str:
    """The form a login name is compared in: NFKC-normalized, case-folded, trimmed.

    NFKC folds look-alike compatibility characters (full-width letters, ligatures) into their
    plain form, and case folding is Unicode's case-insensitive comparison (``ß`` = ``ss``).
    """
    return unicodedata.normalize("NFKC", name).strip().casefold()


def names_of(email: str, username: str | None) -> list[str]:
    """The identity keys a user with this e-mail and user name answers to (1 or 2).

    :class:`InvalidInput` when the user name holds ``@`` but is not the user's own e-mail.
    """
    keys = [identity_key(email)]
    if username:
        key = identity_key(username)
        if "@" in key and key != keys[0]:
            raise InvalidInput(
                "a user name containing '@' must be the user's own e-mail address; choose a "
                "user name without '@'"
            )
        if not key:
            raise InvalidInput("the user name is empty")
        if key not in keys:
            keys.append(key)
    return keys


def taken(session: Session, keys: list[str]) -> list[LoginName]:
    """The login names among ``keys`` that a live user already answers to."""
    return list(session.scalars(select(LoginName).where(LoginName.name.in_(keys))))


def claim(session: Session, user_id: uuid.UUID, keys: list[str]) -> None:
    """Give ``keys`` to ``user_id`` (the primary key refuses a name already taken)."""
    for key in keys:
        session.add(LoginName(name=key, user_id=user_id))


def release(session: Session, user_id: uuid.UUID) -> None:
    """Free every login name of ``user_id`` (when the user is deleted)."""
    session.execute(delete(LoginName).where(LoginName.user_id == user_id))


def find_user(session: Session, login: str) -> User | None:
    """The live user whose e-mail or user name is ``login`` (compared as identity keys)."""
    key = identity_key(login)
    if not key:
        return None
    return session.scalars(
        select(User)
        .join(LoginName, LoginName.user_id == User.id)
        .where(LoginName.name == key, User.deleted_at.is_(None))
    ).first()
