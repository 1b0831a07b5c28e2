"""The password policy: which new passwords are accepted (NIST SP 800-63B §5.1.1.2).

- at least ``password_min_length`` characters (default 8) and at most
  :data:`MAX_PASSWORD_LENGTH` (1,024: what the login form accepts, so that every stored
  password can be typed in again);
- not one of the 10,000 most common passwords of breach corpora (bundled list, compared
  case-insensitively), not a single repeated character, and not the user's own e-mail
  address, its local part or their user name.

No composition rules (digits, symbols): they make passwords harder to remember, not to guess.
Every front end (API, command line, a web UI) applies the same :func:`check_password`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

from avatars.server.services.errors import InvalidInput

#: Longest password accepted, in characters (the login form's limit too).
MAX_PASSWORD_LENGTH = 1024
DEFAULT_MIN_LENGTH = 8


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list of the 10,000 most common passwords (lower case)."""
    text = resources.files("avatars.server").joinpath("data/common-passwords.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problem(
    password: str, *, min_length: int = DEFAULT_MIN_LENGTH, personal: Iterable[str | None] = ()
) -> str | None:
    """Why ``password`` is refused as a new password, or None.

    ``personal``: the user's e-mail and user name, which a password must not be.
    """
    if len(password) < min_length:
        return f"the password must have at least {min_length} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    folded = password.casefold()
    if folded in common_passwords():
        return (
            "this password is one of the most common ones (it appears in lists of breached "
            "passwords); choose another, e.g. a few unrelated words"
        )
    if len(set(folded)) == 1:
        return "the password must not be one character repeated"
    for value in personal:
        if not value:
            continue
        value = value.strip().casefold()
        if folded in {value, value.split("@", 1)[0]}:
            return "the password must not be your e-mail address or user name"
    return None


def check_password(
    password: str, *, min_length: int = DEFAULT_MIN_LENGTH, personal: Iterable[str | None] = ()
) -> None:
    """:class:`InvalidInput` naming the problem when ``password`` is refused."""
    problem = password_problem(password, min_length=min_length, personal=personal)
    if problem is not None:
        raise InvalidInput(problem)
