"""Secrets: password hashing, access tokens, API keys, refresh tokens, storage credentials.

- Passwords are low-entropy, so they get argon2 (slow on purpose); which passwords are
  accepted is :mod:`avatars.server.services.passwords`'s rule.
- API keys, refresh tokens and reset tokens are random with at least 122 bits of entropy:
  a single SHA-256 is enough to store them (nobody can brute-force the preimage) and it keeps
  the per-request cost of ``api-key-v1`` authentication in microseconds.
- Access tokens are short-lived HS256 JWTs signed with the server's secret key.
- Storage (S3) secrets are never stored: they are derived from the secret key and the access
  key id, so the S3 endpoint and ``/access`` agree without a shared table of secrets.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

API_KEY_PREFIX = "avatars_api_key"
#: Length of every key: the official client warns about keys of another length.
API_KEY_LENGTH = len(API_KEY_PREFIX) + 1 + 36 + 1 + 43
ACCESS_KEY_ID_PREFIX = "AVK"

_hasher = PasswordHasher()
#: The hash verified against when the user does not exist, so that a login for an unknown
#: name takes as long as one with a wrong password (no user enumeration through timing). Made
#: at the first such login, by the hasher of the time: importing the module costs no hash.
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[1]


# -- passwords --------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        verified = _hasher.verify(password_hash or _dummy_hash(), password)
        return verified and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- high-entropy tokens ----------------------------------------------------------------------


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class NewApiKey:
    id: uuid.UUID
    plaintext: str
    secret_hash: str


def generate_api_key() -> NewApiKey:
    """``avatars_api_key.<uuid4>.<43 url-safe characters>``: 96 characters, the uuid is its id."""
    key_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    plaintext = f"{API_KEY_PREFIX}.{key_id}.{secret}"
    assert len(plaintext) == API_KEY_LENGTH
    return NewApiKey(id=key_id, plaintext=plaintext, secret_hash=sha256_hex(secret))


def parse_api_key(text: str) -> tuple[uuid.UUID, str] | None:
    """``(key id, secret)`` of a well-formed key, else None."""
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[2]:
        return None
    try:
        return uuid.UUID(parts[1]), parts[2]
    except ValueError:
        return None


def new_opaque_token() -> str:
    return secrets.token_urlsafe(48)


# -- access tokens ----------------------------------------------------------------------------


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def create_access_token(
    secret_key: str,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    lifetime: dt.timedelta,
    *,
    now: dt.datetime,
) -> str:
    claims = {
        "sub": str(user_id),
        "fam": str(family_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        # A NumericDate may have a fraction (RFC 7519 §2): kept, a token lives its whole
        # lifetime (PyJWT would truncate a datetime to the second below).
        "exp": (now + lifetime).timestamp(),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret_key, algorithm="HS256")


def decode_access_token(secret_key: str, token: str, *, now: dt.datetime) -> dict[str, Any]:
    """The claims of a valid access token; its expiry is judged at ``now`` (the API's clock,
    which is why PyJWT's own checks of the times, against the real clock, are off)."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=["HS256"],
            options={
                "require": ["exp", "sub", "typ"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc
    if claims.get("typ") != "access":
        raise TokenInvalid("not an access token")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise TokenInvalid("the expiry (exp) is not a time")
    if expires <= now.timestamp():
        raise TokenExpired()
    return claims


# -- storage credentials ----------------------------------------------------------------------

_KEY_ALPHABET = string.ascii_uppercase + string.digits


def new_access_key_id() -> str:
    """``AVK`` + 17 random upper-case letters and digits (20 characters, like AWS key ids)."""
    return ACCESS_KEY_ID_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(17))


def derive_storage_secret(secret_key: str, access_key_id: str) -> str:
    """The secret of a storage key pair: HMAC of its id under the server's secret key."""
    digest = hmac.new(secret_key.encode(), f"s3:{access_key_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode()[:40]
